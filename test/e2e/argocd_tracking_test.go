package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// argoCMTracking sets Argo CD's resource tracking in argocd-cm
// (application.resourceTrackingMethod, application.instanceLabelKey) for
// the test, and puts back what was there when it ends. The control plane
// reads argocd-cm live (its settings informer; the controller's cluster
// cache is invalidated when the tracking settings change): no restart.
func argoCMTracking(t *testing.T, c *cdWorld, method, labelKey string) {
	t.Helper()
	cms := c.w.cluster.Admin.CoreV1().ConfigMaps(ArgoNamespace)
	cm, err := cms.Get(t.Context(), "argocd-cm", metav1.GetOptions{})
	require.NoError(t, err)
	keys := []string{"application.resourceTrackingMethod", "application.instanceLabelKey"}
	before := map[string]*string{}
	for _, k := range keys {
		if v, ok := cm.Data[k]; ok {
			before[k] = &v
		} else {
			before[k] = nil
		}
	}
	set := func(ctx context.Context, vals map[string]*string) error {
		cm, err := cms.Get(ctx, "argocd-cm", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		for k, v := range vals {
			if v == nil {
				delete(cm.Data, k)
			} else {
				cm.Data[k] = *v
			}
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	}
	require.NoError(t, set(t.Context(), map[string]*string{keys[0]: &method, keys[1]: &labelKey}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := set(ctx, before); err != nil {
			t.Errorf("restoring argocd-cm: %v", err)
		}
	})
}

// Tracking hygiene (issue 21, item 4) through the real control plane with
// label tracking under a custom instance label key, automated sync with
// prune and self-heal: the VaultStaticSecret's destination asks for every
// Argo CD tracking key (the default and the custom instance label, the
// tracking-id, installation-id and last-applied annotations); the Secret
// the companion writes carries none of them, is never pruned (same UID
// across reconciles and a hard refresh), and the app settles Synced and
// Healthy with no further sync (no loop).
func TestArgoCDLabelTracking(t *testing.T) {
	cw := getCompanion(t)
	c := getCD(t)
	const ns, app, dir, dest = "track-ns", "tracking", "apps/tracking", "webapp-k8s-secret"
	const labelKey = "e2e.vaultcmp.io/argo-app"
	const carrier = "vaultcmp-vss.webapp-config"
	argoCMTracking(t, c, "label", labelKey)
	// The companion told the installation's custom key (its flag).
	cw.companion.Kill()
	comp, err := cw.startCompanion(t.Context(), "--argocd-instance-label-key="+labelKey)
	require.NoError(t, err)
	cw.companion = comp
	t.Cleanup(func() { cw.restart(t) })

	_, err = vaultSrv.Client.KVv2("secret").Put(t.Context(), "track/config", map[string]any{"api_key": "track-val-Rz81"})
	require.NoError(t, err)
	c.tenant(t, ns, "webapp-sa", "track-role", "secret/data/track/*")
	files := seedStatic(t, ns, "track-role", "track/config")
	tracking := map[string]string{
		"app.kubernetes.io/instance":                       app,
		labelKey:                                           app,
		"argocd.argoproj.io/tracking-id":                   app + ":/Secret:" + ns + "/" + dest,
		"argocd.argoproj.io/installation-id":               "e2e",
		"kubectl.kubernetes.io/last-applied-configuration": "{}",
	}
	var labels, annotations strings.Builder
	for k, v := range tracking {
		if !strings.Contains(k, "argoproj.io/") && !strings.HasPrefix(k, "kubectl.") { // a label value is a name
			labels.WriteString("      " + k + ": '" + v + "'\n")
		}
		annotations.WriteString("      " + k + ": '" + v + "'\n")
	}
	vss := files["static-secret.yaml"]
	vss = strings.Replace(vss, "    labels:\n      app: webapp\n", "    labels:\n      app: webapp\n"+labels.String()+"    annotations:\n      team: web\n"+annotations.String(), 1)
	require.Contains(t, vss, labelKey, "the destination asks for the tracking keys")
	files["static-secret.yaml"] = vss
	files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], "replicas: 3", "replicas: 0", 1) // no pods: nothing schedules them
	c.commit(t, under(dir, files), "tracking")
	c.create(t, appSpec{name: app, path: dir, namespace: ns, validate: true, auto: true, params: map[string]string{"delivery": "in-cluster"}})

	var s *corev1.Secret
	eventually(t, 90*time.Second, func() (bool, string) {
		s, err = c.w.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), dest, metav1.GetOptions{})
		return err == nil && string(s.Data["api_key"]) == "track-val-Rz81", "Secret " + ns + "/" + dest + " filled by the companion"
	}, cw.companion)
	// Label tracking under the custom key is in force: Argo CD put it on
	// the carrier it applied.
	cr, err := c.w.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), carrier, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, app, cr.Labels[labelKey], "Argo CD tracks the carrier by the custom label (labels: %v)", cr.Labels)
	require.Contains(t, labels.String(), labelKey)
	for k := range tracking {
		assert.NotContains(t, s.Labels, k, "the companion's Secret carries no Argo CD tracking label")
		assert.NotContains(t, s.Annotations, k, "the companion's Secret carries no Argo CD tracking annotation")
	}
	assert.Equal(t, "webapp", s.Labels["app"], "the destination's other labels are kept")
	assert.Equal(t, "web", s.Annotations["team"], "the destination's other annotations are kept")

	settled := func(a *App) bool {
		h, _ := a.resourceHealth("Secret", carrier)
		return synced(a) && a.Status.Health.Status == "Healthy" && h == "Healthy"
	}
	a := c.waitApp(t, app, 90*time.Second, "Synced and Healthy", settled)
	syncs := len(a.Status.History)
	uid := s.UID
	// Three reconcile periods (10s) and a hard refresh: nothing pruned,
	// nothing synced again.
	time.Sleep(30 * time.Second)
	c.hardRefresh(t, app)
	a = c.waitApp(t, app, 30*time.Second, "still Synced and Healthy", settled)
	for _, r := range a.Status.Resources {
		assert.False(t, r.Kind == "Secret" && r.Name == dest, "the companion's Secret is not one of the app's resources (status %s)", r.Status)
	}
	s, err = c.w.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), dest, metav1.GetOptions{})
	require.NoError(t, err, "the companion's Secret was not pruned")
	assert.Equal(t, uid, s.UID, "never pruned and recreated")
	assert.Equal(t, syncs, len(a.Status.History), "no sync after the app settled: no loop")
	t.Logf("settled with %d sync(s); Secret %s kept its UID over 30s and a hard refresh", syncs, dest)
}

// assertRefreshTimestamp checks the companion's hard-refresh request as
// Argo CD 3.6 expects it (issue 21, item 5): refresh-timestamp set with
// refresh, an RFC 3339 time with nanoseconds, recent.
func assertRefreshTimestamp(t *testing.T, annotations map[string]string) {
	t.Helper()
	v := annotations["argocd.argoproj.io/refresh-timestamp"]
	require.NotEmpty(t, v, "refresh-timestamp set with refresh (annotations: %v)", annotations)
	ts, err := time.Parse(time.RFC3339Nano, v)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), ts, time.Minute)
}

// refreshConsumed waits until Argo CD's application controller has taken
// the companion's request off the Application: 3.x removes refresh and
// refresh-timestamp together, the timestamp by a test-and-remove JSON
// patch, so a misnamed timestamp would be left behind. (Before 3.6 Argo CD
// knows no timestamp: it removes refresh only and leaves the timestamp.)
func refreshConsumed(t *testing.T, c *cdWorld, app string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.w.cluster.RestConfig(AdminToken))
	require.NoError(t, err)
	var last map[string]string
	eventually(t, 30*time.Second, func() (bool, string) {
		u, err := dyn.Resource(appGVR).Namespace(ArgoNamespace).Get(t.Context(), app, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		last = u.GetAnnotations()
		for k := range last {
			if !c.Part.AtLeast(3, 6) && k == "argocd.argoproj.io/refresh-timestamp" {
				continue
			}
			if strings.HasPrefix(k, "argocd.argoproj.io/refresh") {
				return false, "Argo CD consumed the refresh request (annotations: " + fmt.Sprint(last) + ")"
			}
		}
		return true, ""
	}, nil)
}
