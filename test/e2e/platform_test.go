package e2e

import (
	"encoding/json"
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

// The operator's namespace as vaultcmp assumes it by default (VSO's).
const platformNS = "vault-secrets-operator-system"

// platformVSS is a VaultStaticSecret of the seed's secret, without
// namespace, with the given extra spec lines (a vaultAuthRef or none).
func platformVSS(name, extra string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: %s
spec:
  type: kv-v2
  mount: secret
  path: webapp/config
%s  destination:
    name: %s
    create: true
`, name, extra, name)
}

// platformConn is the operator namespace's default VaultConnection.
func platformConn() string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata:
  name: default
  namespace: %s
spec:
  address: %s
`, platformNS, vaultSrv.Addr)
}

// k8sVaultAuth is a VaultAuth of the seed's kubernetes role (webapp-sa of
// webapp-ns) in namespace ns, with extra spec lines.
func k8sVaultAuth(ns, name, extra string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: %s
  namespace: %s
spec:
%s  method: kubernetes
  mount: kubernetes
  kubernetes:
    role: webapp-role
    serviceAccount: webapp-sa
    audiences: [vault]
`, name, ns, extra)
}

// writePlatform writes the platform objects as a ConfigMap mounted as a
// volume lays them out: each key a symlink into the hidden ..data.
func writePlatform(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_12_08_00_00_00.000000001")
	require.NoError(t, os.Mkdir(data, 0o755))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(data, name), []byte(content), 0o644))
	}
	require.NoError(t, os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")))
	for name := range files {
		require.NoError(t, os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)))
	}
	return dir
}

// TestPlatformObjects: VSO's platform objects (the operator namespace's
// defaults, VaultAuths of a platform namespace with allowedNamespaces,
// VaultAuthGlobals) given to `vaultcmp generate` as the sidecar has them —
// a ConfigMap mounted at $VAULTCMP_PLATFORM_DIR — against the real Vault
// and apiserver, with the shipped RBAC; logins are always the app's own
// service account's, counted in Vault's audit log.
func TestPlatformObjects(t *testing.T) {
	w := getArgo(t)
	tok, err := w.token(t.Context(), "argocd", "argocd-repo-server", nil)
	require.NoError(t, err)
	kubeconfig, err := w.cluster.WriteKubeconfig("platform-sidecar", tok)
	require.NoError(t, err)
	// Headers of the login requests are recorded in the audit log.
	for _, h := range []string{"x-own", "x-method", "x-global"} {
		_, err := vaultSrv.Client.Logical().WriteWithContext(t.Context(), "sys/config/auditing/request-headers/"+h, map[string]any{"hmac": false})
		require.NoError(t, err)
	}

	generate := func(t *testing.T, platform map[string]string, files map[string]string) Run {
		t.Helper()
		cmd := exec.Command(vaultcmp, "generate")
		cmd.Dir = writeApp(t, files)
		home := t.TempDir()
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + kubeconfig,
			"ARGOCD_APP_NAME=platform", "ARGOCD_APP_NAMESPACE=webapp-ns", "VAULTCMP_HMAC_KEY=installation-key",
			"VAULTCMP_TOKEN_CACHE_DIR=" + filepath.Join(home, "tokens"),
			"VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr, "VAULTCMP_PLATFORM_DIR=" + writePlatform(t, platform)}
		r, err := RunBounded(t.Context(), cmd, hostileBounds, nil)
		require.NoError(t, err)
		assertNoSecrets(t, r.Stderr)
		return r
	}
	logins := func() int { return countLogins(t, w.audit, "auth/kubernetes/login") }
	reads := func(t *testing.T, r Run, name string) {
		t.Helper()
		readsInCluster(t, r, name)
	}

	t.Run("an app without refs uses the operator namespace's default VaultConnection and VaultAuth", func(t *testing.T) {
		before := logins()
		r := generate(t, map[string]string{"connection.yaml": platformConn(), "auth.yaml": k8sVaultAuth(platformNS, "default", "")},
			map[string]string{"vss.yaml": platformVSS("plain-defaults", "")})
		reads(t, r, "plain-defaults")
		assert.Equal(t, before+1, logins(), "one login, as the app's own service account")
	})

	shared := func(allowed string) map[string]string {
		return map[string]string{"connection.yaml": platformConn(), "shared.yaml": k8sVaultAuth("platform-team", "shared", allowed)}
	}
	t.Run("a platform VaultAuth that does not allow the app's namespace: refused, no login", func(t *testing.T) {
		before := logins()
		for _, allowed := range []string{"", "  allowedNamespaces: [other-ns]\n"} {
			r := generate(t, shared(allowed), map[string]string{"vss.yaml": platformVSS("denied", "  vaultAuthRef: platform-team/shared\n")})
			assert.Equal(t, 1, r.Code, r.String())
			assert.Contains(t, r.Stderr, `VaultAuth platform-team/shared does not allow use from namespace "webapp-ns"`)
			assert.Empty(t, r.Stdout)
		}
		assert.Equal(t, before, logins(), "no login was made")
	})
	t.Run("a platform VaultAuth whose allowedNamespaces lists the app's namespace", func(t *testing.T) {
		before := logins()
		r := generate(t, shared("  allowedNamespaces: [webapp-ns]\n"), map[string]string{"vss.yaml": platformVSS("allowed", "  vaultAuthRef: platform-team/shared\n")})
		reads(t, r, "allowed")
		assert.Equal(t, before+1, logins())
	})

	// A VaultAuthGlobal of the platform supplies method, mount and the
	// kubernetes block; the app's VaultAuth names it with a merge strategy
	// for headers, seen on the login request in the audit log.
	globalObj := `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuthGlobal
metadata:
  name: team
  namespace: platform-team
spec:
  allowedNamespaces: [webapp-ns]
  defaultAuthMethod: kubernetes
  defaultMount: kubernetes
  headers: {X-Global: g}
  kubernetes:
    role: webapp-role
    serviceAccount: webapp-sa
    audiences: [vault]
    headers: {X-Method: m}
`
	viaGlobal := func(strategy, own string) string {
		return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: va
spec:
  vaultAuthGlobalRef:
    name: team
    namespace: platform-team
    mergeStrategy: {headers: %s}
%s`, strategy, own)
	}
	for _, tc := range []struct {
		strategy, own string
		want          map[string]string
	}{
		{"union", "  headers: {X-Own: o}\n", map[string]string{"x-own": "o", "x-method": "m", "x-global": "g"}},
		{"replace", "", map[string]string{"x-method": "m"}},
		{"none", "  headers: {X-Own: o}\n", map[string]string{"x-own": "o"}},
	} {
		t.Run("VaultAuthGlobal, headers "+tc.strategy, func(t *testing.T) {
			before := logins()
			r := generate(t, map[string]string{"connection.yaml": platformConn(), "global.yaml": globalObj},
				map[string]string{"auth.yaml": viaGlobal(tc.strategy, tc.own), "vss.yaml": platformVSS("global-"+tc.strategy, "  vaultAuthRef: va\n")})
			reads(t, r, "global-"+tc.strategy)
			require.Equal(t, before+1, logins())
			assert.Equal(t, tc.want, lastLoginHeaders(t, w.audit, "auth/kubernetes/login"))
		})
	}
	t.Run("VaultAuthGlobal: an incomplete VaultAuth fails at generate, naming the field, with no login", func(t *testing.T) {
		before := logins()
		incomplete := strings.Replace(globalObj, "    role: webapp-role\n", "", 1)
		r := generate(t, map[string]string{"connection.yaml": platformConn(), "global.yaml": incomplete},
			map[string]string{"auth.yaml": viaGlobal("none", ""), "vss.yaml": platformVSS("incomplete", "  vaultAuthRef: va\n")})
		assert.Equal(t, 1, r.Code, r.String())
		assert.Contains(t, r.Stderr, "spec.kubernetes.role: Required value")
		assert.Equal(t, before, logins())
	})
}

// lastLoginHeaders are the audited headers of the last request to path.
func lastLoginHeaders(t testing.TB, audit, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(audit)
	require.NoError(t, err)
	var last map[string][]string
	for _, line := range strings.Split(string(b), "\n") {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path    string              `json:"path"`
				Headers map[string][]string `json:"headers"`
			} `json:"request"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Type == "request" && e.Request.Path == path {
			last = e.Request.Headers
		}
	}
	out := map[string]string{}
	for k, v := range last {
		out[k] = strings.Join(v, ",")
	}
	return out
}

// TestPlatformCompanion: an in-cluster VaultStaticSecret without refs,
// resolved through the platform's default VaultAuth, which takes its
// method, mount and kubernetes block from the operator namespace's
// default VaultAuthGlobal (allowDefault), and transformed by a platform
// SecretTransformation: the carrier carries the merged result, and the real companion, which has no platform objects, fills
// the Secret logging in as the app's own service account.
func TestPlatformCompanion(t *testing.T) {
	cw := getCompanion(t)
	platform := writePlatform(t, map[string]string{
		"connection.yaml": platformConn(),
		"auth.yaml": fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: default, namespace: %s}
spec:
  vaultAuthGlobalRef: {allowDefault: true}
`, platformNS),
		"global.yaml": fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuthGlobal
metadata: {name: default, namespace: %s}
spec:
  defaultAuthMethod: kubernetes
  defaultMount: kubernetes
  kubernetes: {role: webapp-role, serviceAccount: webapp-sa, audiences: [vault]}
`, platformNS),
		// A shared SecretTransformation of a platform namespace.
		"st.yaml": `apiVersion: secrets.hashicorp.com/v1beta1
kind: SecretTransformation
metadata: {name: dsn, namespace: platform-team}
spec:
  templates:
    dsn: {text: 'postgres://{{ .Secrets.db_user }}@{{ .Secrets.db_host }}'}
`,
	})
	vss := strings.Replace(platformVSS("platform-incluster", ""), "metadata:\n", "metadata:\n  annotations:\n    vaultcmp.io/delivery: in-cluster\n", 1)
	vss = strings.Replace(vss, "    create: true\n", "    create: true\n    transformation:\n      transformationRefs: [{name: dsn, namespace: platform-team}]\n", 1)
	dir := writeApp(t, map[string]string{"vss.yaml": vss})
	// render itself reads with the root token; the carrier carries the
	// platform's merged VaultAuth, which only the companion uses.
	r := run(t, rootEnv("VAULTCMP_HMAC_KEY="+companionHMACKey), "render", "-n", "webapp-ns", "--platform-dir", platform, dir)
	require.Equal(t, 0, r.code, r.stderr)
	objs := docs(t, r.stdout)
	applyObjects(t, objs, "webapp-ns", false)
	s := cw.waitData(t, "platform-incluster", "db_pass", 30*time.Second)
	assert.Equal(t, webappConfig["db_pass"], string(s.Data["db_pass"]))
	assert.Equal(t, "postgres://webapp-user-Kp1@db.internal", string(s.Data["dsn"]), "the platform's SecretTransformation, carried in the contract")
	cw.deleteCarrier(t, "vaultcmp-vss.platform-incluster")
}

// TestPlatformRender: `vaultcmp render --platform-dir` against the real
// Vault (AppRole, the secret-id from the environment as render reads
// Secrets): the operator's default objects for an app without refs, a
// platform VaultAuth refused to a namespace its allowedNamespaces does not
// list — no login reaches Vault's audit log — and allowed to one it lists.
func TestPlatformRender(t *testing.T) {
	roleID, secretID := setupAppRole(t.Context(), t)
	audit, err := vaultSrv.EnableAudit(t.Context(), "platform-render")
	require.NoError(t, err)
	logins := func() int { return countLogins(t, audit, "auth/approle/login") }
	appRole := func(ns, name, extra string) string {
		return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: %s, namespace: %s}
spec:
%s  method: appRole
  mount: approle
  appRole: {roleId: %q, secretRef: approle-creds}
`, name, ns, extra, roleID)
	}
	render := func(t *testing.T, platform map[string]string, vssExtra string) result {
		t.Helper()
		dir := writeApp(t, map[string]string{"vss.yaml": platformVSS("rendered", vssExtra)})
		return run(t, []string{"VAULTCMP_HMAC_KEY=k", "VAULTCMP_SECRET_APPROLE_CREDS_ID=" + secretID},
			"render", "--delivery=inline", "-n", "webapp-ns", "--platform-dir", writePlatform(t, platform), dir)
	}
	t.Run("no refs: the operator namespace's default VaultConnection and VaultAuth", func(t *testing.T) {
		before := logins()
		r := render(t, map[string]string{"conn.yaml": platformConn(), "auth.yaml": appRole(platformNS, "default", "")}, "")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, webappConfig["db_pass"], secretData(t, find(t, docs(t, r.stdout), "Secret", "rendered"))["db_pass"])
		assert.Len(t, docs(t, r.stdout), 1, "platform objects are not output")
		assert.Equal(t, before+1, logins())
		assert.NotContains(t, r.stderr, secretID)
	})
	t.Run("a platform VaultAuth that does not allow the namespace: refused, no login", func(t *testing.T) {
		before := logins()
		for _, allowed := range []string{"", "  allowedNamespaces: [other-ns]\n"} {
			r := render(t, map[string]string{"conn.yaml": platformConn(), "auth.yaml": appRole("platform-team", "shared", allowed)}, "  vaultAuthRef: platform-team/shared\n")
			assert.Equal(t, 1, r.code, r.stderr)
			assert.Contains(t, r.stderr, "does not allow use from namespace")
			assert.Contains(t, r.stderr, "platform-team/shared")
			assert.Empty(t, r.stdout)
		}
		assert.Equal(t, before, logins(), "no login was made")
	})
	t.Run("a platform VaultAuth that lists the namespace", func(t *testing.T) {
		before := logins()
		r := render(t, map[string]string{"conn.yaml": platformConn(), "auth.yaml": appRole("platform-team", "shared", "  allowedNamespaces: [webapp-ns]\n")}, "  vaultAuthRef: platform-team/shared\n")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, before+1, logins())
	})
	t.Run("a bad platform object fails the run, naming its file", func(t *testing.T) {
		r := render(t, map[string]string{"bad.yaml": strings.Replace(platformConn(), "  address:", "  bogus: 1\n  address:", 1)}, "")
		assert.Equal(t, 2, r.code, r.stderr)
		assert.Contains(t, r.stderr, "bad.yaml")
		assert.Contains(t, r.stderr, "spec.bogus")
	})
}
