package vault_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// TestAllowListKeepsCredentialsHome: an address outside the operator's list
// gets no login, no token and no request at all, whatever the auth method.
func TestAllowListKeepsCredentialsHome(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		allow func(attacker string) string
		id    func(addr string) *vault.Identity
	}{
		{"AppRole, another address allowed", func(string) string { return "https://vault.corp.com:8200" },
			func(a string) *vault.Identity { return appRoleID(a, "role", "s.secret-id") }},
		{"token, another address allowed", func(string) string { return "https://vault.corp.com:8200" },
			func(a string) *vault.Identity { return tokenID(a, "hvs.token") }},
		{"AppRole, nothing allowed", func(string) string { return "" },
			func(a string) *vault.Identity { return appRoleID(a, "role", "s.secret-id") }},
		{"token, nothing allowed", func(string) string { return "" },
			func(a string) *vault.Identity { return tokenID(a, "hvs.token") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			attacker := newFakeVault(t, fakeOpts{})
			allow, err := vault.ParseAllowList(tc.allow(attacker.URL))
			require.NoError(t, err)
			s := vault.NewSession(vault.Options{AllowList: &allow, MaxRetries: -1})
			_, err = s.ReadKV(t.Context(), vault.KVRequest{Identity: tc.id(attacker.URL), Mount: "secret", Path: "app", V2: true})
			vaultErr("login", vault.ReasonNotAllowed, 0)(t, err)
			assert.Contains(t, err.Error(), vault.EnvAllowedVaultAddresses)
			assert.Empty(t, attacker.requests(), "the address outside the allow-list received a request")
		})
	}
}

// TestAllowListAllows: the allowed address works as before.
func TestAllowListAllows(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{})
	allow, err := vault.ParseAllowList(f.URL)
	require.NoError(t, err)
	s := vault.NewSession(vault.Options{AllowList: &allow, MaxRetries: -1})
	_, err = s.ReadKV(t.Context(), vault.KVRequest{Identity: appRoleID(f.URL, "role", "sid"), Mount: "secret", Path: "app", V2: true})
	require.NoError(t, err)
	logins, reads := f.count()
	assert.Equal(t, 1, logins)
	assert.Equal(t, 1, reads)
}

// TestRedirectCarriesNoToken: a Vault that answers 307 to another host does
// not get the token sent there, with or without an allow-list.
func TestRedirectCarriesNoToken(t *testing.T) {
	t.Parallel()
	for _, withList := range []bool{false, true} {
		attacker := newFakeVault(t, fakeOpts{})
		redirector := newFakeVault(t, fakeOpts{handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, attacker.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}})
		opts := vault.Options{MaxRetries: -1}
		if withList {
			allow, err := vault.ParseAllowList(redirector.URL)
			require.NoError(t, err)
			opts.AllowList = &allow
		}
		for _, id := range []*vault.Identity{tokenID(redirector.URL, "hvs.token"), appRoleID(redirector.URL, "role", "sid")} {
			_, err := vault.NewSession(opts).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "app", V2: true})
			assert.Error(t, err, "a redirect is an error")
		}
		assert.Empty(t, attacker.requests(), "allow-list %v: the redirect's target received a request", withList)
		assert.NotEmpty(t, redirector.requests())
	}
}
