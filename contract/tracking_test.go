package contract

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestArgoTracking(t *testing.T) {
	for _, tc := range []struct {
		key, custom string
		want        bool
	}{
		{"app.kubernetes.io/instance", "", true},
		{"argocd.argoproj.io/tracking-id", "", true},
		{"argocd.argoproj.io/installation-id", "", true},
		{"kubectl.kubernetes.io/last-applied-configuration", "", true},
		{"team.example.com/argo-app", "team.example.com/argo-app", true},
		{"app.kubernetes.io/instance", "team.example.com/argo-app", true}, // the default key stays tracking
		{"team.example.com/argo-app", "", false},
		{"argocd.argoproj.io/sync-wave", "", false}, // a directive, not tracking: kept on inline Secrets
		{"app.kubernetes.io/name", "", false},
		{"", "", false},
	} {
		assert.Equal(t, tc.want, ArgoTracking(tc.key, tc.custom), "%q (custom %q)", tc.key, tc.custom)
	}
}

func TestWithoutArgoTracking(t *testing.T) {
	got := WithoutArgoTracking(map[string]string{
		"team": "a", "app.kubernetes.io/instance": "x", "argocd.argoproj.io/tracking-id": "x:/Secret:ns/s",
		"argocd.argoproj.io/installation-id": "other", "kubectl.kubernetes.io/last-applied-configuration": "{}",
		"example.com/instance": "x",
	}, "example.com/instance")
	assert.Equal(t, map[string]string{"team": "a"}, got)
	assert.Nil(t, WithoutArgoTracking(map[string]string{"app.kubernetes.io/instance": "x"}, ""))
	assert.Nil(t, WithoutArgoTracking(nil, ""))
}
