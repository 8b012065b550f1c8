package renderer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/limits"
)

const bomb = `apiVersion: v1
kind: ConfigMap
metadata: {name: bomb}
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestLoaderLimits(t *testing.T) {
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
	small := limits.Default()
	small.FileSize, small.InputSize = 100, 150
	for _, tc := range []struct {
		name  string
		files map[string]string
		lim   limits.Limits
		limit limits.Name
	}{
		{"alias bomb", map[string]string{"b.yaml": bomb}, limits.Default(), limits.YAMLAliasNodes},
		{"alias bomb in a kustomization", map[string]string{"b.yaml": bomb, "kustomization.yaml": "resources: [b.yaml]\n"}, limits.Default(), limits.YAMLAliasNodes},
		{"aliases over files", map[string]string{
			"a.yaml": cm + "data:\n  a: &a [1,2,3,4,5,6,7,8,9,10]\n  b: [*a,*a,*a,*a,*a,*a]\n",
			"b.yaml": cm + "data:\n  a: &a [1,2,3,4,5,6,7,8,9,10]\n  b: [*a,*a,*a,*a,*a,*a]\n",
		}, limits.Limits{YAMLAliasNodes: 100}, limits.YAMLAliasNodes},
		{"depth", map[string]string{"d.yaml": cm + "data:\n  x: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"}, limits.Default(), limits.YAMLDepth},
		{"file size", map[string]string{"a.yaml": cm + "data: {x: " + strings.Repeat("x", 100) + "}\n"}, small, limits.FileSize},
		{"input size", map[string]string{"a.yaml": cm, "b.yaml": cm, "c.yaml": cm}, small, limits.InputSize},
		{"kustomize file size", map[string]string{"a.yaml": cm + "data: {x: " + strings.Repeat("x", 100) + "}\n", "kustomization.yaml": "resources: [a.yaml]\n"}, small, limits.FileSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			_, err := NewLoader(tc.lim).Load(dir)
			require.Error(t, err)
			spec := limits.Lookup(tc.limit)
			assert.Contains(t, err.Error(), "raise it with "+spec.Flag()+" or "+spec.Env)
		})
	}
	// Within the defaults, aliases that legitimate manifests use still work.
	dir := writeFiles(t, map[string]string{"a.yaml": cm + "data:\n  a: &a x\n  b: *a\n"})
	objs, err := NewLoader(limits.Default()).Load(dir)
	require.NoError(t, err)
	assert.Equal(t, "x", objs[0].Data["data"].(map[string]any)["b"])
}

func TestLoaderCheck(t *testing.T) {
	dir := writeFiles(t, map[string]string{"Chart.yaml": "name: c\nversion: 0.1.0\n", "templates/x.yaml": bomb})
	err := NewLoader(limits.Default()).Check(dir)
	var lerr *limits.Error
	require.True(t, errors.As(err, &lerr), "%v", err)
	assert.Equal(t, limits.YAMLAliasNodes, lerr.Limit)
}

func TestWhereEscapes(t *testing.T) {
	o := &Object{Source: "evil\n\x1b[31m.yaml", Data: map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "a\nb"}}}
	assert.Equal(t, `"evil\n\x1b[31m.yaml": ConfigMap "a\nb"`, o.Where())
}
