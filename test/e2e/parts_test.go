package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// VAULTCMP_E2E_ARGOCD picks the release under test: 3.6 by default, 3.4
// (the oldest supported line) for the smoke run; 2.14 is refused, not
// silently replaced.
func TestArgoCDPartFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want ArgoPart
		err  bool
	}{
		{"", Argo36, false},
		{"3.6", Argo36, false},
		{Argo36Version, Argo36, false},
		{"3.4", Argo34, false},
		{Argo34Version, Argo34, false},
		{"2.14", ArgoPart{}, true},
		{"3.5", ArgoPart{}, true},
	} {
		t.Run("env="+tc.env, func(t *testing.T) {
			t.Setenv("VAULTCMP_E2E_ARGOCD", tc.env)
			got, err := argoCDPart()
			if tc.err {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "want 3.6 or 3.4")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want.Version, got.Version)
			assert.Equal(t, tc.want.module, got.module)
		})
	}
}

// What a test expects of Argo CD depends on the release: 3.6 added the
// refresh-timestamp annotation, which 3.4 does not know.
func TestArgoPartAtLeast(t *testing.T) {
	for _, tc := range []struct {
		part         ArgoPart
		major, minor int
		want         bool
	}{
		{Argo36, 3, 6, true},
		{Argo34, 3, 6, false},
		{Argo34, 3, 4, true},
		{Argo34, 3, 0, true},
		{Argo34, 2, 14, true},
		{Argo36, 4, 0, false},
		{Argo36, 3, 7, false},
	} {
		assert.Equal(t, tc.want, tc.part.AtLeast(tc.major, tc.minor), "%s at least %d.%d", tc.part.Version, tc.major, tc.minor)
	}
	// Major and Minor say what Version says.
	for _, p := range []ArgoPart{Argo36, Argo34} {
		assert.True(t, strings.HasPrefix(p.Version, fmt.Sprintf("%d.%d.", p.Major, p.Minor)), "%s: Major %d, Minor %d", p.Version, p.Major, p.Minor)
	}
}
