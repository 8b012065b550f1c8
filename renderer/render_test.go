package renderer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

var update = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") != "", "rewrite the golden files")

// memVault is an in-memory vault.Reader for the renderer's own logic; the
// real Vault is exercised by test/e2e.
type memVault struct {
	mu    sync.Mutex
	kv    map[string]*vault.KVSecret // APIPath → secret
	reads []string
}

func (m *memVault) ReadKV(_ context.Context, req vault.KVRequest) (*vault.KVSecret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := req.APIPath()
	m.reads = append(m.reads, p)
	if s, ok := m.kv[p]; ok {
		return s, nil
	}
	return nil, &vault.Error{Op: "read", Address: req.Identity.Connection.Address, Path: p, Status: 404, Reason: vault.ReasonNotFound}
}

func kv2(version int, fields map[string]any) *vault.KVSecret {
	return &vault.KVSecret{Fields: fields, Version: version, Response: map[string]any{
		"data":     fields,
		"metadata": map[string]any{"version": version, "created_time": "2026-11-26T00:00:00Z", "deletion_time": "", "destroyed": false, "custom_metadata": nil},
	}}
}

func newMem() *memVault {
	return &memVault{kv: map[string]*vault.KVSecret{
		"secret/data/webapp/config": kv2(3, map[string]any{
			"db_user": "webapp", "db_pass": "p4ss", "db_host": "db", "redis_pass": "r3d", "internal_key": "ik",
		}),
		"kv/team/app": {Fields: map[string]any{"user": "alice"}, Response: map[string]any{"user": "alice"}},
	}}
}

// testOptions render inline: most of the renderer's tests are about the
// Secrets it builds. TestGolden renders with the default delivery.
func testOptions(m *memVault) Options {
	return Options{VaultAddress: "http://127.0.0.1:8200", VaultToken: "t", Vault: m, HMACKey: []byte("k"), Namespace: "dest",
		Delivery: contract.DeliveryInline}
}

// TestGolden renders every testdata/<case>/input and compares with
// want.yaml: with the default delivery (in-cluster), or the one a case's
// file testdata/<case>/delivery names.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*/input")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, in := range cases {
		name := filepath.Base(filepath.Dir(in))
		t.Run(name, func(t *testing.T) {
			objs, err := Load(in)
			require.NoError(t, err)
			opts := testOptions(newMem())
			opts.Delivery = ""
			if d, err := os.ReadFile(filepath.Join(filepath.Dir(in), "delivery")); err == nil {
				opts.Delivery = strings.TrimSpace(string(d))
			}
			res, err := Render(t.Context(), objs, opts)
			require.NoError(t, err)
			var got, again bytes.Buffer
			require.NoError(t, res.WriteYAML(&got))
			outObjs, err := res.Objects()
			require.NoError(t, err)
			require.NoError(t, WriteYAML(&again, outObjs))
			require.Equal(t, got.String(), again.String(), "pre-encoded and encoded output differ")
			for _, w := range res.Warnings {
				fmt.Fprintf(&got, "# warning: %s\n", w)
			}
			golden := filepath.Join(filepath.Dir(in), "want.yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with UPDATE_GOLDEN=1 to create it")
			assert.Equal(t, string(want), got.String())
		})
	}
}

func TestDeterministic(t *testing.T) {
	var first string
	for i := range 20 {
		objs, err := Load("../examples/webapp")
		require.NoError(t, err)
		res, err := Render(t.Context(), objs, testOptions(newMem()))
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, res.WriteYAML(&b))
		if i == 0 {
			first = b.String()
			continue
		}
		require.Equal(t, first, b.String(), "render %d differs", i)
	}
}

// Two objects that read the same secret under the same identity, in
// different files, are one HTTP read: the renderer hands both to one
// vault.Session with equal requests, and the Session answers the second
// from the first.
func TestIdenticalReadsShareOneSession(t *testing.T) {
	const vss = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: %s}\nspec: {type: kv-v2, mount: secret, path: shared/config, destination: {name: %s, create: true}}\n"
	var objs []*Object
	for _, name := range []string{"a", "b", "c"} {
		o, err := Decode([]byte(fmt.Sprintf(vss, name, name)), name+".yaml")
		require.NoError(t, err)
		objs = append(objs, o...)
	}
	wire := &loginWire{}
	s := vault.NewSession(vault.Options{WrapTransport: func(http.RoundTripper) http.RoundTripper { return wire }})
	opts := testOptions(newMem())
	opts.Vault = s
	res, err := Render(t.Context(), objs, opts)
	require.NoError(t, err)

	assert.Equal(t, []string{"GET /v1/secret/data/shared/config token=t"}, wire.reads, "one HTTP read for three identical reads")
	assert.Empty(t, wire.logins)
	st := s.Stats()
	assert.Equal(t, int64(1), st.Reads)
	assert.Equal(t, int64(2), st.CacheHits)
	outObjs, err := res.Objects()
	require.NoError(t, err)
	require.Len(t, outObjs, 3)
	for _, o := range outObjs {
		assert.Equal(t, map[string]any{
			"_raw": base64.StdEncoding.EncodeToString([]byte(`{"data":{"user":"alice"},"metadata":{"version":1}}`)),
			"user": base64.StdEncoding.EncodeToString([]byte("alice")),
		}, o["data"])
	}
}

// Problems: all at once, each located, nothing rendered.
func TestProblems(t *testing.T) {
	const auth = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: default}\nspec: {method: appRole, mount: approle, appRole: {roleId: r, secretRef: s}}\n---\n"
	secretFile := filepath.Join(t.TempDir(), "secret-id")
	require.NoError(t, os.WriteFile(secretFile, []byte("p4ss-in-a-file"), 0o600))
	const conn = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultConnection\nmetadata: {name: default}\nspec: {address: 'http://127.0.0.1:8200'}\n"
	vssDoc := func(name, extra string) string {
		return fmt.Sprintf("apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: %s}\nspec:\n  type: kv-v2\n  mount: secret\n  path: webapp/config\n  destination: {name: %s, create: true}\n%s", name, name, extra)
	}
	tests := []struct {
		name    string
		docs    string
		opts    func(*Options)
		want    []string
		howMany int
	}{
		{"missing path in Vault", vssDoc("a", "") + "---\n" + strings.Replace(vssDoc("b", ""), "webapp/config", "nope", 1), nil,
			[]string{"b: spec.path: read secret/data/nope", "HTTP 404"}, 1},
		{"no auth at all", conn + "---\n" + vssDoc("a", ""), func(o *Options) { o.VaultToken = "" },
			[]string{`no vaultAuthRef and no VaultAuth "default"`, "set spec.vaultAuthRef"}, 1},
		{"dangling auth ref", vssDoc("a", "  vaultAuthRef: nope\n"), nil, []string{"VaultAuth dest/nope not found"}, 1},
		{"dangling transformation ref", strings.Replace(vssDoc("a", ""), "create: true}", "create: true, transformation: {transformationRefs: [{name: nope}]}}", 1), nil,
			[]string{"a: spec.destination.transformation.transformationRefs[0]: SecretTransformation dest/nope not found in the input", "add the SecretTransformation"}, 1},
		{"two objects one Secret", vssDoc("a", "") + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: a}\n", nil,
			[]string{"app.yaml#1: Secret a: metadata.name: Secret dest/a is also written by app.yaml: VaultStaticSecret a"}, 1},
		{"duplicate object", vssDoc("a", "") + "---\n" + vssDoc("a", ""), nil, []string{"duplicate VaultStaticSecret"}, 1},
		{"schema errors", "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: x}\nspec: {type: kv-v9, mount: /m, path: a, destination: {name: x}, bogus: 1}\n", nil,
			[]string{"spec.bogus", "spec.type", "spec.mount"}, 3},
		{"unknown template function", strings.Replace(vssDoc("a", ""), "create: true}", "create: true, transformation: {templates: {k: {text: '{{ env \"HOME\" }}'}}}}", 1), nil,
			[]string{"spec.destination.transformation"}, 1},
		{"no address", "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: default}\nspec: {method: appRole, mount: approle, appRole: {roleId: r, secretIDPath: /nonexistent}}\n---\n" + vssDoc("a", ""),
			func(o *Options) { o.VaultAddress = "" }, []string{"no Vault address", "--default-vault-address"}, 1},
		// A manifest never makes vaultcmp read a file (the token cache, a
		// service-account token, /proc/self/environ, /dev/zero).
		{"secretIDPath is never read", "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: default}\nspec: {method: appRole, mount: approle, appRole: {roleId: r, secretIDPath: " + secretFile + "}}\n---\n" + vssDoc("a", ""),
			func(o *Options) { o.VaultToken = "" }, []string{"spec.appRole.secretIDPath", "is not read", "secretRef"}, 1},
		{"caCertPath is never read", strings.Replace(conn, "spec: {", "spec: {caCertPath: "+secretFile+", ", 1) + "---\n" + auth + vssDoc("a", ""),
			func(o *Options) { o.VaultAddress = "" }, []string{"spec.caCertPath", "is not read", "--vault-cacert"}, 1},
		{"caCertPath stands for the operator's CA", strings.Replace(conn, "spec: {", "spec: {caCertPath: /dev/zero, ", 1) + "---\n" + auth + vssDoc("a", ""),
			func(o *Options) { o.VaultAddress = ""; o.CACert = []byte("PEM") }, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode([]byte(tc.docs), "app.yaml")
			require.NoError(t, err)
			m := newMem()
			opts := testOptions(m)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			res, err := Render(t.Context(), objs, opts)
			if tc.howMany == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Nil(t, res)
			var probs Problems
			require.True(t, errors.As(err, &probs))
			assert.Len(t, probs, tc.howMany, err.Error())
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "p4ss")
		})
	}
}

// testdata/seed-webapp/input is examples/webapp, file for file: the golden
// output of the seed must be the output of the example users read.
func TestSeedWebappMatchesExample(t *testing.T) {
	list := func(dir string) map[string]string {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		files := map[string]string{}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			files[e.Name()] = string(b)
		}
		return files
	}
	example, seed := list("../examples/webapp"), list("testdata/seed-webapp/input")
	require.NotEmpty(t, example)
	assert.Equal(t, example, seed, "copy examples/webapp to renderer/testdata/seed-webapp/input and run the golden test with UPDATE_GOLDEN=1")
}

// Render drops a decoded Vault object's input (Data) and keeps its
// identity: every message still names it as before.
func TestRenderDropsDecodedInput(t *testing.T) {
	objs, err := Load("../examples/webapp")
	require.NoError(t, err)
	where := map[*Object]string{}
	for _, o := range objs {
		where[o] = o.Where()
	}
	_, err = Render(t.Context(), objs, testOptions(newMem()))
	require.NoError(t, err)
	vaultObjects := 0
	for _, o := range objs {
		assert.Equal(t, where[o], o.Where())
		if o.Data == nil {
			vaultObjects++
			assert.Contains(t, o.Where(), "Vault", "only Vault objects are dropped")
		}
	}
	assert.Positive(t, vaultObjects, "the example's Vault objects are dropped once decoded")
}
