package cmp

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAppName(t *testing.T) {
	for _, tc := range []struct {
		name, app, control string
		want               AppRef
		err                string
	}{
		{name: "in Argo CD's namespace", app: "webapp", control: "argocd", want: AppRef{"argocd", "webapp"}},
		{name: "apps in any namespace (InstanceName)", app: "team-a_webapp", control: "argocd", want: AppRef{"team-a", "webapp"}},
		{name: "qualified name", app: "team-a/webapp", control: "argocd", want: AppRef{"team-a", "webapp"}},
		{name: "namespaced needs no control namespace", app: "team-a_webapp", want: AppRef{"team-a", "webapp"}},
		{name: "unset", app: "", control: "argocd", err: "ARGOCD_APP_NAME is not set"},
		{name: "no control namespace", app: "webapp", err: "VAULTCMP_ARGOCD_NAMESPACE"},
		{name: "empty namespace", app: "_webapp", control: "argocd", err: "is not <name>"},
		{name: "empty name", app: "team-a/", control: "argocd", err: "is not <name>"},
		{name: "two separators", app: "a_b_c", control: "argocd", err: "is not <name>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAppName(tc.app, tc.control)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCheckInline(t *testing.T) {
	app := AppRef{"argocd", "webapp"}
	inline := []string{"VaultStaticSecret webapp-ns/db", "VaultStaticSecret webapp-ns/api"}
	forbidden := errors.New("the sidecar's service account cannot get applications.argoproj.io")
	for _, tc := range []struct {
		name   string
		inline []string
		lookup AppLookup
		kube   string
		// want: the error's parts, or none for a render that may print values.
		want []string
	}{
		{name: "no inline object: nothing to check", lookup: AppLookup{App: app, State: AppHydrated}},
		{name: "plain Application", inline: inline, lookup: AppLookup{App: app, State: AppPlain}, kube: "1.37.2"},
		{name: "plain Application, no cluster version", inline: inline, lookup: AppLookup{App: app, State: AppPlain}},
		{name: "hydrated: refused", inline: inline, lookup: AppLookup{App: app, State: AppHydrated},
			want: []string{"Application argocd/webapp uses Argo CD's Source Hydrator", "commits what vaultcmp prints", "VaultStaticSecret webapp-ns/db, VaultStaticSecret webapp-ns/api", "delivery: in-cluster", "companion"}},
		{name: "hydrated with a cluster version: refused all the same", inline: inline, lookup: AppLookup{App: app, State: AppHydrated}, kube: "1.37.2",
			want: []string{"Source Hydrator"}},
		{name: "not found, cluster version: a new Application's check", inline: inline, lookup: AppLookup{App: app, State: AppNotFound}, kube: "1.37.2"},
		{name: "not found, no cluster version: refused", inline: inline, lookup: AppLookup{App: app, State: AppNotFound},
			want: []string{"Application argocd/webapp was not found", "VAULTCMP_ARGOCD_NAMESPACE", "VaultStaticSecret webapp-ns/db"}},
		{name: "unreadable: refused, naming the permission", inline: inline, lookup: AppLookup{App: app, Err: forbidden}, kube: "1.37.2",
			want: []string{"could not read Application argocd/webapp", "cannot get applications.argoproj.io", "Grant the sidecar's service account `get` on applications.argoproj.io", "delivery: in-cluster"}},
		{name: "no Application name: refused", inline: inline, lookup: AppLookup{Err: errors.New("ARGOCD_APP_NAME is not set")}, kube: "1.37.2",
			want: []string{"could not read the Application", "ARGOCD_APP_NAME is not set"}},
		{name: "unreadable without a reason: refused", inline: inline, lookup: AppLookup{App: app}, kube: "1.37.2",
			want: []string{"no reason given"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInline(tc.inline, tc.lookup, tc.kube)
			if len(tc.want) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	err := CheckInline(inline, AppLookup{App: app, Err: forbidden}, "")
	assert.ErrorIs(t, err, forbidden, "the read's error is wrapped")
}
