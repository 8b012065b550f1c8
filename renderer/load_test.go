package renderer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {n: x, on: y, big: 12345678901234567, day: 2001-12-14}\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b2}\n",
		"a/c.json":       `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`,
		"a/list.yml":     "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l1}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l2}}\n",
		".hidden/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hidden}\n",
		"notes.txt":      "not a manifest",
		"a/.skip.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	objs, err := Load(dir)
	require.NoError(t, err)
	var names, where []string
	for _, o := range objs {
		names = append(names, o.Name())
		where = append(where, o.Where())
	}
	assert.Equal(t, []string{"c", "l1", "l2", "b", "b2"}, names)
	assert.Equal(t, "b.yaml#2: ConfigMap b2", where[4])
	data := objs[3].Data["data"].(map[string]any)
	assert.Equal(t, "x", data["n"], "YAML 1.2: n is a string key")
	assert.Equal(t, "y", data["on"])
	assert.Equal(t, "2001-12-14", data["day"], "dates stay the text they were written as")
	assert.Equal(t, 12345678901234567, data["big"])
}

func TestLoadErrors(t *testing.T) {
	for name, content := range map[string]string{
		"not yaml": "a: [\n",
		"no kind":  "apiVersion: v1\nmetadata: {name: x}\n",
		"a list":   "- a\n- b\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Decode([]byte(content), "f.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "f.yaml: document 0")
		})
	}
}

func TestSecretEncodingRoundTrips(t *testing.T) {
	secret := map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
		"data": map[string]any{"_raw": "e30=", "true": "MTIz", "1": "dHJ1ZQ==", "tls.crt": "bnVsbA==", "a b": "eA==", "n": "MQ=="}}
	b, err := encodeObject(secret)
	require.NoError(t, err)
	objs, err := Decode(b, "out.yaml")
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, secret, objs[0].Data)
	assert.Contains(t, string(b), "\n  _raw: \"e30=\"\n")
	assert.Contains(t, string(b), "\n  \"true\": \"MTIz\"\n")
}
