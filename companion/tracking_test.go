package companion

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// Tracking hygiene (issue 21, item 4): whatever the destination asks, the
// Secret the companion writes carries none of Argo CD's tracking keys,
// the installation's custom instance label key included.
func TestDesiredSecretTrackingHygiene(t *testing.T) {
	carrier := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vaultcmp-vss.app", Namespace: "app", UID: "u1"}}
	tracking := map[string]string{
		"app.kubernetes.io/instance":                       "webapp",
		"argocd.argoproj.io/tracking-id":                   "webapp:/Secret:app/app-secret",
		"argocd.argoproj.io/installation-id":               "argocd",
		"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"Secret"}`,
		"team.example.com/argo-app":                        "webapp",
		"team":                                             "a",
	}
	c := &contract.V1{Object: contract.Object{Kind: v1beta1.KindVaultStaticSecret, Name: "app", Static: &v1beta1.VaultStaticSecretSpec{
		Destination: v1beta1.Destination{Name: "app-secret", Create: true, Labels: tracking, Annotations: tracking},
	}}}
	for _, tc := range []struct {
		custom string
		kept   map[string]string // the destination's keys that stay
	}{
		{"", map[string]string{"team": "a", "team.example.com/argo-app": "webapp"}},
		{"team.example.com/argo-app", map[string]string{"team": "a"}},
	} {
		s := desiredSecret(carrier, c, map[string][]byte{"k": []byte("v")}, tc.custom)
		wantLabels := map[string]string{"app.kubernetes.io/managed-by": "vaultcmp", "vaultcmp.io/delivery": "in-cluster"}
		wantAnnotations := map[string]string{"vaultcmp.io/owner": "VaultStaticSecret/app"}
		for k, v := range tc.kept {
			wantLabels[k], wantAnnotations[k] = v, v
		}
		assert.Equal(t, wantLabels, s.Labels, "custom key %q", tc.custom)
		assert.Equal(t, wantAnnotations, s.Annotations, "custom key %q", tc.custom)
	}
}

// The ownership rule reads the custom instance label as tracking: a Secret
// another app tracks by it is refused; one the carrier's app tracks is
// adopted.
func TestDecideDestinationCustomInstanceLabel(t *testing.T) {
	const key = "team.example.com/argo-app"
	carrier := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vaultcmp-vss.app", Namespace: "app", UID: "c",
		Labels: map[string]string{key: "webapp"}}, Type: contract.SecretType}
	d := v1beta1.Destination{Name: "db", Create: true, Overwrite: true}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "app", Labels: map[string]string{key: "billing"}}, Type: corev1.SecretTypeOpaque}
	_, err := decideDestination(carrier, d, other, key)
	var r *refusedError
	require.ErrorAs(t, err, &r)
	assert.Equal(t, "Argo CD Application billing", r.Owner)

	same := other.DeepCopy()
	same.Labels[key] = "webapp"
	got, err := decideDestination(carrier, d, same, key)
	require.NoError(t, err)
	assert.Equal(t, destAdopt, got)

	// Without the flag the custom label means nothing to the companion.
	got, err = decideDestination(carrier, d, other, "")
	require.NoError(t, err)
	assert.Equal(t, destAdopt, got)
}

// Argo CD 3.6's refresh contract (issue 21, item 5): the hard-refresh
// request names itself with refresh-timestamp, RFC 3339 with nanoseconds,
// as util/argo.RefreshApp writes it, and nothing else is patched.
func TestHardRefreshPatch(t *testing.T) {
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 7, 22, 30, 1, 123456789, time.UTC), "2026-12-07T22:30:01.123456789Z"},
		{time.Date(2026, 12, 7, 23, 30, 1, 0, time.FixedZone("CET", 3600)), "2026-12-07T22:30:01Z"},
	} {
		b, err := hardRefreshPatch(tc.now)
		require.NoError(t, err)
		var got map[string]map[string]map[string]string
		require.NoError(t, json.Unmarshal(b, &got))
		assert.Equal(t, map[string]map[string]map[string]string{"metadata": {"annotations": {
			"argocd.argoproj.io/refresh":           "hard",
			"argocd.argoproj.io/refresh-timestamp": tc.want,
		}}}, got)
		ts, err := time.Parse(time.RFC3339Nano, got["metadata"]["annotations"]["argocd.argoproj.io/refresh-timestamp"])
		require.NoError(t, err)
		assert.True(t, ts.Equal(tc.now))
	}
	a, err := hardRefreshPatch(time.Unix(0, 1))
	require.NoError(t, err)
	b, err := hardRefreshPatch(time.Unix(0, 2))
	require.NoError(t, err)
	assert.NotEqual(t, string(a), string(b), "two requests a nanosecond apart are two requests")
}
