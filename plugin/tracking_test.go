package plugin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInstanceLabel(t *testing.T) {
	env := func(v string) Env {
		return Env{LookupEnv: func(k string) (string, bool) { return v, k == "VAULTCMP_ARGOCD_INSTANCE_LABEL_KEY" && v != "" }}
	}
	for _, tc := range []struct{ flag, env, want, err string }{
		{"", "", "", ""},
		{"", "example.com/argo-app", "example.com/argo-app", ""},
		{"argocd.argoproj.io/instance", "example.com/argo-app", "argocd.argoproj.io/instance", ""}, // the flag wins
		{"not a key", "", "", "is not a label key"},
		{"", "a/b/c", "", "is not a label key"},
	} {
		got, err := instanceLabel(env(tc.env), tc.flag)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.want, got)
	}
}
