package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hostile-repository suite, rows 1–4, 9 and 11 of issue 6: a repository
// cannot make vaultcmp send a credential where it chooses, read a file it
// names, leave the repository, or fill the sidecar's cache volume. A capture
// server on 127.0.0.1 stands for the attacker's host.

// sidecarFile is a file the sidecar holds that no repository owns (another
// team's cached Vault token).
const sidecarSecret = "hvs.another-teams-cached-token"

func sidecarFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token-cache", "0123.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, []byte(`{"token":"`+sidecarSecret+`"}`), 0o600))
	return p
}

func capture(t *testing.T, mode CaptureMode) *CaptureServer {
	t.Helper()
	c, err := StartCapture(mode)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// nothingReached asserts the attacker's server received no request.
func nothingReached(t *testing.T, c *CaptureServer) {
	t.Helper()
	for _, r := range c.Requests() {
		t.Errorf("the attacker's server received %s %s (headers %v, %d body bytes)", r.Method, r.Path, r.Header, len(r.Body))
	}
}

// hostileApp is a VaultConnection at addr, a VaultAuth with authSpec and
// one VaultStaticSecret.
func hostileApp(addr, connExtra, authSpec string) map[string]string {
	return map[string]string{"app.yaml": fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata: {name: vault-connection}
spec:
  address: %s
%s---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: vault-auth}
spec:
  vaultConnectionRef: vault-connection
%s
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: webapp-config}
spec:
  type: kv-v2
  mount: secret
  path: webapp/config
  vaultAuthRef: vault-auth
  destination: {name: webapp-k8s-secret, create: true}
`, addr, connExtra, authSpec)}
}

const appRoleSecretRef = "  method: appRole\n  mount: approle\n  appRole:\n    roleId: role\n    secretRef: {name: creds, key: id}"

// Row 1 and 2: secretIDPath and caCertPath name the sidecar's files; the
// address is the attacker's. Nothing is read, nothing is sent.
func TestHostileManifestNamedFiles(t *testing.T) {
	cacheFile := sidecarFile(t)
	for _, tc := range []struct {
		name      string
		connExtra string
		auth      string
		want      string
	}{
		{"secretIDPath: another team's cached token", "",
			"  method: appRole\n  mount: approle\n  appRole:\n    roleId: role\n    secretIDPath: " + cacheFile, "spec.appRole.secretIDPath"},
		{"secretIDPath: /proc/self/environ (the HMAC key)", "",
			"  method: appRole\n  mount: approle\n  appRole:\n    roleId: role\n    secretIDPath: /proc/self/environ", "spec.appRole.secretIDPath"},
		{"secretIDPath: the service-account token", "",
			"  method: appRole\n  mount: approle\n  appRole:\n    roleId: role\n    secretIDPath: /var/run/secrets/kubernetes.io/serviceaccount/token", "spec.appRole.secretIDPath"},
		{"caCertPath: /dev/zero", "  caCertPath: /dev/zero\n", appRoleSecretRef, "spec.caCertPath"},
		{"caCertPath: another team's cached token", "  caCertPath: " + cacheFile + "\n", appRoleSecretRef, "spec.caCertPath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attacker := capture(t, Echo)
			dir := writeApp(t, hostileApp(attacker.Addr, tc.connExtra, tc.auth))
			r := runHostile(t, []string{"VAULTCMP_HMAC_KEY=installation-key", "VAULTCMP_SECRET_CREDS_ID=the-secret-id"}, "render", dir)
			refused(t, r, "")
			assert.Contains(t, r.Stderr, tc.want)
			assert.Contains(t, r.Stderr, "is not read")
			for _, leaked := range []string{sidecarSecret, "installation-key", "the-secret-id"} {
				assert.NotContains(t, r.Stderr, leaked)
			}
			nothingReached(t, attacker)
		})
	}

	// The same error whether the named file exists or not: no oracle.
	missing := filepath.Join(t.TempDir(), "no-such-file")
	errFor := func(path string) string {
		dir := writeApp(t, hostileApp("http://127.0.0.1:9", "  caCertPath: "+path+"\n", appRoleSecretRef))
		r := runHostile(t, []string{"VAULTCMP_SECRET_CREDS_ID=x"}, "render", dir)
		return strings.ReplaceAll(strings.ReplaceAll(r.Stderr, path, "PATH"), dir, "DIR")
	}
	assert.Equal(t, lines(errFor(cacheFile)), lines(errFor(missing)), "the error tells whether the file exists")
}

// lines drops the summary line (its duration differs between runs).
func lines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, "duration=") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Row 1 (generate, and render with the allow-list): a credential goes only
// to an allowed address. Run as the sidecar runs generate, against the real
// apiserver (the service-account token it would mint) and the real Vault.
func TestHostileCredentialsStayHome(t *testing.T) {
	w := getArgo(t)
	tok, err := w.token(t.Context(), "argocd", "argocd-repo-server", nil)
	require.NoError(t, err)
	kubeconfig, err := w.cluster.WriteKubeconfig("hostile-sidecar", tok)
	require.NoError(t, err)
	k8sAuth := "  method: kubernetes\n  mount: kubernetes\n  kubernetes:\n    role: webapp-role\n    serviceAccount: webapp-sa\n    audiences: [vault]"

	generate := func(t *testing.T, dir string, env ...string) Run {
		t.Helper()
		cmd := exec.Command(vaultcmp, "generate")
		cmd.Dir = dir
		home := t.TempDir()
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + kubeconfig,
			"ARGOCD_APP_NAME=hostile", "ARGOCD_APP_NAMESPACE=webapp-ns", "VAULTCMP_HMAC_KEY=installation-key",
			"VAULTCMP_TOKEN_CACHE_DIR=" + filepath.Join(home, "tokens")}, env...)
		r, err := RunBounded(t.Context(), cmd, hostileBounds, nil)
		require.NoError(t, err)
		assertNoSecrets(t, r.Stderr)
		return r
	}

	t.Run("generate: the attacker's address is not in the allow-list", func(t *testing.T) {
		attacker := capture(t, Echo)
		r := generate(t, writeApp(t, hostileApp(attacker.Addr, "", k8sAuth)), "VAULTCMP_ALLOWED_VAULT_ADDRESSES="+vaultSrv.Addr)
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "no credential is sent to Vault at "+attacker.Addr)
		assert.Contains(t, r.Stderr, "VAULTCMP_ALLOWED_VAULT_ADDRESSES")
		nothingReached(t, attacker)
	})
	t.Run("generate: no allow-list, nothing leaves", func(t *testing.T) {
		attacker := capture(t, Echo)
		r := generate(t, writeApp(t, hostileApp(attacker.Addr, "", k8sAuth)))
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "VAULTCMP_ALLOWED_VAULT_ADDRESSES is not set")
		nothingReached(t, attacker)
	})
	t.Run("generate: the allowed Vault works", func(t *testing.T) {
		r := generate(t, writeApp(t, hostileApp(vaultSrv.Addr, "", k8sAuth)), "VAULTCMP_ALLOWED_VAULT_ADDRESSES="+vaultSrv.Addr)
		readsInCluster(t, r, "webapp-k8s-secret")
	})
	t.Run("render: the attacker's address is not in the allow-list", func(t *testing.T) {
		attacker := capture(t, Echo)
		r := runHostile(t, []string{"VAULTCMP_SECRET_CREDS_ID=the-secret-id", "VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr},
			"render", writeApp(t, hostileApp(attacker.Addr, "", appRoleSecretRef)))
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "not in VAULTCMP_ALLOWED_VAULT_ADDRESSES")
		assert.NotContains(t, r.Stderr, "the-secret-id")
		nothingReached(t, attacker)
	})
}

// Row 9: VAULT_TOKEN without VAULT_ADDR, and a redirect from Vault.
func TestHostileVaultToken(t *testing.T) {
	t.Run("VAULT_TOKEN without VAULT_ADDR", func(t *testing.T) {
		attacker := capture(t, Echo)
		r := runHostile(t, []string{"VAULT_TOKEN=hvs.the-ci-token"}, "render", writeApp(t, hostileApp(attacker.Addr, "", appRoleSecretRef)))
		assert.Equal(t, 2, r.Code, r.String())
		assert.Empty(t, r.Stdout)
		assert.Contains(t, r.Stderr, "VAULT_TOKEN is set but VAULT_ADDR is not")
		assert.NotContains(t, r.Stderr, "hvs.the-ci-token")
		nothingReached(t, attacker)
	})
	t.Run("a 307 to another host", func(t *testing.T) {
		attacker := capture(t, Echo)
		redirector := capture(t, Echo)
		redirector.SetRedirect(attacker.Addr)
		r := runHostile(t, []string{"VAULT_TOKEN=hvs.the-ci-token", "VAULT_ADDR=" + redirector.Addr},
			"render", writeApp(t, hostileApp("http://127.0.0.1:9", "", appRoleSecretRef)))
		refused(t, r, "")
		assert.NotEmpty(t, redirector.Requests(), "the render asked the redirector")
		nothingReached(t, attacker)
	})
	t.Run("a 307 to another host, AppRole login", func(t *testing.T) {
		attacker := capture(t, Echo)
		redirector := capture(t, Echo)
		redirector.SetRedirect(attacker.Addr)
		r := runHostile(t, []string{"VAULTCMP_SECRET_CREDS_ID=the-secret-id"},
			"render", writeApp(t, hostileApp(redirector.Addr, "", appRoleSecretRef)))
		refused(t, r, "")
		nothingReached(t, attacker)
	})
}

// Row 3: a Helm chart reads the sidecar's files through a symlink; a
// symlinked values file.
func TestHostileSymlinks(t *testing.T) {
	cacheFile := sidecarFile(t)
	chart := writeApp(t, map[string]string{
		".git/HEAD":  "",
		"Chart.yaml": "apiVersion: v2\nname: evil\nversion: 0.1.0\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loot}\ndata:\n" +
			"  token: {{ .Files.Get \"files/token\" | quote }}\n{{ (.Files.Glob \"cache/*\").AsConfig | indent 2 }}\n",
	})
	require.NoError(t, os.MkdirAll(filepath.Join(chart, "files"), 0o755))
	require.NoError(t, os.Symlink(cacheFile, filepath.Join(chart, "files", "token")))
	require.NoError(t, os.Symlink(filepath.Dir(cacheFile), filepath.Join(chart, "cache")))
	for _, cmd := range []string{"render", "validate"} {
		r := runHostile(t, []string{"VAULTCMP_HMAC_KEY=k"}, cmd, chart)
		assert.Equal(t, 1, r.Code, r.String())
		assert.NotContains(t, r.Stdout+r.Stderr, sidecarSecret, cmd)
		assert.Contains(t, r.Stdout+r.Stderr, "leads outside the repository", cmd)
	}

	values := writeApp(t, map[string]string{
		".git/HEAD":         "",
		"Chart.yaml":        "apiVersion: v2\nname: evil\nversion: 0.1.0\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loot}\ndata: {v: {{ .Values | toJson | quote }}}\n",
	})
	require.NoError(t, os.Symlink(cacheFile, filepath.Join(values, "values-prod.yaml")))
	r := runHostile(t, []string{"VAULTCMP_HMAC_KEY=k"}, "render", "--helm-values", "values-prod.yaml", values)
	refused(t, r, "")
	assert.Contains(t, r.Stderr, "leads outside the repository")
	assert.NotContains(t, r.Stderr, sidecarSecret)
}

// Row 4: a kustomization with remote resources: refused before anything is
// fetched, fast, even from a server that never answers.
func TestHostileKustomizeRemote(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "kustomization.yaml"), []byte("resources: [cm.yaml]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loot}\n"), 0o644))
	hang := capture(t, Hang)
	for _, tc := range []struct{ name, kustomization string }{
		{"http resource that never answers", "resources: ['" + hang.Addr + "/cm.yaml']\n"},
		{"git repository over http", "resources: ['" + hang.Addr + "/org/repo.git//deploy?ref=main']\n"},
		{"file:// git repository outside the app", "resources: ['file://" + outside + "']\n"},
		{"directory outside the repository", "resources: ['" + outside + "']\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeApp(t, map[string]string{".git/HEAD": "", "kustomization.yaml": tc.kustomization})
			for _, cmd := range []string{"render", "validate", "discover"} {
				r := runHostileWith(t, Bounds{Memory: 400 << 20, Wall: 10 * time.Second}, nil, []string{"VAULTCMP_HMAC_KEY=k"}, cmd, dir)
				assert.Empty(t, r.Killed, "%s: %s", cmd, r)
				assert.NotContains(t, r.Stdout, "loot", cmd)
				if cmd == "render" {
					refused(t, r, "")
				}
			}
			nothingReached(t, hang)
		})
	}
}

// Row 11: failed logins of many identities leave at most the striped lock
// files in the token cache.
func TestHostileTokenCacheHygiene(t *testing.T) {
	w := getArgo(t)
	tok, err := w.token(t.Context(), "argocd", "argocd-repo-server", nil)
	require.NoError(t, err)
	kubeconfig, err := w.cluster.WriteKubeconfig("hostile-cache", tok)
	require.NoError(t, err)
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultConnection\nmetadata: {name: default}\nspec: {address: %s}\n", vaultSrv.Addr)
	for i := range 200 {
		// 200 identities (one role each), none of which Vault knows.
		fmt.Fprintf(&b, "---\napiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: a%d}\nspec: {method: kubernetes, mount: kubernetes, kubernetes: {role: no-such-role-%d, serviceAccount: webapp-sa, audiences: [vault]}}\n", i, i)
		fmt.Fprintf(&b, "---\napiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: s%d}\nspec: {type: kv-v2, mount: secret, path: webapp/config, vaultAuthRef: a%d, destination: {name: s%d, create: true}}\n", i, i, i)
	}
	dir := writeApp(t, map[string]string{"app.yaml": b.String()})
	cache := filepath.Join(t.TempDir(), "tokens")
	cmd := exec.Command(vaultcmp, "generate")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + kubeconfig,
		"ARGOCD_APP_NAME=hostile", "ARGOCD_APP_NAMESPACE=webapp-ns", "VAULTCMP_HMAC_KEY=k",
		"VAULTCMP_TOKEN_CACHE_DIR=" + cache, "VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr}
	r, err := RunBounded(t.Context(), cmd, hostileBounds, nil)
	require.NoError(t, err)
	refused(t, r, "")
	assert.Contains(t, r.Stderr, "login auth/kubernetes/login")
	ents, err := os.ReadDir(cache)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(ents), 64, "files left in the token cache by 200 failed logins")
}
