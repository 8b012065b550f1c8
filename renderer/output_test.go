package renderer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingWriter records every Write, so a test sees whether anything at
// all reached it.
type countingWriter struct {
	writes int
	buf    bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

// unencodable is a value yaml.v3 fails to encode.
type unencodable struct{}

func (unencodable) MarshalYAML() (any, error) { return nil, errors.New("cannot encode") }

// manyConfigMaps are n valid objects, enough to span many writes.
func manyConfigMaps(n int) []map[string]any {
	objs := make([]map[string]any, n)
	for i := range objs {
		objs[i] = map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": fmt.Sprintf("cm%04d", i)}}
	}
	return objs
}

func TestOutputFailsClosed(t *testing.T) {
	// An object yaml.v3 cannot encode, at the end and in the middle: the
	// writer must see nothing, however many documents before it encoded.
	bad := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "bad"}, "data": map[string]any{"x": unencodable{}}}
	for _, tc := range []struct {
		name string
		objs []map[string]any
	}{
		{"late failure", append(manyConfigMaps(500), bad)},
		{"failure in the middle", append(append(manyConfigMaps(250), bad), manyConfigMaps(250)...)},
		{"only failure", []map[string]any{bad}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w countingWriter
			err := WriteYAML(&w, tc.objs)
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("encoding object %d", len(tc.objs)-1-indexFromEnd(tc.objs, bad)))
			assert.Zero(t, w.writes, "nothing may be written when an object fails to encode")

			res := &Result{objects: tc.objs}
			out, err := res.Encode()
			require.Error(t, err)
			assert.Nil(t, out)
		})
	}
}

// indexFromEnd is how far from the end of objs the object o is.
func indexFromEnd(objs []map[string]any, o map[string]any) int {
	for i := len(objs) - 1; i >= 0; i-- {
		if fmt.Sprintf("%p", objs[i]) == fmt.Sprintf("%p", o) {
			return len(objs) - 1 - i
		}
	}
	return -1
}

func TestOutputStreamsTheSameBytes(t *testing.T) {
	objs := manyConfigMaps(300)
	// Some documents encoded ahead (as Render does while Vault reads are in flight).
	pre := make([][]byte, len(objs))
	for i := 0; i < len(objs); i += 3 {
		var err error
		pre[i], err = encodeObject(objs[i])
		require.NoError(t, err)
	}
	res := &Result{objects: objs, encoded: pre}
	out, err := res.Encode()
	require.NoError(t, err)

	var streamed countingWriter
	n, err := out.WriteTo(&streamed)
	require.NoError(t, err)
	assert.Equal(t, len(objs), streamed.writes, "one write per document, no joined copy")
	assert.Equal(t, out.Len(), n)
	assert.Equal(t, int64(streamed.buf.Len()), out.Len())

	var whole bytes.Buffer
	for _, o := range objs {
		d, err := encodeObject(o)
		require.NoError(t, err)
		whole.Write(d)
	}
	assert.Equal(t, whole.String(), streamed.buf.String(), "streamed bytes are the documents in input order")
}

// scalarPool mixes strings yaml.v3 writes plain with ones it quotes or
// that sort unlike byte order (digits, "_", "/", case).
var scalarPool = []string{
	"a", "b", "Z", "_x", "a_b", "aZ", "a.b", "ab", "a9", "a10", "a010", "a-1", "x/y", "vaultcmp.io/owner",
	"app.kubernetes.io/managed-by", "VaultStaticSecret/s00042", "s00042", "Opaque", "kubernetes.io/tls",
	"true", "yes", "No", "on", "null", "y", "", "1", "0x1F", "1e3", "12:30", "2026-11-27", "a b", "a: b", "#x",
	"-x", "x-", "x/ #y", "a/b: c", "é", "ünï", strings.Repeat("long", 20), "a\nb", "*a", "&a", "!a", "x#y", ".inf", "NaN", "~",
}

// plainPool is how many of scalarPool's first strings are plain.
const plainPool = 19

// randomSecret is a Secret like Render's (maybe with things it never has).
func randomSecret(r *rand.Rand) map[string]any {
	pick := func() string { // mostly strings yaml.v3 writes plain
		if r.IntN(40) == 0 {
			return scalarPool[r.IntN(len(scalarPool))]
		}
		return scalarPool[r.IntN(plainPool)]
	}
	strMap := func(n int) map[string]any {
		m := map[string]any{}
		for range n {
			m[pick()] = pick()
		}
		return m
	}
	md := map[string]any{"name": pick()}
	if r.IntN(2) == 0 {
		md["namespace"] = pick()
	}
	md["labels"] = strMap(r.IntN(4))
	md["annotations"] = strMap(r.IntN(4))
	data := map[string]any{}
	for range 1 + r.IntN(4) {
		data[pick()] = base64.StdEncoding.EncodeToString([]byte(pick()))
	}
	obj := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": md, "data": data}
	if r.IntN(2) == 0 {
		obj["type"] = pick()
	}
	if r.IntN(8) == 0 {
		obj[pick()] = pick() // a key of the user's
	}
	return obj
}

func TestPlainSecretIsYAMLv3(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	plain := 0
	for i := range 20000 {
		obj := randomSecret(r)
		want, err := encodeYAMLv3(obj)
		require.NoError(t, err)
		data, ok := secretData(obj)
		require.True(t, ok)
		var b bytes.Buffer
		b.WriteString("---\n")
		if !writePlainSecret(&b, obj, data) {
			continue
		}
		plain++
		require.Equal(t, string(want), b.String(), "secret %d: %#v", i, obj)
	}
	assert.Greater(t, plain, 500, "the plain path is taken often enough to be tested")

	// Render's Secrets take the plain path.
	typical := map[string]any{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
		"data": map[string]any{"password": "cGFzcw==", "user": "dQ=="},
		"metadata": map[string]any{"name": "s00042", "namespace": "apps",
			"labels":      map[string]any{"app.kubernetes.io/managed-by": "vaultcmp", "vaultcmp.io/delivery": "inline"},
			"annotations": map[string]any{"vaultcmp.io/owner": "VaultStaticSecret/s00042"}}}
	var b bytes.Buffer
	data, _ := secretData(typical)
	require.True(t, writePlainSecret(&b, typical, data))
	want, err := encodeYAMLv3(typical)
	require.NoError(t, err)
	assert.Equal(t, string(want), "---\n"+b.String())
}

// writeQuoted writes what json.Marshal writes, for base64 values (its fast
// path) and for anything else.
func TestWriteQuotedIsJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := []string{"", "cGFzcw==", "a+b/c=", "<&>", "a\"b", "é", "\x00", "a b", "line\nbreak"}
	for range 2000 {
		raw := make([]byte, r.IntN(40))
		for i := range raw {
			raw[i] = byte(r.IntN(256))
		}
		cases = append(cases, base64.StdEncoding.EncodeToString(raw), string(raw))
	}
	for _, s := range cases {
		var b bytes.Buffer
		writeQuoted(&b, s)
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), b.String(), "%q", s)
	}
}
