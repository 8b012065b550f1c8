package renderer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/limits"
)

func TestDiscoverAndDetect(t *testing.T) {
	write := func(dir string, files map[string]string) string {
		for n, c := range files {
			p := filepath.Join(dir, n)
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(c), 0o644))
		}
		return dir
	}
	vss := "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\n"
	plain := write(t.TempDir(), map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\n", ".git/x.yaml": vss})
	files, err := NewLoader(limits.Default()).Discover(plain)
	require.NoError(t, err)
	assert.Empty(t, files, "hidden directories are not searched")
	assert.Equal(t, SourceDirectory, Detect(plain))

	app := write(t.TempDir(), map[string]string{"b/s.yml": vss, "a.json": `{"apiVersion":"secrets.hashicorp.com/v1beta1"}`, "notes.md": vss})
	files, err = NewLoader(limits.Default()).Discover(app)
	require.NoError(t, err)
	assert.Equal(t, []string{"a.json", "b/s.yml"}, files)

	chart := write(t.TempDir(), map[string]string{"Chart.yaml": "name: x\n", "templates/_h.tpl": vss, "kustomization.yaml": ""})
	files, err = NewLoader(limits.Default()).Discover(chart)
	require.NoError(t, err)
	assert.Equal(t, []string{"templates/_h.tpl"}, files)
	assert.Equal(t, SourceHelm, Detect(chart))
	assert.Equal(t, SourceKustomize, Detect(write(t.TempDir(), map[string]string{"kustomization.yml": "resources: []\n"})))
}
