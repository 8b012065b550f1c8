package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failed asserts the fail-closed contract: exit 1, nothing on stdout.
func failed(t *testing.T, r result) {
	t.Helper()
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Empty(t, r.stdout, "a failed render must print nothing on stdout")
}

func TestForbidden(t *testing.T) {
	ctx := t.Context()
	c := vaultSrv.Client
	require.NoError(t, c.Sys().PutPolicyWithContext(ctx, "only-other", `path "secret/data/other/*" { capabilities = ["read"] }`))
	tok, err := c.Auth().Token().CreateWithContext(ctx, &api.TokenCreateRequest{Policies: []string{"only-other"}})
	require.NoError(t, err)
	dir := writeApp(t, map[string]string{
		"a.yaml": vss("denied", "kv-v2", "secret", "webapp/config"),
		"b.yaml": vss("missing", "kv-v2", "secret", "other/none"),
	})
	r := run(t, []string{"VAULT_ADDR=" + vaultSrv.Addr, "VAULT_TOKEN=" + tok.Auth.ClientToken}, "render", "--delivery=inline", dir)
	failed(t, r)
	// Every problem at once, each with object, field, Vault path, status and hint.
	assert.Contains(t, r.stderr, "2 problems")
	assert.Contains(t, r.stderr, "a.yaml: VaultStaticSecret denied: spec.path: read secret/data/webapp/config")
	assert.Contains(t, r.stderr, "HTTP 403")
	assert.Contains(t, r.stderr, `grant "read" on "secret/data/webapp/config"`)
	assert.Contains(t, r.stderr, "b.yaml: VaultStaticSecret missing: spec.path: read secret/data/other/none")
	assert.Contains(t, r.stderr, "HTTP 404")
	assert.Contains(t, r.stderr, "check the mount, the path and the KV version")
	assert.NotContains(t, r.stderr, tok.Auth.ClientToken)
}

func TestNotFoundVersion(t *testing.T) {
	dir := writeApp(t, map[string]string{"a.yaml": vss("v99", "kv-v2", "secret", "webapp/config", "  version: 99")})
	r := run(t, rootEnv(), "render", "--delivery=inline", dir)
	failed(t, r)
	assert.Contains(t, r.stderr, "HTTP 404")
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := run(t, []string{"VAULT_ADDR=http://" + addr, "VAULT_TOKEN=x"}, "render", examples("webapp"))
	failed(t, r)
	assert.Contains(t, r.stderr, "unreachable")
	assert.Contains(t, r.stderr, "Vault cannot be reached")
	assert.Contains(t, r.stderr, "read secret/data/webapp/config at http://"+addr)
}

func TestSealed(t *testing.T) {
	ctx := t.Context()
	v, err := StartVault(ctx)
	require.NoError(t, err)
	defer v.Stop()
	require.NoError(t, v.Client.Sys().SealWithContext(ctx))
	r := run(t, []string{"VAULT_ADDR=" + v.Addr, "VAULT_TOKEN=" + RootToken}, "render", examples("webapp"))
	failed(t, r)
	assert.Contains(t, r.stderr, "HTTP 503")
	assert.Contains(t, r.stderr, "Vault is sealed")
}

// Bad manifests are refused before Vault is asked, with file, object and field.
func TestInvalidManifests(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"bad.yaml": `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: bad
spec:
  type: kv-v3
  mount: /secret
  path: ../etc
  refreshAfter: 1d
  destinaton:
    name: x
`,
	})
	r := run(t, rootEnv(), "render", dir)
	failed(t, r)
	for _, want := range []string{"bad.yaml: VaultStaticSecret bad", "spec.destinaton", "spec.type", "spec.mount", "spec.path", "spec.refreshAfter"} {
		assert.Contains(t, r.stderr, want)
	}
	assert.Contains(t, r.stderr, "vault_reads=0")
}

// References are checked: missing objects, and allowedNamespaces.
func TestReferences(t *testing.T) {
	auth := func(ns, allowed string) string {
		s := fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: shared
  namespace: %s
spec:
  method: appRole
  mount: approle
  appRole:
    roleId: r
    secretRef: creds
`, ns)
		if allowed != "" {
			s += "  allowedNamespaces: [" + allowed + "]\n"
		}
		return s
	}
	consumer := strings.Replace(vss("c", "kv-v2", "secret", "webapp/config"), "metadata:\n  name: c", "metadata:\n  name: c\n  namespace: team-b", 1) +
		"  vaultAuthRef: team-a/shared\n"

	r := run(t, rootEnv(), "render", writeApp(t, map[string]string{"a.yaml": auth("team-a", ""), "c.yaml": consumer}))
	failed(t, r)
	assert.Contains(t, r.stderr, `does not allow use from namespace "team-b"`)

	r = run(t, rootEnv(), "render", writeApp(t, map[string]string{"a.yaml": auth("team-a", "team-b"), "c.yaml": consumer}))
	assert.Equal(t, 0, r.code, r.stderr)

	r = run(t, rootEnv(), "render", writeApp(t, map[string]string{"c.yaml": consumer}))
	failed(t, r)
	assert.Contains(t, r.stderr, "VaultAuth team-a/shared not found")
}
