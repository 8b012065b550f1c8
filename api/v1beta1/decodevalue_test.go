package v1beta1

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"
	k8sjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"
)

// jsonToValue parses one JSON document into the value the renderer would
// hold: maps, lists, strings, bools, nil, and int for whole numbers. It
// reports false for input a map cannot stand for (not an object, or
// duplicate keys).
func jsonToValue(t testing.TB, data []byte) (map[string]any, bool) {
	t.Helper()
	var v any
	strict, err := k8sjson.UnmarshalStrict(data, &v)
	if err != nil || len(strict) > 0 {
		return nil, false
	}
	m, ok := intsOf(v).(map[string]any)
	return m, ok
}

// intsOf replaces the int64 of sigs.k8s.io/json by int, as the renderer has.
func intsOf(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = intsOf(e)
		}
	case []any:
		for i, e := range x {
			x[i] = intsOf(e)
		}
	case int64:
		return int(x)
	}
	return v
}

// requireSameDecode checks that DecodeValue(v) gives what Decode(json.Marshal(v))
// gives: deep-equal objects and equal errors.
func requireSameDecode(t testing.TB, v map[string]any) {
	t.Helper()
	var want Object
	raw, wantErr := json.Marshal(v)
	if wantErr == nil {
		want, wantErr = Decode(raw)
	}
	got, gotErr := DecodeValue(v)
	require.Equal(t, want, got, "input %s", raw)
	if wantErr == nil {
		require.NoError(t, gotErr)
		return
	}
	require.Error(t, gotErr)
	require.Equal(t, wantErr.Error(), gotErr.Error())
	// Both *DecodeError with the same field errors, or both plain errors.
	var wantDE, gotDE *DecodeError
	require.Equal(t, errors.As(wantErr, &wantDE), errors.As(gotErr, &gotDE), "error types: %#v, %#v", wantErr, gotErr)
	require.Equal(t, wantDE, gotDE)
}

// checkDecodeValue runs the JSON document j, the input of a Decode test,
// through DecodeValue too (see decodeYAML).
func checkDecodeValue(t *testing.T, j []byte) {
	t.Helper()
	if v, ok := jsonToValue(t, j); ok {
		requireSameDecode(t, v)
	}
}

// TestDecodeValueMatchesDecodeOnFiles runs the seed manifests and both fuzz
// corpora through both paths. (Every decodeYAML test case does too.)
func TestDecodeValueMatchesDecodeOnFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "seed", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		y, err := os.ReadFile(f)
		require.NoError(t, err)
		j, err := sigsyaml.YAMLToJSON(y)
		require.NoError(t, err)
		t.Run(f, func(t *testing.T) { checkDecodeValue(t, j) })
	}
	seeds, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	require.NoError(t, err)
	require.NotEmpty(t, seeds)
	for _, f := range seeds {
		data := readFuzzSeed(t, f)
		t.Run(f, func(t *testing.T) {
			checkDecodeValue(t, data)
			if v, ok := yamlToValue(data); ok {
				requireSameDecode(t, v)
			}
		})
	}
}

// readFuzzSeed reads a one-value `go test fuzz v1` file of []byte.
func readFuzzSeed(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	_, lit, ok := strings.Cut(string(b), "\n")
	require.True(t, ok, path)
	lit = strings.TrimSpace(lit)
	require.True(t, strings.HasPrefix(lit, "[]byte(") && strings.HasSuffix(lit, ")"), path)
	s, err := strconv.Unquote(lit[len("[]byte(") : len(lit)-1])
	require.NoError(t, err, path)
	return []byte(s)
}

// yamlToValue decodes YAML as a generic value (yaml.v3 gives map[string]any,
// []any, int, uint64, float64, bool, string, nil and time.Time).
func yamlToValue(data []byte) (map[string]any, bool) {
	var v any
	if yaml.Unmarshal(data, &v) != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// vssValue is a valid VaultStaticSecret as a value, spec replaced by the
// given fields.
func vssValue(spec map[string]any) map[string]any {
	s := map[string]any{"type": "kv-v2", "mount": "secret", "path": "app", "destination": map[string]any{"name": "app"}}
	for k, v := range spec {
		s[k] = v
	}
	return map[string]any{
		"apiVersion": APIVersion, "kind": KindVaultStaticSecret,
		"metadata": map[string]any{"name": "a", "namespace": "ns"},
		"spec":     s,
	}
}

func authValue(appRole map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": APIVersion, "kind": KindVaultAuth,
		"metadata": map[string]any{"name": "a"},
		"spec":     map[string]any{"method": "appRole", "mount": "approle", "appRole": appRole},
	}
}

// TestDecodeValueMatchesDecode covers the shapes JSON text cannot give
// (floats, json.Number, nil maps, bad UTF-8) and the conversions of
// encoding/json. fast says whether DecodeValue must decode it without JSON.
func TestDecodeValueMatchesDecode(t *testing.T) {
	withMeta := func(meta map[string]any) map[string]any {
		v := vssValue(nil)
		v["metadata"] = meta
		return v
	}
	tests := []struct {
		name string
		v    map[string]any
		fast bool
	}{
		{"valid", vssValue(nil), true},
		{"int version", vssValue(map[string]any{"version": 3}), true},
		{"int64 version", vssValue(map[string]any{"version": int64(3)}), true},
		{"uint64 version", vssValue(map[string]any{"version": uint64(3)}), true},
		{"uint64 version out of range", vssValue(map[string]any{"version": uint64(math.MaxUint64)}), false},
		{"whole float version", vssValue(map[string]any{"version": 3.0}), true},
		{"negative zero float version", vssValue(map[string]any{"version": math.Copysign(0, -1)}), true},
		{"fractional float version", vssValue(map[string]any{"version": 1.5}), false},
		{"huge float version", vssValue(map[string]any{"version": 1e21}), false},
		{"float version 2^63", vssValue(map[string]any{"version": float64(1 << 63)}), false},
		{"NaN version", vssValue(map[string]any{"version": math.NaN()}), false},
		{"json.Number version", vssValue(map[string]any{"version": json.Number("7")}), true},
		{"json.Number fraction", vssValue(map[string]any{"version": json.Number("7.0")}), false},
		{"json.Number leading zero", vssValue(map[string]any{"version": json.Number("07")}), false},
		{"json.Number plus", vssValue(map[string]any{"version": json.Number("+7")}), false},
		{"negative version", vssValue(map[string]any{"version": -1}), true},
		{"string version", vssValue(map[string]any{"version": "1"}), false},
		{"number into string", vssValue(map[string]any{"path": 5}), false},
		{"json.Number into string", vssValue(map[string]any{"path": json.Number("5")}), false},
		{"bool into string", vssValue(map[string]any{"path": true}), false},
		{"list into struct", vssValue(map[string]any{"destination": []any{}}), false},
		{"unknown field", vssValue(map[string]any{"Mount": "x"}), false},
		{"nested unknown field", vssValue(map[string]any{"syncConfig": map[string]any{"x": 1}}), false},
		{"null string", vssValue(map[string]any{"refreshAfter": nil}), true},
		{"null pointer", vssValue(map[string]any{"hmacSecretData": nil, "syncConfig": nil}), true},
		{"pointer", vssValue(map[string]any{"hmacSecretData": false, "syncConfig": map[string]any{"instantUpdates": true}}), true},
		{"null list", vssValue(map[string]any{"rolloutRestartTargets": nil}), true},
		{"typed nil list", vssValue(map[string]any{"rolloutRestartTargets": []any(nil)}), true},
		{"empty list", vssValue(map[string]any{"rolloutRestartTargets": []any{}}), true},
		{"list with null element", vssValue(map[string]any{"rolloutRestartTargets": []any{nil}}), true},
		{"list", vssValue(map[string]any{"rolloutRestartTargets": []any{map[string]any{"kind": "Deployment", "name": "w"}}}), true},
		{"null map", withMeta(map[string]any{"name": "a", "labels": nil}), true},
		{"typed nil map", withMeta(map[string]any{"name": "a", "labels": map[string]any(nil)}), true},
		{"empty map", withMeta(map[string]any{"name": "a", "labels": map[string]any{}}), true},
		{"map with null value", withMeta(map[string]any{"name": "a", "labels": map[string]any{"x": nil}}), true},
		{"typed nil struct", vssValue(map[string]any{"destination": map[string]any(nil)}), true},
		{"typed nil pointer struct", vssValue(map[string]any{"syncConfig": map[string]any(nil)}), true},
		{"null metadata", withMeta(nil), true},
		{"bad UTF-8 value", vssValue(map[string]any{"path": "a\xffb"}), false},
		{"bad UTF-8 map key", withMeta(map[string]any{"name": "a", "labels": map[string]any{"a\xff": "x"}}), false},
		{"null creationTimestamp", withMeta(map[string]any{"name": "a", "creationTimestamp": nil}), true},
		{"creationTimestamp", withMeta(map[string]any{"name": "a", "creationTimestamp": "2024-01-02T03:04:05Z"}), true},
		{"bad creationTimestamp", withMeta(map[string]any{"name": "a", "creationTimestamp": "yesterday"}), false},
		{"ownerReferences", withMeta(map[string]any{"name": "a", "ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u", "controller": true}}}), true},
		{"managedFields", withMeta(map[string]any{"name": "a", "managedFields": []any{map[string]any{"manager": "m", "fieldsV1": map[string]any{"f:spec": map[string]any{}}}}}), true},
		{"generation", withMeta(map[string]any{"name": "a", "generation": 2, "deletionGracePeriodSeconds": 30}), true},
		{"status", func() map[string]any {
			v := vssValue(nil)
			v["status"] = map[string]any{"z": []any{1, "<&>"}, "a": nil}
			return v
		}(), true},
		{"null status", func() map[string]any { v := vssValue(nil); v["status"] = nil; return v }(), true},
		{"status with NaN", func() map[string]any { v := vssValue(nil); v["status"] = math.Inf(1); return v }(), false},
		{"value JSON cannot encode", vssValue(map[string]any{"path": func() {}}), false},
		{"Go type JSON can encode", vssValue(map[string]any{"rolloutRestartTargets": []map[string]string{{"kind": "Deployment", "name": "w"}}}), false},
		{"validation errors", vssValue(map[string]any{"type": "kv-v9", "mount": "/x", "version": 2}), true},
		{"wrong apiVersion", func() map[string]any { v := vssValue(nil); v["apiVersion"] = "v1"; return v }(), false},
		{"apiVersion not a string", func() map[string]any { v := vssValue(nil); v["apiVersion"] = 1; return v }(), false},
		{"unknown kind", func() map[string]any { v := vssValue(nil); v["kind"] = "Secret"; return v }(), false},
		{"no kind", func() map[string]any { v := vssValue(nil); delete(v, "kind"); return v }(), false},
		{"metadata name not a string", withMeta(map[string]any{"name": 1}), false},
		{"nil object", nil, false},
		{"empty object", map[string]any{}, false},
		{"secretRef string", authValue(map[string]any{"roleId": "r", "secretRef": "s"}), true},
		{"secretRef object", authValue(map[string]any{"roleId": "r", "secretRef": map[string]any{"name": "s", "key": "k"}}), true},
		{"secretRef null", authValue(map[string]any{"roleId": "r", "secretRef": nil, "secretIDPath": "/p"}), true},
		{"secretRef null key", authValue(map[string]any{"roleId": "r", "secretRef": map[string]any{"name": "s", "key": nil}}), true},
		{"secretRef no name", authValue(map[string]any{"roleId": "r", "secretRef": map[string]any{"key": "k"}}), false},
		{"secretRef unknown field", authValue(map[string]any{"roleId": "r", "secretRef": map[string]any{"name": "s", "x": "k"}}), false},
		{"secretRef number", authValue(map[string]any{"roleId": "r", "secretRef": 5}), false},
		{"secretRef name number", authValue(map[string]any{"roleId": "r", "secretRef": map[string]any{"name": 5}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireSameDecode(t, tt.v)
			_, fast := decodeValueFast(tt.v)
			assert.Equal(t, tt.fast, fast, "fast path taken")
		})
	}
}

// TestDecodeValueFastOnSeeds: every seed manifest decodes without JSON, so
// the fast path is the one the renderer takes.
func TestDecodeValueFastOnSeeds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "seed", "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		y, err := os.ReadFile(f)
		require.NoError(t, err)
		v, ok := yamlToValue(y)
		require.True(t, ok, f)
		_, fast := decodeValueFast(v)
		assert.True(t, fast, f)
	}
	for _, kind := range Kinds {
		assert.Equal(t, structKind, decoderFor(reflectTypeOf(NewObject(kind))).kind, kind)
	}
}

// FuzzDecodeValue: for any YAML or JSON object, DecodeValue gives what
// Decode(json.Marshal(v)) gives. Seeds: testdata/fuzz/FuzzDecodeValue.
func FuzzDecodeValue(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"secrets.hashicorp.com/v1beta1","kind":"VaultStaticSecret","metadata":{"name":"a"},"spec":{"type":"kv-v2","mount":"secret","path":"a","version":2.0,"destination":{"name":"a","create":true}}}`))
	f.Add([]byte("apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: a}\nspec: {method: appRole, mount: approle, appRole: {roleId: r, secretRef: {name: s, key: k}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, ok := jsonToValue(t, data); ok {
			requireSameDecode(t, v)
		}
		if v, ok := yamlToValue(data); ok {
			requireSameDecode(t, v)
		}
	})
}

func reflectTypeOf(o Object) reflect.Type { return reflect.TypeOf(o).Elem() }

// BenchmarkDecodeValue compares the renderer's old path (json.Marshal, then
// Decode) with DecodeValue on a typical VaultStaticSecret.
func BenchmarkDecodeValue(b *testing.B) {
	y, err := os.ReadFile(filepath.Join("testdata", "seed", "04-vaultstaticsecret.yaml"))
	require.NoError(b, err)
	v, ok := yamlToValue(y)
	require.True(b, ok)
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, err := json.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Decode(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("value-decode-only", func(b *testing.B) { // without Validate
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeValueFast(v); !ok {
				b.Fatal("fell back to JSON")
			}
		}
	})
	b.Run("value", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeValue(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
