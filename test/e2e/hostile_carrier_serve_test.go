package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vaultcmp/vaultcmp/contract"
)

// Issue 15, rows 13, 7 and 11: what the companion serves (/metrics), what it
// caches (Secrets), and which Secrets a carrier may write.

// metricsScraper creates service account name in Argo CD's namespace, bound
// to the shipped ClusterRole vaultcmp-companion-metrics-reader when bind (as
// an operator binds Prometheus's), and returns a token of it.
func metricsScraper(ctx context.Context, w *argoWorld, name string, bind bool) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "argocd"}}
	if _, err := w.cluster.Admin.CoreV1().ServiceAccounts("argocd").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("creating service account %s: %w", name, err)
	}
	if bind {
		b := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "vaultcmp-companion-metrics-reader"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "argocd"}},
		}
		if _, err := w.cluster.Admin.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("binding %s to the metrics reader: %w", name, err)
		}
	}
	return w.token(ctx, "argocd", name, nil)
}

// Row 13: /metrics holds every tenant's carrier names and expiry times. It
// is served over HTTPS, to a token the apiserver authenticates (TokenReview)
// and authorizes for get on /metrics (SubjectAccessReview): no token is
// 401, a token without the permission (a team's own service account) 403,
// a made-up token 401; plain HTTP gets nothing.
func TestHostileCarrierMetricsAuth(t *testing.T) {
	cw := getCompanion(t)
	c := cw.companion
	code, body, err := c.Scrape("")
	require.NoError(t, err, "companion log:\n%s", tail([]byte(c.Log()), 3000))
	assert.Equal(t, http.StatusUnauthorized, code, "no token: %s", body)
	assert.NotContains(t, body, "vso_secret")

	// A token the apiserver rejects: controller-runtime's filter answers 500
	// ("Authentication failed"), still nothing to read.
	code, body, err = c.Scrape("not-a-token")
	require.NoError(t, err)
	assert.NotEqual(t, http.StatusOK, code, "a made-up token: %s", body)
	assert.NotContains(t, body, "vso_secret")

	unbound, err := metricsScraper(t.Context(), cw.argoWorld, "not-a-metrics-reader", false)
	require.NoError(t, err)
	code, body, err = c.Scrape(unbound)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, code, "an authenticated token without get on /metrics: %s", body)
	assert.NotContains(t, body, "vso_secret")

	// In the clear, the TLS port answers nothing a client could read metrics from.
	resp, err := http.Get(strings.Replace(c.MetricsURL, "https://", "http://", 1))
	if err == nil {
		resp.Body.Close()
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, "plain HTTP")
	}

	code, body, err = c.Scrape(cw.metricsToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "controller_runtime_reconcile_total", "the allowed token reads the metrics")
}

// Row 7: anyone who may create a Secret may label it vaultcmp.io/contract.
// 200 labelled Secrets of about 1 MB each (Opaque), and a few of the carrier
// type holding about 1 MB of data, do not reach the companion's memory: it
// caches only Secrets of the carrier type, without their data.
func TestHostileCarrierLabelledSecretsMemory(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	const ns = "hostile-labelled"
	cfg := cw.cluster.RestConfig(AdminToken)
	cfg.QPS, cfg.Burst = 200, 400 // client-go's 5/s would take a minute for the Secrets alone
	fast, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	k := fast.CoreV1()
	_, err = k.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		_ = k.Secrets(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: contract.LabelContract})
	})
	big := func(name string, typ corev1.SecretType) *corev1.Secret {
		b := make([]byte, 1000*1000)
		_, _ = rand.Read(b)
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{contract.LabelContract: "v1"}},
			Type:       typ, Data: map[string][]byte{"blob": b},
		}
	}
	// The same process before any of them exists: its baseline.
	cw.restart(t)
	time.Sleep(3 * time.Second)
	base, basePeak, err := cw.companion.Memory()
	require.NoError(t, err)
	var objs []*corev1.Secret
	for i := range 200 {
		objs = append(objs, big(fmt.Sprintf("labelled-%03d", i), corev1.SecretTypeOpaque))
	}
	for i := range 5 { // accepted: a custom type takes any data
		objs = append(objs, big(fmt.Sprintf("vaultcmp-vss.fat-%d", i), contract.SecretType))
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(objs))
	work := make(chan *corev1.Secret)
	for range 8 {
		wg.Go(func() {
			for s := range work {
				if _, err := k.Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					errs <- fmt.Errorf("creating %s: %w", s.Name, err)
				}
			}
		})
	}
	for _, s := range objs {
		work <- s
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("created %d Secrets of about 1 MB in %s", len(objs), time.Since(start).Round(time.Millisecond))

	// A fresh companion lists Secrets at start (the informer's first list:
	// the worst case), then watches; its peak covers both.
	cw.restart(t)
	time.Sleep(3 * time.Second) // the first list (a second at most on this machine)
	rss0, _, err := cw.companion.Memory()
	require.NoError(t, err)
	// More labelled Secrets arrive while it runs (the watch path).
	for i := range 20 {
		_, err := k.Secrets(ns).Create(ctx, big(fmt.Sprintf("late-%02d", i), corev1.SecretTypeOpaque), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	time.Sleep(5 * time.Second)
	rss, peak, err := cw.companion.Memory()
	require.NoError(t, err)
	t.Logf("companion without labelled Secrets: VmRSS %d MiB, VmHWM %d MiB; with %d labelled Secrets of about 1 MB: VmRSS %d MiB after the first list, %d MiB after %d more, VmHWM (peak) %d MiB",
		base>>20, basePeak>>20, len(objs)+20, rss0>>20, rss>>20, 20, peak>>20)
	assert.Less(t, peak-basePeak, int64(48<<20), "the labelled Secrets add next to nothing to the companion's peak RSS")
	assert.Less(t, peak, int64(192<<20), "the companion stays far from its 256Mi limit")
	assert.False(t, cw.companion.Exited())
}

// takeoverCarrier is a sealed in-cluster VaultStaticSecret carrier named for
// object name whose destination is dest with create and overwrite: true,
// tracked by Argo CD's Application "webapp" (its label, as Argo CD applies
// it): the carrier a team could get through generate, aimed at a Secret of
// its namespace that is not its own.
func takeoverCarrier(t *testing.T, name, dest string) map[string]any {
	t.Helper()
	_, err := vaultSrv.Client.KVv2("secret").Put(t.Context(), "companion/takeover", map[string]any{"k": "from-vault"})
	require.NoError(t, err)
	files := map[string]string{"vss.yaml": fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: %s
  namespace: webapp-ns
  annotations: {vaultcmp.io/delivery: in-cluster}
spec:
  type: kv-v2
  mount: secret
  path: companion/takeover
  vaultAuthRef: vault-auth-k8s
  destination: {name: placeholder-%s, create: true, overwrite: true}
`, name, name)}
	carrier := find(t, sealedRender(t, vaultSrv.Addr, files), "Secret", contract.CarrierName("VaultStaticSecret", name))
	meta := carrier["metadata"].(map[string]any)
	ann := meta["annotations"].(map[string]any)
	// The destination a generate could have let through (or a later one
	// may): re-sealed with the installation's key, so the seal holds.
	var c contract.V1
	require.NoError(t, json.Unmarshal([]byte(ann[contract.AnnotationContract].(string)), &c))
	require.NotNil(t, c.Object.Static)
	c.Object.Static.Destination.Name = dest
	c.Object.Static.Destination.Overwrite = true
	b, err := json.Marshal(&c)
	require.NoError(t, err)
	ann[contract.AnnotationContract] = string(b)
	ann[contract.AnnotationSeal] = contract.Seal([]byte(companionHMACKey), "webapp-ns", meta["name"].(string), b)
	labels, _ := meta["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		meta["labels"] = labels
	}
	labels["app.kubernetes.io/instance"] = "webapp"
	return carrier
}

// attemptTakeover applies a carrier aimed at victim and checks the refusal:
// status Error and a DestinationRefused Event naming owner, the victim
// unchanged, and still there after the carrier is deleted (garbage
// collection included).
func attemptTakeover(t *testing.T, cw *companionWorld, name string, victim *corev1.Secret, owner string) {
	t.Helper()
	ctx := t.Context()
	secrets := cw.cluster.Admin.CoreV1().Secrets("webapp-ns")
	var before *corev1.Secret
	if victim != nil {
		var err error
		_, err = secrets.Create(ctx, victim, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = secrets.Delete(context.Background(), victim.Name, metav1.DeleteOptions{}) })
		// Kubernetes itself may add to it (a service-account token gets
		// ca.crt and namespace): the victim is what it is once that is done.
		time.Sleep(time.Second)
		before, err = secrets.Get(ctx, victim.Name, metav1.GetOptions{})
		require.NoError(t, err)
	}
	carrier := takeoverCarrier(t, name, destName(victim, name))
	carrierName := carrier["metadata"].(map[string]any)["name"].(string)
	applyObjects(t, []map[string]any{carrier}, "webapp-ns", false)
	if before == nil { // the carrier is the victim
		var err error
		before, err = secrets.Get(ctx, carrierName, metav1.GetOptions{})
		require.NoError(t, err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		a := carrierAnnotations(t, cw, carrierName)
		return a["vaultcmp.io/status"] == "Error" && strings.Contains(a["vaultcmp.io/message"], owner),
			fmt.Sprintf("status Error naming %q (annotations: %v)", owner, a)
	}, cw.companion)
	ev := cw.events(t, carrierName)
	assert.Contains(t, ev, "DestinationRefused: refusing to write Secret webapp-ns/"+before.Name)
	assert.Contains(t, ev, owner)
	time.Sleep(2 * time.Second) // retries would write now, if they could

	unchanged := func(when string) {
		t.Helper()
		got, err := secrets.Get(ctx, before.Name, metav1.GetOptions{})
		require.NoError(t, err, "the victim %s exists %s", before.Name, when)
		assert.Equal(t, before.UID, got.UID, "the victim was not recreated %s", when)
		assert.Equal(t, before.Type, got.Type, "%s", when)
		assert.Equal(t, before.Data, got.Data, "the victim's data %s", when)
		assert.Equal(t, before.OwnerReferences, got.OwnerReferences, "the victim's owners %s", when)
		assert.Equal(t, before.Labels, got.Labels, "%s", when)
	}
	if victim == nil {
		got, err := secrets.Get(ctx, before.Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, before.UID, got.UID, "the carrier was not recreated")
		assert.Equal(t, before.Type, got.Type)
		assert.Empty(t, got.Data, "nothing written into the carrier")
		assert.Equal(t, before.Annotations[contract.AnnotationContract], got.Annotations[contract.AnnotationContract])
		cw.deleteCarrier(t, carrierName)
		return
	}
	unchanged("while the carrier exists")
	cw.deleteCarrier(t, carrierName)
	time.Sleep(3 * time.Second) // kube-controller-manager's garbage collector
	unchanged("after the carrier is deleted")
}

// destName is the victim's name, or the carrier's own for none.
func destName(victim *corev1.Secret, name string) string {
	if victim == nil {
		return contract.CarrierName("VaultStaticSecret", name)
	}
	return victim.Name
}

func victimSecret(name string, typ corev1.SecretType) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "webapp-ns"},
		Type:       typ,
		Data:       map[string][]byte{"password": []byte("the-victims-own")},
	}
}

// Row 11: another Argo CD app's Secret (its tracking label names "billing").
func TestHostileCarrierTakeoverOtherApp(t *testing.T) {
	cw := getCompanion(t)
	v := victimSecret("billing-db", corev1.SecretTypeOpaque)
	v.Labels = map[string]string{"app.kubernetes.io/instance": "billing"}
	attemptTakeover(t, cw, "grab-billing", v, "Argo CD Application billing")
}

// Row 11: another app's Secret tracked by annotation.
func TestHostileCarrierTakeoverOtherAppAnnotation(t *testing.T) {
	cw := getCompanion(t)
	v := victimSecret("billing-api", corev1.SecretTypeOpaque)
	v.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "billing:/Secret:webapp-ns/billing-api"}
	attemptTakeover(t, cw, "grab-billing-api", v, "Argo CD Application billing")
}

// Row 11: a Secret another object owns (an ownerReference).
func TestHostileCarrierTakeoverOwned(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	cm, err := cw.cluster.Admin.CoreV1().ConfigMaps("webapp-ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "takeover-owner"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cw.cluster.Admin.CoreV1().ConfigMaps("webapp-ns").Delete(context.Background(), cm.Name, metav1.DeleteOptions{})
	})
	v := victimSecret("owned-elsewhere", corev1.SecretTypeOpaque)
	v.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID}}
	attemptTakeover(t, cw, "grab-owned", v, "ConfigMap takeover-owner")
}

// Row 11: a service-account token Secret (it was recreated as Opaque).
func TestHostileCarrierTakeoverServiceAccountToken(t *testing.T) {
	cw := getCompanion(t)
	v := victimSecret("webapp-sa-token", corev1.SecretTypeServiceAccountToken)
	v.Annotations = map[string]string{corev1.ServiceAccountNameKey: "webapp-sa"}
	v.Data = map[string][]byte{"token": []byte("a-token-the-controller-wrote")}
	attemptTakeover(t, cw, "grab-token", v, "service account webapp-sa")
}

// Row 11: the carrier itself as its destination.
func TestHostileCarrierTakeoverItself(t *testing.T) {
	cw := getCompanion(t)
	attemptTakeover(t, cw, "grab-self", nil, "the carrier itself")
}

// overwrite still adopts what it is for: a Secret of the same app that
// nothing owns (a migration to the companion).
func TestHostileCarrierOverwriteAdopts(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	secrets := cw.cluster.Admin.CoreV1().Secrets("webapp-ns")
	v := victimSecret("migrated-config", corev1.SecretTypeOpaque)
	v.Labels = map[string]string{"app.kubernetes.io/instance": "webapp"}
	_, err := secrets.Create(ctx, v, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = secrets.Delete(context.Background(), v.Name, metav1.DeleteOptions{}) })
	carrier := takeoverCarrier(t, "adopt", v.Name)
	applyObjects(t, []map[string]any{carrier}, "webapp-ns", false)
	s := cw.waitData(t, v.Name, "k", 30*time.Second)
	assert.Equal(t, "from-vault", string(s.Data["k"]))
	require.Len(t, s.OwnerReferences, 1, "adopted: owned by the carrier")
	assert.Equal(t, "vaultcmp-vss.adopt", s.OwnerReferences[0].Name)
	cw.deleteCarrier(t, "vaultcmp-vss.adopt")
}
