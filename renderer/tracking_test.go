package renderer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// An inline Secret never takes Argo CD's tracking keys from the
// destination (the companion's rule, contract.ArgoTracking): Argo CD sets
// its own when it applies the Secret. Its directives (compare options) stay. Both the map
// path and the fast path.
func TestInlineSecretTrackingHygiene(t *testing.T) {
	m := map[string]string{
		"app.kubernetes.io/instance":                       "billing",
		"argocd.argoproj.io/tracking-id":                   "billing:/Secret:apps/s",
		"argocd.argoproj.io/installation-id":               "other",
		"kubectl.kubernetes.io/last-applied-configuration": "applied",
		"argocd.argoproj.io/compare-options":               "IgnoreExtraneous",
		"team":                                             "a",
	}
	j := &job{vss: &v1beta1.VaultStaticSecret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "apps"},
		Spec: v1beta1.VaultStaticSecretSpec{Destination: v1beta1.Destination{Name: "s", Create: true, Labels: m, Annotations: m}}},
		data: map[string][]byte{"k": []byte("v")}}
	md := staticSecret(j)["metadata"].(map[string]any)
	assert.Equal(t, map[string]any{contract.LabelManagedBy: contract.ManagedBy, contract.LabelDelivery: contract.DeliveryInline, "argocd.argoproj.io/compare-options": "IgnoreExtraneous", "team": "a"}, md["labels"])
	assert.Equal(t, map[string]any{contract.AnnotationOwner: "VaultStaticSecret/s", "argocd.argoproj.io/compare-options": "IgnoreExtraneous", "team": "a"}, md["annotations"])
	got, ok := newInlineSecret(j).encode()
	require.True(t, ok)
	want, err := encodeObject(staticSecret(j))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}
