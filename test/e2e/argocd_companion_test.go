package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tests of the companion's part as an Argo CD user sees it: the shipped
// health check on the carriers, in-cluster delivery (no value in Argo CD),
// refreshAfter (the companion hard-refreshes the Application), rollouts.

// watchArgoCD restarts the companion so that it hard-refreshes the
// Applications of this control plane (namespace ArgoNamespace, with the
// shipped Role there, as `kustomize edit set namespace` would install it);
// the default companion comes back when the test ends.
func (cw *companionWorld) watchArgoCD(t testing.TB) {
	t.Helper()
	require.NoError(t, applyCompanionRBAC(t.Context(), cw.argoWorld, ArgoNamespace, false))
	cw.companion.Kill()
	comp, err := cw.startCompanion(t.Context(), "--argocd-namespace="+ArgoNamespace)
	require.NoError(t, err)
	cw.companion = comp
	t.Cleanup(func() { cw.restart(t) })
}

// The shipped health check through Argo CD: a carrier is Progressing while
// the companion has not filled its Secret, Healthy once it has, Degraded
// with the companion's message (no value in it) when it cannot fill it.
// (Carriers only: one wave, so the sync does not wait for them.)
func TestArgoCDHealth(t *testing.T) {
	cw := getCompanion(t)
	c := getCD(t)
	const app, dir = "health", "apps/health"
	const good, bad = "vaultcmp-vds.health-db", "vaultcmp-vds.health-bad"
	files := example(t, "webapp", "deployment.yaml", "static-secret.yaml", "pki-secret.yaml", "dynamic-secret.yaml")
	files["db.yaml"] = vds("health-db", "creds/webapp-readonly", "health-db-secret", "")
	c.commit(t, under(dir, files), "health")

	// No companion: the carrier waits.
	cw.companion.Kill()
	t.Cleanup(func() {
		if cw.companion.Exited() {
			cw.restart(t)
		}
	})
	c.create(t, appSpec{name: app, path: dir, namespace: "webapp-ns", validate: true})
	out, err := c.sync(t, app)
	require.NoError(t, err, "%s", out)
	a := c.waitApp(t, app, 60*time.Second, "carrier Progressing", func(a *App) bool {
		s, _ := a.resourceHealth("Secret", good)
		return synced(a) && s == "Progressing"
	})
	_, msg := a.resourceHealth("Secret", good)
	assert.Equal(t, "Waiting for the vaultcmp companion", msg)
	assert.Equal(t, "Progressing", a.Status.Health.Status, "the app waits for its carrier")

	// The companion fills it: Healthy.
	cw.restart(t)
	c.waitApp(t, app, 60*time.Second, "carrier Healthy, app Healthy", func(a *App) bool {
		s, _ := a.resourceHealth("Secret", good)
		return s == "Healthy" && a.Status.Health.Status == "Healthy"
	})
	pass := c.secret(t, "webapp-ns", "health-db-secret").Data["password"]
	require.NotEmpty(t, pass)

	// A role Vault does not know: the companion cannot fill it, Degraded
	// with its message.
	c.commit(t, map[string]string{dir + "/bad.yaml": vds("health-bad", "creds/no-such-role", "health-bad-secret", "")}, "health: a role Vault does not have")
	c.hardRefresh(t, app)
	out, err = c.sync(t, app)
	require.NoError(t, err, "%s", out)
	a = c.waitApp(t, app, 60*time.Second, "carrier Degraded, app Degraded", func(a *App) bool {
		s, _ := a.resourceHealth("Secret", bad)
		return s == "Degraded" && a.Status.Health.Status == "Degraded"
	})
	_, msg = a.resourceHealth("Secret", bad)
	t.Logf("Degraded: %s", msg)
	assert.Contains(t, msg, "database/creds/no-such-role")
	s, _ := a.resourceHealth("Secret", good)
	assert.Equal(t, "Healthy", s, "the other carrier stays Healthy")
	raw, err := c.CLI(t.Context(), "app", "get", app, "-o", "json")
	require.NoError(t, err)
	assert.NotContains(t, raw, string(pass))
	assertNoSecrets(t, raw)
}

// secretValues are values that must never reach Argo CD: each raw and as
// base64 (a Secret's data in a manifest).
type secretValues map[string]string // name → value

// find names the values contained in b.
func (v secretValues) find(b []byte) []string {
	var found []string
	for name, val := range v {
		if bytes.Contains(b, []byte(val)) || bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte(val)))) {
			found = append(found, name)
		}
	}
	return found
}

// delivery: in-cluster, as the plugin parameter and as the per-object
// annotation: after sync and hard refresh, no value is in Argo CD's Redis
// (every key, decompressed), in `argocd app manifests` (git and live), or
// in the repo-server's answer; the companion fills the cluster Secrets. An
// inline Secret in the same app is the control: its value is found in
// Redis and in the repo-server's answer, so the scans do see values.
func TestArgoCDInCluster(t *testing.T) {
	cw := getCompanion(t)
	c := getCD(t)
	w := c.w
	kv := vaultSrv.Client.KVv2("secret")
	never := secretValues{"param": "incl-param-val-Hq7Zr", "annotation": "incl-annot-val-Pw5Tn"}
	control := secretValues{"inline": "inline-ctl-val-Wm3Xp"}
	for path, v := range map[string]string{"param": never["param"], "annotation": never["annotation"], "inline": control["inline"]} {
		_, err := kv.Put(t.Context(), "incl/"+path, map[string]any{"api_key": v})
		require.NoError(t, err)
	}
	inline := strings.NewReplacer("name: webapp-config", "name: control", "name: webapp-k8s-secret", "name: control-secret",
		"path: incl/annotation", "path: incl/inline", "  refreshAfter: 60s\n", "")
	apps := []struct {
		name, ns, path string
		params         map[string]string
		edit           func(map[string]string)
	}{
		{"incl-param", "incl-a", "incl/param", map[string]string{"delivery": "in-cluster"}, nil},
		{"incl-annot", "incl-b", "incl/annotation", nil, func(f map[string]string) {
			f["control.yaml"] = strings.Replace(inline.Replace(f["static-secret.yaml"]), "metadata:\n", "metadata:\n  annotations:\n    vaultcmp.io/delivery: inline\n", 1)
			f["static-secret.yaml"] = strings.Replace(f["static-secret.yaml"], "metadata:\n", "metadata:\n  annotations:\n    vaultcmp.io/delivery: in-cluster\n", 1)
		}},
	}
	for _, a := range apps {
		c.tenant(t, a.ns, "webapp-sa", a.ns+"-role", "secret/data/incl/*")
		files := seedStatic(t, a.ns, a.ns+"-role", a.path)
		if a.edit != nil {
			a.edit(files)
		}
		c.commit(t, under("apps/"+a.name, files), a.name)
		c.create(t, appSpec{name: a.name, path: "apps/" + a.name, namespace: a.ns, validate: true, params: a.params})
		out, err := c.sync(t, a.name)
		require.NoError(t, err, "%s\n%s", out, c.CMPLog())
		assert.Empty(t, never.find([]byte(out)))
	}
	start := time.Now()
	// The companion fills the cluster's Secrets.
	want := map[string]string{"incl-a": never["param"], "incl-b": never["annotation"]}
	for ns, v := range want {
		eventually(t, 60*time.Second, func() (bool, string) {
			s, err := w.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), "webapp-k8s-secret", metav1.GetOptions{})
			return err == nil && string(s.Data["api_key"]) == v, "Secret " + ns + "/webapp-k8s-secret filled by the companion"
		}, cw.companion)
	}
	assert.Equal(t, control["inline"], string(c.secret(t, "incl-b", "control-secret").Data["api_key"]))
	for _, a := range apps {
		c.hardRefresh(t, a.name)
		c.waitApp(t, a.name, 60*time.Second, "Synced", synced)
	}

	t.Logf("filled and hard-refreshed in %s", time.Since(start).Round(100*time.Millisecond))
	// Argo CD's Redis: every key.
	dump, gzipped, err := c.Redis.Dump(t.Context())
	require.NoError(t, err)
	var controlKeys []string
	for key, v := range dump {
		assert.Empty(t, never.find(v), "Redis key %q holds an in-cluster value", key)
		if len(control.find(v)) > 0 {
			controlKeys = append(controlKeys, key)
		}
	}
	t.Logf("Redis: %d keys, %d gzip values; the inline control value in %v", len(dump), gzipped, controlKeys)
	assert.NotEmpty(t, controlKeys, "the inline control value must be found in Redis (the scan sees the repo-server's cached answer)")
	assert.Positive(t, gzipped, "Argo CD compresses its cache (gzip)")

	for _, a := range apps {
		// argocd app manifests: the desired state (git) and the live one.
		for _, src := range []string{"git", "live"} {
			out, err := c.CLI(t.Context(), "app", "manifests", a.name, "--source", src)
			require.NoError(t, err)
			assert.Empty(t, never.find([]byte(out)), "argocd app manifests %s --source %s", a.name, src)
			assert.Contains(t, out, "vaultcmp-vss.webapp-config", "the carrier is in the %s manifests", src)
		}
		// The repo-server's answer: Argo CD's own GenerateManifests against
		// the plugin, with the Application's source.
		req := AppRequest{RepoURL: c.repo.URL, Path: "apps/" + a.name, AppName: a.name, Namespace: a.ns, Project: "default",
			Plugin: true, PluginName: "vaultcmp-v1"}
		for k, v := range a.params {
			req.Parameters = append(req.Parameters, map[string]any{"name": k, "string": v})
		}
		genStart := time.Now()
		res := w.cmp.Generate(t.Context(), req, false)
		t.Logf("%s: the repo-server's answer in %s", a.name, time.Since(genStart).Round(100*time.Millisecond))
		require.NoError(t, res.Err)
		b, err := json.Marshal(res.Manifests)
		require.NoError(t, err)
		assert.Empty(t, never.find(b), "the repo-server's answer for %s", a.name)
		for _, m := range res.Manifests {
			md, _ := m["metadata"].(map[string]any)
			assert.NotEqual(t, "webapp-k8s-secret", md["name"], "no destination Secret in the output of %s", a.name)
		}
		if a.name == "incl-annot" {
			assert.NotEmpty(t, control.find(b), "the control: the inline value is in the repo-server's answer")
		}
	}
}

// refreshAfter on an inline VaultStaticSecret (delivery: inline), a value changed in Vault, no
// commit and no hard refresh by anyone but the companion: the app goes
// OutOfSync within refreshAfter plus a margin, the diff shows the Secret
// and the checksum annotation but no value; a sync rolls the Deployment
// out once (one new ReplicaSet); a hard refresh and sync with nothing
// changed roll out nothing; with automated sync the next change is applied
// by itself, again with one new ReplicaSet.
func TestArgoCDRefreshAfter(t *testing.T) {
	cw := getCompanion(t)
	c := getCD(t)
	cw.watchArgoCD(t)
	const ns, app, dir, every = "ra-ns", "refresh-after", "apps/refresh-after", 10 * time.Second
	const carrier = "vaultcmp-vss.webapp-config"
	kv := vaultSrv.Client.KVv2("secret")
	_, err := kv.Put(t.Context(), "ra/config", map[string]any{"db_pass": "ra-pass-1-Tq8"})
	require.NoError(t, err)
	c.tenant(t, ns, "webapp-sa", "ra-role", "secret/data/ra/*")
	files := seedStatic(t, ns, "ra-role", "ra/config")
	files["static-secret.yaml"] = strings.Replace(files["static-secret.yaml"], "refreshAfter: 60s", "refreshAfter: 10s", 1)
	files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], "replicas: 3", "replicas: 0", 1) // no pods: nothing schedules them
	c.commit(t, under(dir, files), "refresh-after")
	c.create(t, appSpec{name: app, path: dir, namespace: ns, validate: true, params: inlineParams})
	out, err := c.sync(t, app)
	require.NoError(t, err, "%s", out)
	c.waitApp(t, app, 60*time.Second, "Synced, the carrier watched", func(a *App) bool {
		s, _ := a.resourceHealth("Secret", carrier)
		return synced(a) && s == "Healthy"
	})
	replicaSets := func(want int, what string) {
		t.Helper()
		eventually(t, 30*time.Second, func() (bool, string) { return c.replicaSets(t, ns, "webapp") == want, what }, cw.companion)
	}
	replicaSets(1, "the first ReplicaSet")

	change := func(v string) time.Time {
		t.Helper()
		_, err := kv.Put(t.Context(), "ra/config", map[string]any{"db_pass": v})
		require.NoError(t, err)
		return time.Now()
	}

	// Manual sync policy: OutOfSync by itself.
	at := change("ra-pass-2-Lm4")
	c.waitApp(t, app, every+50*time.Second, "OutOfSync without a hard refresh by the test", func(a *App) bool { return a.Status.Sync.Status == "OutOfSync" })
	t.Logf("OutOfSync %s after the change in Vault (refreshAfter %s)", time.Since(at).Round(100*time.Millisecond), every)
	assert.Contains(t, cw.eventsIn(t, ns, carrier), "ArgoCDRefresh")
	refreshConsumed(t, c, app)
	assertDiff(t, c, app, ns, "ra-pass-1-Tq8", "ra-pass-2-Lm4")
	replicaSets(1, "no rollout before the sync")
	_, err = c.sync(t, app)
	require.NoError(t, err)
	c.waitApp(t, app, 60*time.Second, "Synced", synced)
	assert.Equal(t, "ra-pass-2-Lm4", string(c.secret(t, ns, "webapp-k8s-secret").Data["db_pass"]))
	replicaSets(2, "one new ReplicaSet for the change")

	// Nothing changed: a hard refresh and a sync roll out nothing.
	a := c.hardRefresh(t, app)
	assert.Equal(t, "Synced", a.Status.Sync.Status)
	_, err = c.sync(t, app)
	require.NoError(t, err)
	// The companion checks Vault once more (a new nextAt in its state):
	// still nothing to do.
	next := nextCheck(t, c, ns, carrier)
	eventually(t, every+30*time.Second, func() (bool, string) {
		return nextCheck(t, c, ns, carrier) != next, "the companion's next check of Vault"
	}, cw.companion)
	c.waitApp(t, app, 10*time.Second, "Synced", synced)
	assert.Equal(t, 2, c.replicaSets(t, ns, "webapp"), "no new ReplicaSet without a change")

	// Automated: the next change is applied by itself. selfHeal is what
	// makes Argo CD sync again to a revision it already synced (the commit
	// did not change, only Vault).
	_, err = c.CLI(t.Context(), "app", "set", app, "--sync-policy", "automated", "--self-heal")
	require.NoError(t, err)
	at = change("ra-pass-3-Zc6")
	eventually(t, every+60*time.Second, func() (bool, string) {
		return string(c.secret(t, ns, "webapp-k8s-secret").Data["db_pass"]) == "ra-pass-3-Zc6", "the change applied by automated sync"
	}, cw.companion)
	t.Logf("applied %s after the change in Vault (automated)", time.Since(at).Round(100*time.Millisecond))
	c.waitApp(t, app, 60*time.Second, "Synced", synced)
	replicaSets(3, "one new ReplicaSet for the second change")
	raw, err := c.CLI(t.Context(), "app", "get", app, "-o", "json")
	require.NoError(t, err)
	for _, v := range []string{"ra-pass-1-Tq8", "ra-pass-2-Lm4", "ra-pass-3-Zc6"} {
		assert.NotContains(t, raw, v)
	}
}

// nextCheck is when the companion next checks a carrier (the nextAt of
// its vaultcmp.io/state annotation).
func nextCheck(t testing.TB, c *cdWorld, ns, carrier string) string {
	t.Helper()
	var st struct {
		NextAt string `json:"nextAt"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.secret(t, ns, carrier).Annotations["vaultcmp.io/state"]), &st))
	return st.NextAt
}

// assertDiff checks `argocd app diff`: a difference (exit 1) naming the
// inline Secret and the Deployment's checksum annotation, and none of
// values.
func assertDiff(t testing.TB, c *cdWorld, app, ns string, values ...string) {
	t.Helper()
	out, err := c.CLI(t.Context(), "app", "diff", app)
	var ce *CLIError
	require.True(t, errors.As(err, &ce) && ce.Code == 1, "argocd app diff exits 1 on a difference: %v", err)
	diff := ce.Output + out
	assert.Contains(t, diff, "/Secret "+ns+"/webapp-k8s-secret")
	assert.Contains(t, diff, "Deployment "+ns+"/webapp")
	assert.Contains(t, diff, "checksum.vaultcmp.io/webapp-k8s-secret")
	for _, v := range values {
		assert.NotContains(t, diff, v)
	}
}
