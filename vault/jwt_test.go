package vault_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// The wire of a jwt/kubernetes login: POST auth/<mount>/login {role, jwt},
// the JWT asked for once, when the login is sent. (The real Vault's
// kubernetes auth is exercised by test/e2e.)
func TestJWTAuthWire(t *testing.T) {
	f := newFakeVault(t, fakeOpts{})
	var minted atomic.Int64
	src := func(context.Context) (string, error) { minted.Add(1); return "eyJ.sa-token", nil }
	for _, tc := range []struct {
		name string
		auth vault.Auth
		path string
		jwt  string
	}{
		{"kubernetes, minted", vault.JWTAuth("kubernetes", "/k8s/", "app", src), "/v1/auth/k8s/login", "eyJ.sa-token"},
		{"jwt, fixed token", vault.JWTTokenAuth("jwt", "jwt", "ci", "eyJ.fixed"), "/v1/auth/jwt/login", "eyJ.fixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.requests())
			s := newSession(1)
			id := &vault.Identity{Connection: vault.Connection{Address: f.URL}, Auth: tc.auth}
			for range 2 {
				_, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "a", V2: true})
				require.NoError(t, err)
			}
			reqs := f.requests()[before:]
			require.Len(t, reqs, 2, "one login, one read")
			assert.Equal(t, "PUT", reqs[0].Method)
			assert.Equal(t, tc.path, reqs[0].Path)
			assert.Equal(t, map[string]any{"role": tc.auth.Role, "jwt": tc.jwt}, reqs[0].Body)
		})
	}
	assert.Equal(t, int64(1), minted.Load())
	assert.Equal(t, "eyJ.fixed", vault.JWTTokenAuth("jwt", "jwt", "ci", "eyJ.fixed").Secret, "a fixed token is part of the identity")
	assert.Empty(t, vault.JWTAuth("kubernetes", "k8s", "app", src).Secret, "a minted one is not")
}

// A JWT that cannot be had is a credentials error, before Vault is asked.
func TestJWTAuthSourceFails(t *testing.T) {
	f := newFakeVault(t, fakeOpts{})
	fail := func(context.Context) (string, error) {
		return "", errors.New("TokenRequest for service account app/sa: forbidden")
	}
	id := &vault.Identity{Connection: vault.Connection{Address: f.URL}, Auth: vault.JWTAuth("kubernetes", "kubernetes", "app", fail)}
	_, err := newSession(1).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "a", V2: true})
	vaultErr("login", vault.ReasonCredentials, 0)(t, err)
	assert.ErrorContains(t, err, "TokenRequest for service account app/sa: forbidden")
	assert.Empty(t, f.requests())
}
