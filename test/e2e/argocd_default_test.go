package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tests of the default delivery (in-cluster) as an Argo CD user sees it;
// the seed's webapp under the default is TestArgoCDSeedWebapp.

// companionWrite is when the companion last wrote s (its managedFields
// entry: the time the Secret got its data from the companion).
func companionWrite(t testing.TB, s *corev1.Secret) metav1.Time {
	t.Helper()
	for _, mf := range s.ManagedFields {
		if mf.Manager == "vaultcmp-companion" && mf.Time != nil {
			return *mf.Time
		}
	}
	t.Fatalf("Secret %s/%s: no managedFields entry of vaultcmp-companion", s.Namespace, s.Name)
	return metav1.Time{}
}

// valueCounts are how many secret values were found in each of Argo CD's
// places.
type valueCounts struct{ redis, manifests, repoServer int }

// noValueInArgoCD looks for values in every Redis key (decompressed), in
// `argocd app manifests` (git and live) and in the repo-server's answer
// (Argo CD's GenerateManifests against the plugin, default parameters),
// asserts that none is there, and returns the counts.
func noValueInArgoCD(t *testing.T, c *cdWorld, app, ns, path string, values secretValues) valueCounts {
	t.Helper()
	var n valueCounts
	dump, gzipped, err := c.Redis.Dump(t.Context())
	require.NoError(t, err)
	for key, v := range dump {
		found := values.find(v)
		n.redis += len(found)
		assert.Empty(t, found, "Redis key %q holds secret values", key)
	}
	t.Logf("Redis: %d keys (%d gzip values) scanned", len(dump), gzipped)
	for _, src := range []string{"git", "live"} {
		out, err := c.CLI(t.Context(), "app", "manifests", app, "--source", src)
		require.NoError(t, err)
		found := values.find([]byte(out))
		n.manifests += len(found)
		assert.Empty(t, found, "argocd app manifests %s --source %s", app, src)
	}
	req := AppRequest{RepoURL: c.repo.URL, Path: path, AppName: app, Namespace: ns, Project: "default", Plugin: true, PluginName: "vaultcmp-v1"}
	res := c.w.cmp.Generate(t.Context(), req, false)
	require.NoError(t, res.Err)
	b, err := json.Marshal(res.Manifests)
	require.NoError(t, err)
	found := values.find(b)
	n.repoServer = len(found)
	assert.Empty(t, found, "the repo-server's answer for %s", app)
	return n
}

// The default delivery with refreshAfter, no commit and no sync: a value
// changed in Vault reaches the Secret within refreshAfter plus a margin,
// written in place by the companion, with exactly one rollout (one new
// ReplicaSet); Argo CD shows the change by itself (the companion's hard
// refresh) as a diff of the carrier's KV version, with no value in it and
// no sync made. With automated sync (selfHeal) the app settles back to
// Synced by itself and nothing rolls out a second time or rewrites the
// Secret; the next change is applied the same way, again with one rollout.
func TestArgoCDInClusterRefreshAfter(t *testing.T) {
	cw := getCompanion(t)
	c := getCD(t)
	cw.watchArgoCD(t)
	const ns, app, dir, every = "icr-ns", "incluster-refresh", "apps/incluster-refresh", 10 * time.Second
	const carrier = "vaultcmp-vss.webapp-config"
	const margin = 15 * time.Second
	kv := vaultSrv.Client.KVv2("secret")
	pass := []string{"icr-pass-1-Hx4", "icr-pass-2-Rk7", "icr-pass-3-Qd2"}
	values := secretValues{"pass1": pass[0], "pass2": pass[1], "pass3": pass[2]}
	_, err := kv.Put(t.Context(), "icr/config", map[string]any{"db_pass": pass[0]})
	require.NoError(t, err)
	c.tenant(t, ns, "webapp-sa", "icr-role", "secret/data/icr/*")
	files := seedStatic(t, ns, "icr-role", "icr/config")
	files["static-secret.yaml"] = strings.Replace(files["static-secret.yaml"], "refreshAfter: 60s", "refreshAfter: 10s", 1)
	files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], "replicas: 3", "replicas: 0", 1) // no pods: nothing schedules them
	c.commit(t, under(dir, files), "incluster-refresh")
	c.create(t, appSpec{name: app, path: dir, namespace: ns, validate: true}) // the default delivery
	out, err := c.sync(t, app)
	require.NoError(t, err, "%s", out)
	assert.Empty(t, values.find([]byte(out)))
	first := c.waitApp(t, app, 60*time.Second, "Synced, the carrier Healthy", func(a *App) bool {
		s, _ := a.resourceHealth("Secret", carrier)
		return synced(a) && s == "Healthy"
	})
	syncs := len(first.Status.History)
	secret := func() *corev1.Secret { return c.secret(t, ns, "webapp-k8s-secret") }
	require.Equal(t, pass[0], string(secret().Data["db_pass"]))
	replicaSets := func(want int, what string) {
		t.Helper()
		eventually(t, 45*time.Second, func() (bool, string) { return c.replicaSets(t, ns, "webapp") == want, what }, cw.companion)
	}
	replicaSets(1, "the first ReplicaSet")

	// A change in Vault, nobody syncs: the companion writes it in place.
	change := func(v string) time.Time {
		t.Helper()
		_, err := kv.Put(t.Context(), "icr/config", map[string]any{"db_pass": v})
		require.NoError(t, err)
		return time.Now()
	}
	at := change(pass[1])
	eventually(t, every+margin, func() (bool, string) {
		return string(secret().Data["db_pass"]) == pass[1], "the new value in the Secret within refreshAfter plus a margin, no sync"
	}, cw.companion)
	t.Logf("Vault change to new data in the Secret: %s (refreshAfter %s, no sync)", time.Since(at).Round(100*time.Millisecond), every)
	replicaSets(2, "one new ReplicaSet for the change")
	rolled := time.Now()
	written := secret().ResourceVersion

	// Argo CD shows it by itself: OutOfSync on the carrier, no value.
	c.waitApp(t, app, 60*time.Second, "OutOfSync without a hard refresh by the test", func(a *App) bool { return a.Status.Sync.Status == "OutOfSync" })
	t.Logf("OutOfSync %s after the change in Vault", time.Since(at).Round(100*time.Millisecond))
	assert.Contains(t, cw.eventsIn(t, ns, carrier), "ArgoCDRefresh")
	out, err = c.CLI(t.Context(), "app", "diff", app)
	var ce *CLIError
	require.True(t, errors.As(err, &ce) && ce.Code == 1, "argocd app diff exits 1 on a difference: %v", err)
	diff := ce.Output + out
	assert.Contains(t, diff, "/Secret "+ns+"/"+carrier)
	assert.Contains(t, diff, "vaultcmp.io/kv-version")
	assert.NotContains(t, diff, "/Secret "+ns+"/webapp-k8s-secret", "the destination is the companion's, not in the diff")
	assert.Empty(t, values.find([]byte(diff)), "no value in the diff")
	a, err := c.Get(t.Context(), app)
	require.NoError(t, err)
	assert.Len(t, a.Status.History, syncs, "no sync made")
	assert.Equal(t, 2, c.replicaSets(t, ns, "webapp"), "no rollout from Argo CD's side")

	// Automated sync: Synced again by itself; the synced carrier names the
	// data already written: no rewrite, no second rollout.
	_, err = c.CLI(t.Context(), "app", "set", app, "--sync-policy", "automated", "--self-heal")
	require.NoError(t, err)
	liveVersion := func() string { return c.secret(t, ns, carrier).Annotations["vaultcmp.io/kv-version"] }
	before := liveVersion()
	a = c.waitApp(t, app, 60*time.Second, "Synced by automated sync", func(a *App) bool { return synced(a) && liveVersion() != before })
	t.Logf("automated: Synced with the carrier at KV version %s (was %s), %d syncs in the history (%d before)", liveVersion(), before, len(a.Status.History), syncs)
	next := nextCheck(t, c, ns, carrier)
	eventually(t, every+margin, func() (bool, string) {
		return nextCheck(t, c, ns, carrier) != next, "the companion's next check of Vault"
	}, cw.companion)
	// The companion restarts a carrier's targets at most once per 30 s
	// (rolloutMinInterval): a second restart would come by then.
	time.Sleep(time.Until(rolled.Add(35 * time.Second)))
	c.waitApp(t, app, 10*time.Second, "still Synced", synced)
	assert.Equal(t, 2, c.replicaSets(t, ns, "webapp"), "no second rollout for one change")
	assert.Equal(t, written, secret().ResourceVersion, "the Secret is not rewritten")

	// The next change: the same, by itself.
	synced2 := liveVersion()
	at = change(pass[2])
	eventually(t, every+margin, func() (bool, string) {
		return string(secret().Data["db_pass"]) == pass[2], "the second change in the Secret"
	}, cw.companion)
	t.Logf("second change in the Secret after %s", time.Since(at).Round(100*time.Millisecond))
	c.waitApp(t, app, 90*time.Second, "Synced again by itself", func(a *App) bool {
		return synced(a) && liveVersion() != synced2
	})
	replicaSets(3, "one new ReplicaSet for the second change")
	raw, err := c.CLI(t.Context(), "app", "get", app, "-o", "json")
	require.NoError(t, err)
	assert.Empty(t, values.find([]byte(raw)))
	counts := noValueInArgoCD(t, c, app, ns, dir, values)
	t.Logf("secret values found: Redis %d, app manifests %d, repo-server answer %d", counts.redis, counts.manifests, counts.repoServer)
}
