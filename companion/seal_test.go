package companion

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kfake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	cfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

var testKey = []byte("installation-key")

func sealedCarrier(t *testing.T, ns string, c *contract.V1, key []byte) *corev1.Secret {
	t.Helper()
	b, err := c.Marshal()
	require.NoError(t, err)
	name := contract.CarrierName(c.Object.Kind, c.Object.Name)
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: "uid-1",
			Labels: map[string]string{contract.LabelContract: contract.Version},
			Annotations: map[string]string{contract.AnnotationContract: string(b),
				contract.AnnotationSeal: contract.Seal(key, ns, name, b)}},
		Type: contract.SecretType,
	}
}

func dynContract(ns string) *contract.V1 {
	return &contract.V1{Version: contract.Version, Delivery: contract.DeliveryInCluster, Application: "app",
		Object: contract.Object{Kind: v1beta1.KindVaultDynamicSecret, Name: "db", Namespace: ns,
			Dynamic: &v1beta1.VaultDynamicSecretSpec{Mount: "database", Path: "creds/ro", Destination: v1beta1.Destination{Name: "db", Create: true}}},
		Connection: contract.Connection{Address: "https://vault:8200"},
		Auth:       &contract.Auth{Method: "kubernetes", Mount: "kubernetes", Role: "r", ServiceAccount: "sa", TokenSeconds: 600}}
}

func TestSealedContract(t *testing.T) {
	r := &Reconciler{HMACKey: testKey}
	good := sealedCarrier(t, "team-a", dynContract("team-a"), testKey)
	c, err := r.sealedContract(good)
	require.NoError(t, err)
	assert.Equal(t, "app", c.Application)

	unsealed := good.DeepCopy()
	delete(unsealed.Annotations, contract.AnnotationSeal)
	_, err = r.sealedContract(unsealed)
	assert.ErrorIs(t, err, contract.ErrUnsealed)

	otherKey := sealedCarrier(t, "team-a", dynContract("team-a"), []byte("another installation"))
	_, err = r.sealedContract(otherKey)
	assert.ErrorIs(t, err, contract.ErrBadSeal)

	copied := good.DeepCopy()
	copied.Namespace = "team-b"
	_, err = r.sealedContract(copied)
	assert.ErrorIs(t, err, contract.ErrBadSeal, "a carrier copied to another namespace")

	renamed := good.DeepCopy()
	renamed.Name = "vaultcmp-vds.other"
	_, err = r.sealedContract(renamed)
	assert.ErrorIs(t, err, contract.ErrBadSeal, "a carrier copied to another name")

	edited := good.DeepCopy()
	edited.Annotations[contract.AnnotationContract] = strings.Replace(edited.Annotations[contract.AnnotationContract], `"mount":"kubernetes"`, `"mount":"../cubbyhole/loot"`, 1)
	_, err = r.sealedContract(edited)
	assert.ErrorIs(t, err, contract.ErrBadSeal)

	// Sealed by a generate bug: the row-1 contract still fails Validate.
	bad := dynContract("team-a")
	bad.Auth.Mount, bad.Auth.Headers = "../cubbyhole/loot", map[string]string{"X-Vault-Token": "t"}
	_, err = r.sealedContract(sealedCarrier(t, "team-a", bad, testKey))
	assert.ErrorContains(t, err, "spec.mount")

	// Sealed for its place, but the contract is another namespace's object.
	elsewhere := sealedCarrier(t, "team-b", dynContract("team-a"), testKey)
	_, err = r.sealedContract(elsewhere)
	assert.ErrorContains(t, err, "not this one")
}

func newTestReconciler(t *testing.T, objs ...runtime.Object) (*Reconciler, *kfake.Clientset, *record.FakeRecorder) {
	t.Helper()
	kube := kfake.NewClientset(objs...)
	cl := cfake.NewClientBuilder().WithRuntimeObjects(objs...).Build()
	rec := record.NewFakeRecorder(100)
	// A Lifecycle that allows no address: any Vault call fails at once.
	return &Reconciler{Client: cl, Kube: kube, HMACKey: testKey, Recorder: rec, Metrics: NewMetrics(prometheus.NewRegistry()),
		Vault: vault.NewLifecycle(vault.LifecycleOptions{})}, kube, rec
}

// TestUnsealedCarrierDoesNothing: the row-1 carrier written by hand makes
// no Kubernetes call but its own status (no TokenRequest, no finalizer,
// no Secret read), one Event, and no requeue.
func TestUnsealedCarrierDoesNothing(t *testing.T) {
	bad := dynContract("team-a")
	bad.Auth.Mount, bad.Auth.Headers = "../cubbyhole/loot", map[string]string{"X-Vault-Token": "attacker"}
	carrier := sealedCarrier(t, "team-a", bad, testKey)
	delete(carrier.Annotations, contract.AnnotationSeal)
	carrier.Annotations[AnnotationState] = `{"leaseID":"database/creds/victim/xyz"}`
	r, kube, rec := newTestReconciler(t, carrier)
	for range 2 {
		res, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: key(carrier)})
		require.NoError(t, err)
		assert.Equal(t, ctrl.Result{}, res, "no retry until the carrier changes")
		// One apiserver in truth: the status patched through r.Client is
		// what the next reconcile reads through r.Kube.
		var saved corev1.Secret
		require.NoError(t, r.Client.Get(t.Context(), key(carrier), &saved))
		saved.ResourceVersion = ""
		_, err = kube.CoreV1().Secrets("team-a").Update(t.Context(), &saved, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	for _, a := range kube.Actions() {
		if a.GetVerb() == "update" {
			continue // the test's own
		}
		assert.Equal(t, "get", a.GetVerb(), "only reads of the carrier: %v", a)
		assert.Equal(t, "secrets", a.GetResource().Resource)
	}
	var saved corev1.Secret
	require.NoError(t, r.Client.Get(t.Context(), key(carrier), &saved))
	assert.Equal(t, StatusError, saved.Annotations[AnnotationStatus])
	assert.Contains(t, saved.Annotations[AnnotationMessage], "has no seal")
	assert.Empty(t, saved.Finalizers)
	assert.Equal(t, carrier.Annotations[AnnotationState], saved.Annotations[AnnotationState], "no state written")
	assert.Len(t, rec.Events, 1, "one Event")
}

func TestStateSeal(t *testing.T) {
	carrier := sealedCarrier(t, "team-a", dynContract("team-a"), testKey)
	r, _, rec := newTestReconciler(t, carrier)
	st := State{LeaseID: "database/creds/ro/abc", LeaseDuration: 60, NextAt: time.Unix(100, 0).UTC(), Change: "c1", Rolled: "c1",
		Issuer: issuerOf(dynContract("team-a"), "d1")}
	require.NoError(t, r.saveState(t.Context(), carrier, st, StatusSynced, "ok"))
	got, err := r.verifiedState(carrier)
	require.NoError(t, err)
	assert.Equal(t, st, got)

	forged := carrier.DeepCopy()
	forged.Annotations[AnnotationState] = strings.Replace(forged.Annotations[AnnotationState], "database/creds/ro/abc", "database/creds/victim/xyz", 1)
	assert.Equal(t, State{}, r.loadState(t.Context(), forged), "a forged lease id is ignored")
	select {
	case e := <-rec.Events:
		assert.Contains(t, e, "state not ours, ignored")
	default:
		t.Error("no Event for the ignored state")
	}

	copied := carrier.DeepCopy()
	copied.UID = "uid-2"
	_, err = r.verifiedState(copied)
	assert.ErrorIs(t, err, contract.ErrBadSeal, "the same state on a recreated or other carrier")

	unsealed := carrier.DeepCopy()
	delete(unsealed.Annotations, AnnotationStateSeal)
	_, err = r.verifiedState(unsealed)
	assert.Error(t, err)
}

// TestSupersede is the contract-change decision.
func TestSupersede(t *testing.T) {
	is := issuerOf(dynContract("team-a"), "A")
	tests := []struct {
		name    string
		st      State
		want    State
		wantErr error
	}{
		{"first issue", State{}, State{}, nil},
		{"same contract", State{Contract: "B", LeaseID: "l1", Issuer: is}, State{Contract: "B", LeaseID: "l1", Issuer: is}, nil},
		{"changed: the lease becomes Old", State{Contract: "A", LeaseID: "l1", Issuer: is},
			State{Contract: "A", Old: &Held{LeaseID: "l1", Issuer: *is}}, nil},
		{"changed: the certificate becomes Old", State{Contract: "A", Serial: "s1", Issuer: is},
			State{Contract: "A", Old: &Held{Serial: "s1", Issuer: *is}}, nil},
		{"changed, nothing held (KV)", State{Contract: "A", Change: "x"}, State{Contract: "A", Change: "x"}, nil},
		{"changed again while Old is held", State{Contract: "A", LeaseID: "l2", Issuer: is, Old: &Held{LeaseID: "l1"}},
			State{Contract: "A", LeaseID: "l2", Issuer: is, Old: &Held{LeaseID: "l1"}}, errOldPending},
		{"Old held, nothing new yet", State{Contract: "A", Old: &Held{LeaseID: "l1"}}, State{Contract: "A", Old: &Held{LeaseID: "l1"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			err := supersede(&st, "B")
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, tc.want, st)
		})
	}
}

func TestRecordIssuer(t *testing.T) {
	c := dynContract("team-a")
	st := State{LeaseID: "l1"}
	recordIssuer(&st, c, "A")
	require.NotNil(t, st.Issuer)
	assert.Equal(t, Issuer{Contract: "A", Connection: c.Connection, Auth: c.Auth, Mount: "database", Path: "creds/ro", Destination: "db"}, *st.Issuer)
	st = State{Change: "x", Issuer: st.Issuer}
	recordIssuer(&st, c, "A")
	assert.Nil(t, st.Issuer, "nothing held, no issuer")
}

func TestRolloutBound(t *testing.T) {
	now := time.Unix(1000, 0)
	assert.Equal(t, time.Duration(0), rolloutWait(State{}, now))
	assert.Equal(t, 28*time.Second, rolloutWait(State{RolledAt: now.Add(-2 * time.Second)}, now))
	assert.Equal(t, time.Duration(0), rolloutWait(State{RolledAt: now.Add(-time.Minute)}, now))
	r := &Reconciler{Now: func() time.Time { return now }}
	assert.Equal(t, time.Duration(0), r.requeue(State{}, 0))
	assert.Equal(t, 10*time.Second, r.requeue(State{NextAt: now.Add(10 * time.Second)}, 28*time.Second))
	assert.Equal(t, 28*time.Second, r.requeue(State{NextAt: now.Add(time.Hour)}, 28*time.Second))
	assert.Equal(t, 5*time.Second, r.requeue(State{Old: &Held{}}, 0), "a superseded lease is retried")
}

func TestApplicationName(t *testing.T) {
	for _, tc := range []struct{ app, want, wantErr string }{
		{app: "webapp", want: "webapp"},
		{app: "argocd_webapp", want: "webapp"},
		{app: "team_webapp", wantErr: "not the companion's Argo CD namespace"},
		{app: "", wantErr: "names no Argo CD Application"},
	} {
		got, err := applicationName(tc.app, "argocd")
		if tc.wantErr != "" {
			assert.ErrorContains(t, err, tc.wantErr)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
	app := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "webapp", "namespace": "argocd"},
		"spec": map[string]any{"destination": map[string]any{"namespace": "team-a"}}}}
	assert.NoError(t, checkAppDestination(app, "team-a"))
	assert.ErrorContains(t, checkAppDestination(app, "team-b"), `deploys to namespace "team-a", not the carrier's "team-b"`)
}

func key(s *corev1.Secret) types.NamespacedName {
	return types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
}

// TestFinalizeForgedStateRevokesNothing: a carrier being deleted whose
// state does not verify (a forged lease id) makes no login and no
// revocation, and is let go.
func TestFinalizeForgedStateRevokesNothing(t *testing.T) {
	carrier := sealedCarrier(t, "team-a", dynContract("team-a"), testKey)
	carrier.Finalizers = []string{Finalizer}
	now := metav1.Now()
	carrier.DeletionTimestamp = &now
	carrier.Annotations[contract.AnnotationContract] = "garbage"
	is := issuerOf(dynContract("team-a"), "A")
	forged := State{LeaseID: "database/creds/victim/xyz", Issuer: is}
	carrier.Annotations[AnnotationState] = forged.encode()
	carrier.Annotations[AnnotationStateSeal] = contract.SealState(testKey, "team-a", "vaultcmp-vds.other", "uid-1", []byte(forged.encode()))
	r, kube, rec := newTestReconciler(t, carrier)
	_, err := r.Reconcile(t.Context(), ctrl.Request{NamespacedName: key(carrier)})
	require.NoError(t, err)
	for _, a := range kube.Actions() {
		assert.Equal(t, "get", a.GetVerb(), "no TokenRequest, nothing but the carrier's read: %v", a)
	}
	close(rec.Events)
	var events []string
	for e := range rec.Events {
		events = append(events, e)
	}
	require.Len(t, events, 1, "only: %v", events)
	assert.Contains(t, events[0], "state not ours, ignored", "no revocation tried")
	var saved corev1.Secret
	err = r.Client.Get(t.Context(), key(carrier), &saved)
	if err == nil {
		assert.Empty(t, saved.Finalizers, "let go")
	}
}
