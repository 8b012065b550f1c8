package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setupAppRole enables AppRole with a role that may read secret/data/webapp/*
// and returns its role-id and a secret-id.
func setupAppRole(ctx context.Context, t testing.TB) (roleID, secretID string) {
	t.Helper()
	c := vaultSrv.Client
	auths, err := c.Sys().ListAuthWithContext(ctx)
	require.NoError(t, err)
	if _, ok := auths["approle/"]; !ok {
		require.NoError(t, c.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}))
	}
	require.NoError(t, c.Sys().PutPolicyWithContext(ctx, "webapp-read", `
path "secret/data/webapp/*" { capabilities = ["read"] }
path "secret/data/bench/*" { capabilities = ["read"] }
`))
	_, err = c.Logical().WriteWithContext(ctx, "auth/approle/role/webapp", map[string]any{"token_policies": "webapp-read", "token_ttl": "10m"})
	require.NoError(t, err)
	s, err := c.Logical().ReadWithContext(ctx, "auth/approle/role/webapp/role-id")
	require.NoError(t, err)
	roleID = s.Data["role_id"].(string)
	s, err = c.Logical().WriteWithContext(ctx, "auth/approle/role/webapp/secret-id", nil)
	require.NoError(t, err)
	return roleID, s.Data["secret_id"].(string)
}

const appRoleApp = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata:
  name: vault-connection
spec:
  address: %s
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: vault-auth-approle
spec:
  vaultConnectionRef: vault-connection
  method: appRole
  mount: approle
  appRole:
    roleId: %q
%s
`

func TestAppRoleLogin(t *testing.T) {
	roleID, secretID := setupAppRole(t.Context(), t)
	secrets := ""
	for i := range 5 {
		secrets += "---\n" + vss(fmt.Sprintf("s%d", i), "kv-v2", "secret", "webapp/config", "  vaultAuthRef: vault-auth-approle")
	}
	for _, tc := range []struct {
		name, ref string
		env       []string
	}{
		{"secretRef object from env", "    secretRef:\n      name: vault-approle-creds\n      key: secret-id",
			[]string{"VAULTCMP_SECRET_VAULT_APPROLE_CREDS_SECRET_ID=" + secretID}},
		{"secretRef string from env", "    secretRef: creds", []string{"VAULTCMP_SECRET_CREDS_ID=" + secretID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeApp(t, map[string]string{
				"auth.yaml":    fmt.Sprintf(appRoleApp, vaultSrv.Addr, roleID, tc.ref),
				"secrets.yaml": secrets,
			})
			r := run(t, append(tc.env, "VAULTCMP_HMAC_KEY=k"), "render", "--delivery=inline", "-n", "webapp-ns", dir)
			require.Equal(t, 0, r.code, r.stderr)
			objs := docs(t, r.stdout)
			assert.Len(t, objs, 5)
			assert.Equal(t, "webapp-user-Kp1", secretData(t, find(t, objs, "Secret", "s3"))["db_user"])
			// One login for the identity, one read for five identical objects.
			assert.Contains(t, r.stderr, "logins=1")
			assert.Contains(t, r.stderr, "vault_reads=1")
			assert.Contains(t, r.stderr, "cache_hits=4")
			assert.NotContains(t, r.stderr, secretID)
		})
	}

	t.Run("wrong secret-id", func(t *testing.T) {
		dir := writeApp(t, map[string]string{
			"auth.yaml":    fmt.Sprintf(appRoleApp, vaultSrv.Addr, roleID, "    secretRef: creds"),
			"secrets.yaml": secrets,
		})
		r := run(t, []string{"VAULTCMP_SECRET_CREDS_ID=not-the-secret-id"}, "render", "--delivery=inline", dir)
		failed(t, r)
		assert.Contains(t, r.stderr, "spec.vaultAuthRef: login auth/approle/login")
		assert.Contains(t, r.stderr, "logins=1")
		assert.NotContains(t, r.stderr, "not-the-secret-id")
		assert.NotContains(t, r.stderr, roleID)
	})

	t.Run("secret-id missing", func(t *testing.T) {
		dir := writeApp(t, map[string]string{
			"auth.yaml":    fmt.Sprintf(appRoleApp, vaultSrv.Addr, roleID, "    secretRef: creds"),
			"secrets.yaml": secrets,
		})
		r := run(t, nil, "render", "--delivery=inline", dir)
		failed(t, r)
		assert.Contains(t, r.stderr, "VAULTCMP_SECRET_CREDS_ID")
		assert.Equal(t, 5, strings.Count(r.stderr, "spec.vaultAuthRef"), r.stderr)
	})
}
