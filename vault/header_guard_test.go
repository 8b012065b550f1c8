package vault_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// TestCredentialHeadersNeverSent is the vault package's last guard (issue
// 15, row 1): an identity whose connection or login headers carry a
// credential header sends nothing at all, to any Vault.
func TestCredentialHeadersNeverSent(t *testing.T) {
	for name, mk := range map[string]func(addr string) *vault.Identity{
		"connection X-Vault-Token": func(addr string) *vault.Identity {
			id := appRoleID(addr, "role", "sid")
			id.Connection.Headers = map[string]string{"X-Vault-Token": "attacker"}
			return id
		},
		"login x-vault-token": func(addr string) *vault.Identity {
			id := appRoleID(addr, "role", "sid")
			id.Auth.Headers = map[string]string{"x-vault-token": "attacker"}
			return id
		},
		"login Authorization": func(addr string) *vault.Identity {
			id := appRoleID(addr, "role", "sid")
			id.Auth.Headers = map[string]string{"Authorization": "Bearer attacker"}
			return id
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
			l := newLifecycle(t, f.URL)
			_, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: mk(f.URL), Mount: "database", Path: "creds/ro"})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "never sends it from a manifest")
			assert.NotContains(t, err.Error(), "attacker")
			_, err = newSession(1).ReadKV(t.Context(), vault.KVRequest{Identity: mk(f.URL), Mount: "kv", Path: "p"})
			require.Error(t, err)
			assert.Empty(t, f.requests(), "no request reaches Vault")
		})
	}
}
