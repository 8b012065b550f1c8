package renderer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, n)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(c), 0o644))
	}
}

func TestLoadHelm(t *testing.T) {
	root := t.TempDir()
	chart := filepath.Join(root, "charts", "app")
	writeTree(t, root, map[string]string{
		"charts/app/Chart.yaml":             "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"charts/app/values.yaml":            "name: base\nnested: {a: 1, b: 2}\n",
		"charts/app/values-prod.yaml":       "name: prod\nnested: {b: 3}\n",
		"charts/app/templates/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  a: {{ .Values.nested.a | quote }}\n  b: {{ .Values.nested.b | quote }}\n  release: {{ .Release.Name }}\n  kube: {{ .Capabilities.KubeVersion.Version }}\n",
		"charts/app/templates/hook.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook\n  annotations: {\"helm.sh/hook\": pre-install}\n",
		"charts/app/templates/NOTES.txt":    "thanks\n",
		"charts/app/templates/_helpers.tpl": "{{ define \"x\" }}x{{ end }}\n",
		"secret-values.yaml":                "name: outside\n",
	})
	objs, err := LoadHelm(t.Context(), chart, HelmOptions{
		ReleaseName: "rel", Namespace: "apps", ValuesFiles: []string{"values-prod.yaml"}, Set: map[string]string{"nested.a": "9"},
		Root: root, KubeVersion: "1.37.2",
	})
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "prod", objs[0].Name())
	assert.Equal(t, map[string]any{"a": "9", "b": "3", "release": "rel", "kube": "v1.37.2"}, objs[0].Data["data"])
	assert.Equal(t, "apps", objs[0].Namespace())
	assert.Equal(t, "hook", objs[1].Name(), "hooks come last, as helm template prints them")

	// Values files must stay inside the repository.
	_, err = LoadHelm(t.Context(), chart, HelmOptions{ValuesFiles: []string{"../../../etc/passwd"}, Root: root})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "outside the repository")
	_, err = LoadHelm(t.Context(), chart, HelmOptions{ValuesFiles: []string{"../../secret-values.yaml"}, Root: chart})
	require.Error(t, err)
}
