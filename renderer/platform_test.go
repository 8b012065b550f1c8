package renderer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/limits"
)

// configMapDir lays files out as a ConfigMap mounted as a volume: each key
// a symlink into the hidden ..data directory.
func configMapDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_12_08")
	require.NoError(t, os.Mkdir(data, 0o755))
	for n, c := range files {
		require.NoError(t, os.WriteFile(filepath.Join(data, n), []byte(c), 0o644))
	}
	require.NoError(t, os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")))
	for n := range files {
		require.NoError(t, os.Symlink(filepath.Join("..data", n), filepath.Join(dir, n)))
	}
	return dir
}

const (
	platConn = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultConnection\nmetadata: {name: default}\nspec: {address: 'https://vault.platform:8200'}\n"
	platAuth = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: default}\nspec: {method: appRole, mount: approle, appRole: {roleId: r, secretRef: s}}\n"
	platST   = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: SecretTransformation\nmetadata: {name: shared, namespace: platform-team}\nspec: {templates: {url: {text: 'db://{{ .Secrets.db_user }}'}}}\n"
)

// LoadPlatform reads a ConfigMap's mount once: objects without a namespace
// are the operator's; anything but the four platform kinds, an invalid
// object or an unknown field is refused, naming the file.
func TestLoadPlatform(t *testing.T) {
	dir := configMapDir(t, map[string]string{"conn.yaml": platConn, "auth.yaml": platAuth, "st.yaml": platST})
	p, err := LoadPlatform(dir, "ops", limits.Default())
	require.NoError(t, err)
	assert.Equal(t, 3, p.Len())
	assert.Equal(t, "ops", p.OperatorNamespace())
	_, ok := p.Find(v1beta1.KindVaultAuth, "ops", "default")
	assert.True(t, ok)
	_, ok = p.Find(v1beta1.KindSecretTransformation, "platform-team", "shared")
	assert.True(t, ok)

	single, err := LoadPlatform(filepath.Join(dir, "conn.yaml"), "", limits.Default())
	require.NoError(t, err)
	_, ok = single.Find(v1beta1.KindVaultConnection, identity.DefaultOperatorNamespace, "default")
	assert.True(t, ok, "a file, in the default operator namespace")

	for name, tc := range map[string]struct{ doc, want string }{
		"a Secret":            {"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n", "is not a platform object"},
		"a VaultStaticSecret": {"apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: s}\nspec: {type: kv-v2, mount: m, path: p, destination: {name: s}}\n", "VaultStaticSecret is not a platform kind"},
		"an unknown field":    {"apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultConnection\nmetadata: {name: c}\nspec: {address: 'http://v', bogus: 1}\n", "bad.yaml: VaultConnection c: spec.bogus"},
		"a duplicate":         {platConn, "VaultConnection ops/default: defined twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadPlatform(configMapDir(t, map[string]string{"conn.yaml": platConn, "bad.yaml": tc.doc}), "ops", limits.Default())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = LoadPlatform(filepath.Join(t.TempDir(), "missing"), "ops", limits.Default())
	require.Error(t, err)
}

// A render resolves through the platform: the operator's default
// connection and auth for an app without refs, a platform
// SecretTransformation by ref; the platform's objects are never output.
func TestRenderWithPlatform(t *testing.T) {
	p, err := LoadPlatform(configMapDir(t, map[string]string{"conn.yaml": platConn, "auth.yaml": platAuth, "st.yaml": platST}), "ops", limits.Default())
	require.NoError(t, err)
	objs, err := Decode([]byte(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: a}
spec:
  type: kv-v2
  mount: secret
  path: webapp/config
  destination: {name: a, create: true, transformation: {transformationRefs: [{name: shared, namespace: platform-team}]}}
`), "app.yaml")
	require.NoError(t, err)
	m := newMem()
	opts := testOptions(m)
	opts.Platform, opts.Offline, opts.VaultToken, opts.VaultAddress = p, true, "", ""
	res, err := Render(t.Context(), objs, opts)
	require.NoError(t, err)
	out, err := res.Objects()
	require.NoError(t, err)
	require.Len(t, out, 1, "only the Secret: platform objects are not the app's output")
	assert.Equal(t, "Secret", out[0]["kind"])
	assert.Contains(t, out[0]["stringData"], "url", "the platform's template applies")

	// Without the platform the same app has no VaultAuth.
	opts.Platform = nil
	objs, err = Decode([]byte("apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: a}\nspec: {type: kv-v2, mount: secret, path: webapp/config, destination: {name: a, create: true}}\n"), "app.yaml")
	require.NoError(t, err)
	_, err = Render(t.Context(), objs, opts)
	require.ErrorContains(t, err, `no vaultAuthRef and no VaultAuth "default"`)
}
