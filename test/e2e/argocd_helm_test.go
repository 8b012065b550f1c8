package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArgoCDHelmSource renders each chart of helmCases as two Applications
// of the same chart in the same repository: Argo CD 3.6's own Helm source
// (source.helm: releaseName, valueFiles, parameters; the repo-server runs
// Helm 4.3.2's `helm template`) and vaultcmp (plugin parameters
// helm-release-name, helm-values-files, helm-parameters). Every non-secret
// object of `argocd app manifests --revision HEAD` is the same for both,
// byte for byte, Argo CD's tracking id (which names the app) aside: the
// Capabilities (KUBE_VERSION, KUBE_API_VERSIONS of the real cluster), the
// values, the parameters and Helm 4's own behaviour agree.
func TestArgoCDHelmSource(t *testing.T) {
	c := getCD(t)
	helm, err := HelmBinary()
	require.NoError(t, err, "the Helm part is required")
	require.NoError(t, c.PutOnPath("helm", helm))
	const ns = "helm4-ns"
	c.tenant(t, ns, "webapp-sa", "helm4-role", "secret/data/webapp/*")
	c.commit(t, under("helm4", helmCharts()), "charts rendered by Argo CD and by vaultcmp")
	for _, hc := range helmCases {
		t.Run(hc.chart, func(t *testing.T) {
			path := "helm4/" + hc.chart
			var params []map[string]string
			for _, k := range slices.Sorted(maps.Keys(hc.params)) {
				params = append(params, map[string]string{"name": k, "value": hc.params[k]})
			}
			native, plugin := "h4-"+hc.chart+"-helm", "h4-"+hc.chart+"-cmp"
			c.createSourceApp(t, native, ns, map[string]any{"repoURL": c.repo.URL, "path": path, "targetRevision": "HEAD",
				"helm": map[string]any{"releaseName": hc.release, "valueFiles": hc.values, "parameters": params}})
			pparams := []map[string]any{{"name": "helm-release-name", "string": hc.release}}
			if len(hc.values) > 0 {
				pparams = append(pparams, map[string]any{"name": "helm-values-files", "array": hc.values})
			}
			if len(hc.params) > 0 {
				pparams = append(pparams, map[string]any{"name": "helm-parameters", "map": hc.params})
			}
			c.createSourceApp(t, plugin, ns, map[string]any{"repoURL": c.repo.URL, "path": path, "targetRevision": "HEAD",
				"plugin": map[string]any{"name": "vaultcmp-v1", "parameters": pparams}})

			want := c.appManifests(t, native)
			got := c.appManifests(t, plugin)
			require.NotEmpty(t, want)
			assertSameObjects(t, want, got, "Argo CD's Helm source", "vaultcmp")
		})
	}
}

// createSourceApp runs `argocd app create -f` for an Application of the
// given source, in namespace ns, and deletes it when the test ends.
func (c *cdWorld) createSourceApp(t testing.TB, name, ns string, source map[string]any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"project": "default", "source": source,
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns},
		},
	})
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), name+".json")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	_, err = c.CLI(t.Context(), "app", "create", "-f", p)
	require.NoError(t, err, "%s", c.CMPLog())
	t.Cleanup(func() { c.deleteApp(t, name) })
}

// appManifests is `argocd app manifests NAME --revision HEAD` (the
// repo-server's answer for the app's source, hooks included) as canonical
// objects, without Secrets (their data would be a value) and without
// Argo CD's tracking id.
func (c *cdWorld) appManifests(t testing.TB, name string) map[string]string {
	t.Helper()
	out, err := c.CLI(t.Context(), "app", "manifests", name, "--revision", "HEAD")
	require.NoError(t, err, "%s", c.CMPLog())
	objs := canonical(t, out, func(meta map[string]any) { untrack(meta, name) })
	for k, v := range objs {
		assertNoSecrets(t, v)
		assert.NotContains(t, v, name, "%s: Argo CD's tracking is left out", k)
	}
	return objs
}

// untrack removes what Argo CD's tracking of app adds to an object's
// metadata: the tracking-id annotation (annotation tracking, the 3.x
// default) and the instance label, when the installation tracks by label.
func untrack(meta map[string]any, app string) {
	for _, f := range []struct{ field, key string }{
		{"annotations", "argocd.argoproj.io/tracking-id"}, {"labels", "app.kubernetes.io/instance"},
	} {
		m, ok := meta[f.field].(map[string]any)
		if !ok {
			continue
		}
		if v, _ := m[f.key].(string); v == app || strings.HasPrefix(v, app+":") {
			delete(m, f.key)
		}
		if len(m) == 0 {
			delete(meta, f.field)
		}
	}
}
