package e2e

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tests through a real Argo CD: `argocd app create` / `sync` / `get` and the
// Application's status. The Makefile's ARGO34_SMOKE names the subset that
// `make test` also runs on Argo CD 3.4, the oldest supported line.

// inlineParams choose delivery: inline: the tests of this file are about
// values rendered into the Secrets and applied by Argo CD (no companion).
var inlineParams = map[string]string{"delivery": "inline"}

// The seed's transformation example and the seed webapp's static secret,
// each in its own Application, as written (apart from the Vault address),
// delivered inline: synced by Argo CD, the Secrets in the cluster hold the
// Vault data.
func TestArgoCDStatic(t *testing.T) {
	c := getCD(t)
	t.Run("webapp-transform", func(t *testing.T) {
		c.commit(t, under("apps/webapp-transform", example(t, "webapp-transform")), "webapp-transform")
		c.create(t, appSpec{name: "webapp-transform", path: "apps/webapp-transform", namespace: "webapp-ns", validate: true, params: inlineParams})
		out, err := c.sync(t, "webapp-transform")
		require.NoError(t, err, "%s\n%s", out, c.CMPLog())
		c.waitApp(t, "webapp-transform", 60*time.Second, "Synced", synced)
		data := c.secret(t, "webapp-ns", "webapp-k8s-secret").Data
		want := fmt.Sprintf("postgresql://%s:%s@%s:5432/appdb\n", webappConfig["db_user"], webappConfig["db_pass"], webappConfig["db_host"])
		assert.Equal(t, want, string(data["DATABASE_URL"]))
		assert.Equal(t, fmt.Sprintf("redis://:%s@redis:6379/0\n", webappConfig["redis_pass"]), string(data["REDIS_URL"]))
		assert.NotContains(t, data, "internal_key")
		assert.NotContains(t, data, "_raw")
		assertNoSecrets(t, out)
	})
	t.Run("seed-static", func(t *testing.T) {
		c.commit(t, under("apps/seed-static", example(t, "webapp", "dynamic-secret.yaml", "pki-secret.yaml")), "seed webapp, static part")
		c.create(t, appSpec{name: "seed-static", path: "apps/seed-static", namespace: "webapp-ns", validate: true, params: inlineParams})
		out, err := c.sync(t, "seed-static")
		require.NoError(t, err, "%s\n%s", out, c.CMPLog())
		app := c.waitApp(t, "seed-static", 60*time.Second, "Synced", synced)
		s := c.secret(t, "webapp-ns", "webapp-k8s-secret")
		for k, v := range webappConfig {
			assert.Equal(t, v, string(s.Data[k]), k)
		}
		assert.Equal(t, "webapp", s.Labels["app"])
		d, err := c.w.cluster.Admin.AppsV1().Deployments("webapp-ns").Get(t.Context(), "webapp", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Len(t, d.Spec.Template.Annotations["checksum.vaultcmp.io/webapp-k8s-secret"], 64)
		kinds := map[string]bool{}
		for _, r := range app.Status.Resources {
			kinds[r.Kind] = true
		}
		assert.Equal(t, map[string]bool{"Secret": true, "Deployment": true}, kinds, "Vault objects never reach the cluster")
		assertNoSecrets(t, out)
	})
}

// Failure modes as an Argo CD user sees them: generation fails, `argocd app
// sync` fails with vaultcmp's message in the Application's conditions, no
// secret value in it, and nothing in the cluster is deleted or emptied
// although the app prunes and self-heals.
func TestArgoCDFailures(t *testing.T) {
	c := getCD(t)
	const ns, app, dir = "fail-ns", "failures", "apps/failures"
	c.tenant(t, ns, "webapp-sa", "fail-role", "secret/data/webapp/*")
	good := seedStatic(t, ns, "fail-role", "webapp/config")
	good["keep.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep-me\n  namespace: " + ns + "\ndata:\n  a: b\n"
	c.commit(t, under(dir, good), "failures: good")
	c.create(t, appSpec{name: app, path: dir, namespace: ns, auto: true, validate: true, params: inlineParams})
	c.waitApp(t, app, 90*time.Second, "Synced", synced)
	before := c.secret(t, ns, "webapp-k8s-secret")
	require.Equal(t, webappConfig["db_pass"], string(before.Data["db_pass"]))

	cases := []struct {
		name   string
		file   string
		change func(string) string
		want   []string
	}{
		{"vault down", "connection.yaml", func(s string) string { return strings.ReplaceAll(s, vaultSrv.Addr, c.vaultDown) },
			[]string{"Vault cannot be reached", "VaultStaticSecret fail-ns/webapp-config"}},
		{"403", "static-secret.yaml", func(s string) string { return strings.Replace(s, "path: webapp/config", "path: forbidden/config", 1) },
			[]string{"HTTP 403", "secret/data/forbidden/config"}},
		{"another namespace", "static-secret.yaml", func(s string) string {
			return strings.Replace(s, "namespace: "+ns, "namespace: other-ns", 1)
		}, []string{`the app's destination namespace is "fail-ns"`}},
		{"bad template", "static-secret.yaml", func(s string) string {
			return strings.Replace(s, "    type: Opaque\n", "    type: Opaque\n    transformation:\n      templates:\n        x:\n          text: '{{ fail (get .Secrets \"db_pass\") }}'\n", 1)
		}, []string{"spec.destination.transformation"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.commit(t, map[string]string{dir + "/" + tc.file: tc.change(good[tc.file])}, "failures: "+tc.name)
			_, err := c.CLI(t.Context(), "app", "get", app, "--hard-refresh", "-o", "json")
			require.NoError(t, err)
			got := c.waitApp(t, app, 90*time.Second, "a ComparisonError", func(a *App) bool {
				return strings.Contains(a.ConditionText(), tc.want[0])
			})
			cond := got.ConditionText()
			for _, w := range tc.want {
				assert.Contains(t, cond, w)
			}
			assert.Contains(t, cond, "ComparisonError")
			assertNoSecrets(t, cond)

			out, err := c.sync(t, app)
			var ce *CLIError
			require.True(t, errors.As(err, &ce), "the sync must fail: %v\n%s", err, out)
			assert.Contains(t, ce.Output, tc.want[0])
			assertNoSecrets(t, ce.Output)

			// Nothing deleted or emptied.
			after := c.secret(t, ns, "webapp-k8s-secret")
			assert.Equal(t, before.Data, after.Data)
			_, err = c.w.cluster.Admin.CoreV1().ConfigMaps(ns).Get(t.Context(), "keep-me", metav1.GetOptions{})
			assert.NoError(t, err)
			_, err = c.w.cluster.Admin.AppsV1().Deployments(ns).Get(t.Context(), "webapp", metav1.GetOptions{})
			assert.NoError(t, err)

			// Fixed in git: the app recovers by itself.
			c.commit(t, map[string]string{dir + "/" + tc.file: good[tc.file]}, "failures: fixed "+tc.name)
			_, err = c.CLI(t.Context(), "app", "get", app, "--hard-refresh", "-o", "json")
			require.NoError(t, err)
			c.waitApp(t, app, 90*time.Second, "Synced without conditions", func(a *App) bool {
				return synced(a) && len(a.Status.Conditions) == 0
			})
		})
	}
}

// Two Applications in two namespaces, each with its own service account
// and Vault role: each gets its own data; neither can read the other's
// paths, even right after the other's token was cached.
func TestArgoCDTenancy(t *testing.T) {
	c := getCD(t)
	kv := vaultSrv.Client.KVv2("secret")
	for _, team := range []string{"team-a", "team-b"} {
		_, err := kv.Put(t.Context(), team+"/config", map[string]any{"owner": team, "token": team + "-tok-Qz8"})
		require.NoError(t, err)
		c.tenant(t, team, "app-sa", team+"-role", "secret/data/"+team+"/*")
	}
	require.NoError(t, os.RemoveAll(c.tokenDir))
	for _, team := range []string{"team-a", "team-b"} {
		files := seedStatic(t, team, team+"-role", team+"/config")
		files["auth.yaml"] = strings.ReplaceAll(files["auth.yaml"], "serviceAccount: webapp-sa", "serviceAccount: app-sa")
		c.commit(t, under("apps/"+team, files), team)
		c.create(t, appSpec{name: team, path: "apps/" + team, namespace: team, validate: true, params: inlineParams})
		out, err := c.sync(t, team)
		require.NoError(t, err, "%s", out)
		c.waitApp(t, team, 60*time.Second, "Synced", synced)
		s := c.secret(t, team, "webapp-k8s-secret")
		assert.Equal(t, team, string(s.Data["owner"]))
	}
	entries, err := os.ReadDir(c.tokenDir)
	require.NoError(t, err)
	var cached []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") { // tokens; the rest are lock files
			cached = append(cached, e.Name())
		}
	}
	assert.Len(t, cached, 2, "one cached token per identity")

	// team-b's identity asking for team-a's path: Vault refuses, although
	// team-a's token is in the same cache.
	steal := seedStatic(t, "team-b", "team-b-role", "team-a/config")
	steal["auth.yaml"] = strings.ReplaceAll(steal["auth.yaml"], "serviceAccount: webapp-sa", "serviceAccount: app-sa")
	steal["static-secret.yaml"] = strings.ReplaceAll(steal["static-secret.yaml"], "name: webapp-k8s-secret", "name: stolen")
	// team-b's service account claiming team-a's role: the login is refused.
	borrow := seedStatic(t, "team-b", "team-a-role", "team-a/config")
	borrow["auth.yaml"] = strings.ReplaceAll(borrow["auth.yaml"], "serviceAccount: webapp-sa", "serviceAccount: app-sa")
	borrow["static-secret.yaml"] = strings.ReplaceAll(borrow["static-secret.yaml"], "name: webapp-k8s-secret", "name: borrowed")
	c.commit(t, merge(under("apps/steal", steal), under("apps/borrow", borrow)), "cross-tenant reads")
	for _, tc := range []struct{ name, want string }{
		{"steal", "secret/data/team-a/config"},
		{"borrow", "login auth/kubernetes/login"},
	} {
		c.create(t, appSpec{name: tc.name, path: "apps/" + tc.name, namespace: "team-b", params: inlineParams})
		out, err := c.sync(t, tc.name)
		require.Error(t, err, "%s", out)
		app := c.waitApp(t, tc.name, 60*time.Second, "a ComparisonError", func(a *App) bool { return a.ConditionText() != "" })
		assert.Contains(t, app.ConditionText(), tc.want)
		assert.Contains(t, app.ConditionText(), "HTTP 403")
		assert.NotContains(t, app.ConditionText(), "team-a-tok-Qz8")
	}
	for _, name := range []string{"stolen", "borrowed"} {
		_, err := c.w.cluster.Admin.CoreV1().Secrets("team-b").Get(t.Context(), name, metav1.GetOptions{})
		assert.Error(t, err, "no Secret %s may exist", name)
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// GitOps fidelity of inline static secrets: the app stays Synced through
// hard refreshes, an unrelated commit and sync, and several reconcile
// cycles of automated selfHeal+prune; nothing is rewritten in the cluster
// and generate's output is byte-identical.
func TestArgoCDFidelity(t *testing.T) {
	c := getCD(t)
	const ns, app, dir = "fid-ns", "fidelity", "apps/fidelity"
	c.tenant(t, ns, "webapp-sa", "fid-role", "secret/data/webapp/*")
	c.commit(t, under(dir, seedStatic(t, ns, "fid-role", "webapp/config")), "fidelity")
	c.create(t, appSpec{name: app, path: dir, namespace: ns, auto: true, validate: true, params: inlineParams})
	first := c.waitApp(t, app, 90*time.Second, "Synced", synced)
	secretRV := c.secret(t, ns, "webapp-k8s-secret").ResourceVersion
	dep := func() *metav1.ObjectMeta {
		d, err := c.w.cluster.Admin.AppsV1().Deployments(ns).Get(t.Context(), "webapp", metav1.GetOptions{})
		require.NoError(t, err)
		return &d.ObjectMeta
	}
	depRV := dep().ResourceVersion
	manifests := func() string {
		out, err := c.CLI(t.Context(), "app", "manifests", app, "--source", "git")
		require.NoError(t, err)
		return out
	}
	m1 := manifests()

	// Hard refresh: generate runs again, same bytes, still Synced.
	for i := 0; i < 3; i++ {
		a := c.hardRefresh(t, app)
		assert.Equal(t, "Synced", a.Status.Sync.Status, "cycle %d", i)
		assert.Empty(t, a.Status.Conditions, "cycle %d", i)
	}
	assert.Equal(t, m1, manifests(), "generate's output must be byte-identical")

	// An unrelated commit and a sync.
	rev := c.commit(t, map[string]string{"README.md": "unrelated change\n"}, "unrelated")
	_, err := c.sync(t, app)
	require.NoError(t, err)
	a := c.waitApp(t, app, 60*time.Second, "Synced at the new revision", func(a *App) bool { return synced(a) && a.Status.Sync.Revision == rev })
	history := len(a.Status.History)

	// Several reconcile cycles (every 10 s here) with selfHeal and prune.
	time.Sleep(25 * time.Second)
	a = c.waitApp(t, app, 10*time.Second, "Synced", synced)
	assert.Equal(t, history, len(a.Status.History), "no sync of its own: nothing to heal")
	assert.Equal(t, secretRV, c.secret(t, ns, "webapp-k8s-secret").ResourceVersion, "the Secret was never rewritten")
	assert.Equal(t, depRV, dep().ResourceVersion, "the Deployment was never rewritten (no rollout)")
	assert.Equal(t, m1, manifests())
	assert.GreaterOrEqual(t, len(a.Status.History), len(first.Status.History))
}

// A value changed in Vault, no commit: a hard refresh shows the app
// OutOfSync, the diff names the Secret and the Deployment's checksum
// annotation but no value; a sync applies it.
func TestArgoCDVaultChange(t *testing.T) {
	c := getCD(t)
	const ns, app, dir = "chg-ns", "vault-change", "apps/vault-change"
	kv := vaultSrv.Client.KVv2("secret")
	_, err := kv.Put(t.Context(), "change/config", map[string]any{"db_pass": "old-pass-Jm3"})
	require.NoError(t, err)
	c.tenant(t, ns, "webapp-sa", "chg-role", "secret/data/change/*")
	c.commit(t, under(dir, seedStatic(t, ns, "chg-role", "change/config")), "vault-change")
	c.create(t, appSpec{name: app, path: dir, namespace: ns, validate: true, params: inlineParams})
	_, err = c.sync(t, app)
	require.NoError(t, err)
	c.waitApp(t, app, 60*time.Second, "Synced", synced)
	sum := func() string {
		d, err := c.w.cluster.Admin.AppsV1().Deployments(ns).Get(t.Context(), "webapp", metav1.GetOptions{})
		require.NoError(t, err)
		return d.Spec.Template.Annotations["checksum.vaultcmp.io/webapp-k8s-secret"]
	}
	oldSum := sum()

	_, err = kv.Put(t.Context(), "change/config", map[string]any{"db_pass": "new-pass-Vb6"})
	require.NoError(t, err)
	_, err = c.CLI(t.Context(), "app", "get", app, "--hard-refresh", "-o", "json")
	require.NoError(t, err)
	c.waitApp(t, app, 60*time.Second, "OutOfSync", func(a *App) bool { return a.Status.Sync.Status == "OutOfSync" })
	assertDiff(t, c, app, ns, "old-pass-Jm3", "new-pass-Vb6")

	_, err = c.sync(t, app)
	require.NoError(t, err)
	c.waitApp(t, app, 60*time.Second, "Synced", synced)
	assert.Equal(t, "new-pass-Vb6", string(c.secret(t, ns, "webapp-k8s-secret").Data["db_pass"]))
	assert.NotEqual(t, oldSum, sum(), "the checksum changes with the data")
}
