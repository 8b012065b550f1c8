package companion

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// Only a Secret the companion creates for a certificate it revokes on
// delete keeps its key: never a create: false (shipped) Secret.
func TestKeepsKey(t *testing.T) {
	pki := func(revoke, create bool, delivery string) *contract.V1 {
		return &contract.V1{Delivery: delivery, Object: contract.Object{PKI: &v1beta1.VaultPKISecretSpec{
			Revoke: revoke, Destination: v1beta1.Destination{Name: "tls", Create: create}}}}
	}
	for _, tc := range []struct {
		name string
		c    *contract.V1
		want bool
	}{
		{"pki revoke create", pki(true, true, contract.DeliveryInCluster), true},
		{"pki without revoke", pki(false, true, contract.DeliveryInCluster), false},
		{"create: false (shipped Secret)", pki(true, false, contract.DeliveryInCluster), false},
		{"inline", pki(true, true, contract.DeliveryInline), false},
		{"dynamic", &contract.V1{Delivery: contract.DeliveryInCluster, Object: contract.Object{Dynamic: &v1beta1.VaultDynamicSecretSpec{
			Destination: v1beta1.Destination{Name: "db", Create: true}}}}, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, keepsKey(tc.c)) })
	}
}

func TestWithKeyFinalizer(t *testing.T) {
	for _, tc := range []struct {
		name           string
		in             []string
		keep, deleting bool
		want           []string
	}{
		{"added", nil, true, false, []string{KeyFinalizer}},
		{"added after others", []string{"x"}, true, false, []string{"x", KeyFinalizer}},
		{"kept", []string{KeyFinalizer, "x"}, true, false, []string{KeyFinalizer, "x"}},
		{"removed (revoke: false now)", []string{"x", KeyFinalizer}, false, false, []string{"x"}},
		{"never added while deleting", []string{"x"}, true, true, []string{"x"}},
		{"removed while deleting", []string{KeyFinalizer}, true, true, []string{}},
		{"nothing", nil, false, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]string(nil), tc.in...)
			assert.Equal(t, tc.want, withKeyFinalizer(in, tc.keep, tc.deleting))
			assert.Equal(t, tc.in, in, "the input is not changed")
		})
	}
}

// The key finalizer never holds a Secret forever: only a carrier that is
// deleting and still has its own finalizer (finalize revokes, then
// releases) keeps it.
func TestDecideKeyRelease(t *testing.T) {
	now := metav1.Now()
	dest := func(mod func(*metav1.ObjectMeta)) *metav1.ObjectMeta {
		m := &metav1.ObjectMeta{Name: "tls", Namespace: "app", DeletionTimestamp: &now, Finalizers: []string{KeyFinalizer},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Secret", Name: "vaultcmp-pki.tls", UID: "c1", Controller: ptr.To(true)}}}
		if mod != nil {
			mod(m)
		}
		return m
	}
	carrier := func(uid string, deleting bool, fins ...string) *corev1.Secret {
		c := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vaultcmp-pki.tls", Namespace: "app", Finalizers: fins}}
		c.UID = types.UID(uid)
		if deleting {
			c.DeletionTimestamp = &now
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		dest    *metav1.ObjectMeta
		carrier *corev1.Secret
		want    keyAction
	}{
		{"carrier deleting with its finalizer: finalize releases", dest(nil), carrier("c1", true, Finalizer), keyHold},
		{"carrier deleting, its finalizer gone", dest(nil), carrier("c1", true, "other"), keyRelease},
		{"carrier gone (companion down, finalizer removed by hand)", dest(nil), nil, keyRelease},
		{"another carrier by that name (another UID)", dest(nil), carrier("c2", true, Finalizer), keyRelease},
		{"live carrier: deleted by hand, re-created", dest(nil), carrier("c1", false, Finalizer), keyRecreate},
		{"not deleting", dest(func(m *metav1.ObjectMeta) { m.DeletionTimestamp = nil }), nil, keyHold},
		{"not our finalizer", dest(func(m *metav1.ObjectMeta) { m.Finalizers = []string{"x"} }), nil, keyHold},
		{"no controller reference", dest(func(m *metav1.ObjectMeta) { m.OwnerReferences = nil }), carrier("c1", true, Finalizer), keyRelease},
		{"owned by something else than a Secret", dest(func(m *metav1.ObjectMeta) { m.OwnerReferences[0].Kind = "ConfigMap" }), carrier("c1", true, Finalizer), keyRelease},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, decideKeyRelease(tc.dest, tc.carrier)) })
	}
}

func TestKeptKeys(t *testing.T) {
	assert.Empty(t, keptKeys(State{}))
	assert.Equal(t, []string{"tls"}, keptKeys(State{Issuer: &Issuer{Destination: "tls"}, Old: &Held{Issuer: Issuer{Destination: "tls"}}}))
	assert.Equal(t, []string{"tls", "old-tls"}, keptKeys(State{Issuer: &Issuer{Destination: "tls"}, Old: &Held{Issuer: Issuer{Destination: "old-tls"}}}))
	assert.Equal(t, []string{"old-tls"}, keptKeys(State{Old: &Held{Issuer: Issuer{Destination: "old-tls"}}}))
}
