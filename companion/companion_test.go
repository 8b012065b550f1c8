package companion

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// VSO's jitter: uniformly in (p%, p%+10%] of the lease.
func TestHorizon(t *testing.T) {
	for _, tc := range []struct {
		rand float64
		want time.Duration
	}{
		{0, 77 * time.Second},
		{0.5, 72 * time.Second},
		{0.999999, 67*time.Second + 100*time.Microsecond},
	} {
		r := &Reconciler{Rand: func() float64 { return tc.rand }}
		assert.InDelta(t, float64(tc.want), float64(r.horizon(100*time.Second, 67)), float64(time.Millisecond))
	}
}

func TestBackoff(t *testing.T) {
	r := &Reconciler{MaxBackoff: 20 * time.Second}
	assert.Equal(t, 5*time.Second, r.backoff(1))
	assert.Equal(t, 7500*time.Millisecond, r.backoff(2))
	assert.Equal(t, 20*time.Second, r.backoff(10), "bounded")
}

// The destination never carries Argo CD's tracking (Argo CD would prune it)
// and is owned by the carrier.
func TestDesiredSecret(t *testing.T) {
	carrier := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vaultcmp-pki.tls", Namespace: "app", UID: "u1",
		Labels: map[string]string{"app.kubernetes.io/instance": "webapp"}}}
	c := &contract.V1{Object: contract.Object{Kind: v1beta1.KindVaultPKISecret, Name: "tls", PKI: &v1beta1.VaultPKISecretSpec{
		Destination: v1beta1.Destination{Name: "tls-secret", Create: true, Type: corev1.SecretTypeTLS,
			Labels:      map[string]string{"team": "a", "app.kubernetes.io/instance": "sneaky"},
			Annotations: map[string]string{"note": "x", "argocd.argoproj.io/tracking-id": "sneaky"}},
	}}}
	s := desiredSecret(carrier, c, map[string][]byte{"tls.crt": []byte("c"), "tls.key": []byte("k")}, "")
	assert.Equal(t, map[string]string{"team": "a", "app.kubernetes.io/managed-by": "vaultcmp", "vaultcmp.io/delivery": "in-cluster"}, s.Labels)
	assert.Equal(t, map[string]string{"note": "x", "vaultcmp.io/owner": "VaultPKISecret/tls"}, s.Annotations)
	assert.Equal(t, corev1.SecretTypeTLS, s.Type)
	require.Len(t, s.OwnerReferences, 1)
	assert.True(t, *s.OwnerReferences[0].Controller)
	assert.Equal(t, "vaultcmp-pki.tls", s.OwnerReferences[0].Name)
	assert.True(t, ownedBy(s, carrier))
}

func TestPKITTL(t *testing.T) {
	d, err := pkiTTL("30d")
	require.NoError(t, err)
	assert.Equal(t, 720*time.Hour, d)
	d, err = pkiTTL("720h")
	require.NoError(t, err)
	assert.Equal(t, 720*time.Hour, d)
}
