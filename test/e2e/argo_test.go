package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (w *argoWorld) app(path, ns string) AppRequest { // an Application of vaultcmp-v1
	return AppRequest{RepoURL: w.repo.URL, Path: path, AppName: filepath.Base(path), Namespace: ns, Project: "default",
		Plugin: true, PluginName: "vaultcmp-v1"}
}

// inline asks for delivery: inline (the plugin parameter): the values in
// the Secrets, through Argo CD.
func inline(req AppRequest) AppRequest {
	req.Parameters = append(req.Parameters, map[string]any{"name": "delivery", "string": "inline"})
	return req
}

// generate runs Argo CD's manifest generation for req; what it returns is
// server-side applied (dry run) to the real apiserver, as Argo CD would.
func (w *argoWorld) generate(t *testing.T, req AppRequest) GenerateResult {
	t.Helper()
	res := w.cmp.Generate(t.Context(), req, false)
	if res.Err == nil {
		serverSideApply(t, res.Manifests, req.Namespace)
	}
	return res
}

// manifest finds an object in Argo CD's manifests.
func manifest(t *testing.T, ms []map[string]any, kind, name string) map[string]any {
	t.Helper()
	return find(t, ms, kind, name)
}

func TestArgoDiscovery(t *testing.T) {
	w := getArgo(t)
	for _, tc := range []struct {
		path  string
		match bool
	}{
		{"apps/webapp", true},
		{"apps/kustomize", true}, // Vault objects only in its base, outside the app directory
		{"apps/chart", true},
		{"apps/plain", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			req := w.app(tc.path, "webapp-ns")
			req.PluginName = "" // plugin: {} — discovery
			res := w.cmp.Generate(t.Context(), req, true)
			if tc.match {
				assert.NoError(t, res.Err)
			} else {
				require.Error(t, res.Err)
				assert.Contains(t, res.Err.Error(), "could not find plugin supporting the given repository")
			}
		})
	}
}

// The seed's webapp through Argo CD's manifest generation with the default
// delivery (in-cluster), logged in as webapp-ns/webapp-sa through
// Kubernetes auth: a carrier per Vault object in sync wave -1, no
// destination Secret and no value in the answer.
func TestArgoSeedWebapp(t *testing.T) {
	w := getArgo(t)
	res := w.generate(t, w.app("apps/webapp", "webapp-ns"))
	require.NoError(t, res.Err, w.cmp.Log())
	assert.Equal(t, "Plugin", res.SourceType)
	b, err := json.Marshal(res.Manifests)
	require.NoError(t, err)
	assertNoSecrets(t, string(b))
	for _, name := range []string{"vaultcmp-vds.webapp-db-creds", "vaultcmp-pki.webapp-tls", "vaultcmp-vss.webapp-config"} {
		c := manifest(t, res.Manifests, "Secret", name)
		assert.Equal(t, "vaultcmp.io/contract-v1", c["type"])
		assert.Nil(t, c["data"])
		md := c["metadata"].(map[string]any)
		assert.Equal(t, "in-cluster", md["labels"].(map[string]any)["vaultcmp.io/delivery"], name)
		assert.Equal(t, "-1", md["annotations"].(map[string]any)["argocd.argoproj.io/sync-wave"], name)
	}
	for _, m := range res.Manifests {
		name := m["metadata"].(map[string]any)["name"]
		assert.NotContains(t, []any{"webapp-k8s-secret", "webapp-db-secret", "webapp-tls-secret"}, name, "the companion creates it")
		assert.NotEqual(t, "VaultAuth", m["kind"])
	}
}

// The same with the parameter delivery: inline: the static Secret with its
// values and the rollout checksum; dynamic and PKI stay carriers.
func TestArgoSeedWebappInline(t *testing.T) {
	w := getArgo(t)
	res := w.generate(t, inline(w.app("apps/webapp", "webapp-ns")))
	require.NoError(t, res.Err, w.cmp.Log())
	s := manifest(t, res.Manifests, "Secret", "webapp-k8s-secret")
	data := secretData(t, s)
	for k, v := range webappConfig {
		assert.Equal(t, v, data[k], k)
	}
	d := manifest(t, res.Manifests, "Deployment", "webapp")
	ann := d["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
	assert.Len(t, ann["checksum.vaultcmp.io/webapp-k8s-secret"], 64)
	for _, name := range []string{"vaultcmp-vds.webapp-db-creds", "vaultcmp-pki.webapp-tls", "vaultcmp-vss.webapp-config"} {
		c := manifest(t, res.Manifests, "Secret", name)
		assert.Equal(t, "vaultcmp.io/contract-v1", c["type"])
		assert.Nil(t, c["data"])
	}
}

func TestArgoKustomizeAndHelm(t *testing.T) {
	w := getArgo(t)
	res := w.generate(t, inline(w.app("apps/kustomize", "webapp-ns")))
	require.NoError(t, res.Err)
	s := manifest(t, res.Manifests, "Secret", "webapp-k8s-secret")
	assert.Equal(t, webappConfig["db_pass"], secretData(t, s)["db_pass"])
	// kustomize labels the workload; the Secret's labels are the destination's, as in VSO.
	assert.Equal(t, "web", manifest(t, res.Manifests, "Deployment", "webapp")["metadata"].(map[string]any)["labels"].(map[string]any)["team"])

	req := w.app("apps/chart", "webapp-ns")
	req.Parameters = []map[string]any{
		{"name": "helm-values-files", "array": []string{"values-prod.yaml"}},
		{"name": "helm-parameters", "map": map[string]string{"secretName": "from-helm"}},
	}
	res = w.generate(t, inline(req))
	require.NoError(t, res.Err)
	s = manifest(t, res.Manifests, "Secret", "from-helm")
	assert.Equal(t, webappConfig["db_user"], secretData(t, s)["db_user"])
	assert.Nil(t, s["metadata"].(map[string]any)["namespace"], "Argo CD puts it in the destination namespace")
	assert.Contains(t, secretData(t, s), "_raw")
}

// An app of namespace other-ns cannot read what only webapp-ns/webapp-sa may:
// the same manifests log in as other-ns/webapp-sa, which Vault refuses.
func TestArgoTenancy(t *testing.T) {
	w := getArgo(t)
	res := w.generate(t, w.app("apps/portable", "webapp-ns"))
	require.NoError(t, res.Err)

	res = w.generate(t, w.app("apps/portable", "other-ns"))
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), "login auth/kubernetes/login")
	assert.Contains(t, res.Err.Error(), "HTTP 403")
	assert.Empty(t, res.Manifests)

	// Vault objects in another namespace than the Application's are refused
	// before anything is asked of the cluster or Vault.
	res = w.generate(t, w.app("apps/cross-ns", "other-ns"))
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), `the app's destination namespace is "other-ns"`)
	assertNoSecrets(t, res.Err.Error())
}

// A second generate of the same identity makes no new login.
func TestArgoTokenCache(t *testing.T) {
	w := getArgo(t)
	require.NoError(t, os.RemoveAll(w.cacheDir))
	var entries []os.DirEntry
	logins := func() int { return countLogins(t, w.audit, "auth/kubernetes/login") }
	before := logins()
	res := w.generate(t, w.app("apps/webapp", "webapp-ns"))
	require.NoError(t, res.Err)
	assert.Equal(t, before+1, logins())
	res = w.generate(t, w.app("apps/webapp", "webapp-ns"))
	require.NoError(t, res.Err)
	assert.Equal(t, before+1, logins(), "the second generate must reuse the cached token")

	// A cached token that Vault revoked is replaced by one new login.
	_, err := vaultSrv.Client.Logical().WriteWithContext(t.Context(), "sys/leases/revoke-prefix/auth/kubernetes/login", nil)
	require.NoError(t, err)
	res = w.generate(t, w.app("apps/webapp", "webapp-ns"))
	require.NoError(t, res.Err)
	assert.Equal(t, before+2, logins())
	entries, err = os.ReadDir(w.cacheDir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), e.Name())
	}
	st, err := os.Stat(w.cacheDir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
}

func TestArgoVaultDown(t *testing.T) {
	w := getArgo(t)
	res := w.generate(t, w.app("apps/down", "webapp-ns"))
	require.Error(t, res.Err)
	assert.Empty(t, res.Manifests)
	assert.Contains(t, res.Err.Error(), "Vault cannot be reached")
}

// The sidecar reads a VaultAuth's secretRef from the cluster; without the
// namespaced RBAC of sidecar/kustomize/app-namespace the error names the
// missing permission, and with it the app syncs.
func TestArgoAppRoleSecretRef(t *testing.T) {
	w := getArgo(t)
	ctx := t.Context()
	roleID, secretID := setupAppRole(ctx, t)
	// The role-id is not secret; write it into a copy of the app.
	auth, err := os.ReadFile(filepath.Join(w.repo.Dir, "apps/approle/auth.yaml"))
	require.NoError(t, err)
	repo, err := NewGitRepo(t.TempDir(), map[string]string{
		"apps/approle/auth.yaml":          strings.Replace(string(auth), "ROLE_ID", roleID, 1),
		"apps/approle/connection.yaml":    readFile(t, filepath.Join(w.repo.Dir, "apps/approle/connection.yaml")),
		"apps/approle/static-secret.yaml": readFile(t, filepath.Join(w.repo.Dir, "apps/approle/static-secret.yaml")),
	})
	require.NoError(t, err)
	req := inline(w.app("apps/approle", "webapp-ns"))
	req.RepoURL = repo.URL

	_, err = w.cluster.Admin.CoreV1().Secrets("webapp-ns").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-approle-creds"},
		Data:       map[string][]byte{"secret-id": []byte(secretID)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	res := w.generate(t, req)
	require.Error(t, res.Err)
	assert.Contains(t, res.Err.Error(), `cannot get secrets in namespace "webapp-ns" (RBAC: verbs [get] on resource "secrets", resourceNames [vault-approle-creds])`)
	assert.NotContains(t, res.Err.Error(), secretID)

	applyManifests(t, w, filepath.Join(RepoRoot(), "sidecar", "kustomize", "app-namespace", "role.yaml"), "webapp-ns")
	res = w.generate(t, req)
	require.NoError(t, res.Err)
	assert.Equal(t, webappConfig["db_pass"], secretData(t, manifest(t, res.Manifests, "Secret", "webapp-k8s-secret"))["db_pass"])
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// applyManifests creates the Roles and RoleBindings of a file in ns.
func applyManifests(t *testing.T, w *argoWorld, file, ns string) {
	t.Helper()
	for _, doc := range strings.Split(readFile(t, file), "\n---\n") {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		require.NoError(t, err)
		switch o := obj.(type) {
		case *rbacv1.Role:
			_, err = w.cluster.Admin.RbacV1().Roles(ns).Create(t.Context(), o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = w.cluster.Admin.RbacV1().RoleBindings(ns).Create(t.Context(), o, metav1.CreateOptions{})
		default:
			t.Fatalf("unexpected %T in %s", obj, file)
		}
		require.NoError(t, err)
	}
}
