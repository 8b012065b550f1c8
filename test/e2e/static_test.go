package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func examples(name string) string { return filepath.Join(RepoRoot(), "examples", name) }

// The seed's webapp, as written, renders with VAULT_ADDR and VAULT_TOKEN,
// with the default delivery (in-cluster): a carrier per Vault object, each
// in sync wave -1, the static one with the KV version it was read at; no
// destination Secret and no value anywhere in the output.
func TestSeedWebapp(t *testing.T) {
	r := run(t, rootEnv(), "render", examples("webapp"))
	require.Equal(t, 0, r.code, r.stderr)
	objs := docs(t, r.stdout)
	for _, o := range objs {
		assert.NotContains(t, []string{"VaultConnection", "VaultAuth", "VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret"}, o["kind"])
		assert.NotContains(t, []any{"webapp-k8s-secret", "webapp-db-secret", "webapp-tls-secret"}, o["metadata"].(map[string]any)["name"])
	}
	assertNoSecrets(t, r.stdout)
	for _, name := range []string{"vaultcmp-vds.webapp-db-creds", "vaultcmp-pki.webapp-tls", "vaultcmp-vss.webapp-config"} {
		c := find(t, objs, "Secret", name)
		assert.Nil(t, c["data"], name)
		assert.Equal(t, "vaultcmp.io/contract-v1", c["type"])
		md := c["metadata"].(map[string]any)
		assert.Equal(t, "in-cluster", md["labels"].(map[string]any)["vaultcmp.io/delivery"], name)
		ann := md["annotations"].(map[string]any)
		assert.Equal(t, "-1", ann["argocd.argoproj.io/sync-wave"], name)
		assert.Contains(t, ann["vaultcmp.io/contract"], `"version":"v1"`)
	}
	assert.NotEmpty(t, find(t, objs, "Secret", "vaultcmp-vss.webapp-config")["metadata"].(map[string]any)["annotations"].(map[string]any)["vaultcmp.io/kv-version"])
	// The companion restarts the Deployment: no checksum in the output.
	d := find(t, objs, "Deployment", "webapp")
	assert.Nil(t, d["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"])
	assert.Contains(t, r.stderr, "vault_reads=1", "generate reads the KV version")
}

// The seed's webapp with --delivery inline: the static Secret with its
// values, a checksum on the rollout target, and an inline carrier (for
// refreshAfter) next to the dynamic and PKI carriers.
func TestSeedWebappInline(t *testing.T) {
	r := run(t, rootEnv(), "render", "--delivery=inline", examples("webapp"))
	require.Equal(t, 0, r.code, r.stderr)
	objs := docs(t, r.stdout)

	for _, o := range objs {
		assert.NotContains(t, []string{"VaultConnection", "VaultAuth", "VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret"}, o["kind"])
	}
	s := find(t, objs, "Secret", "webapp-k8s-secret")
	md := s["metadata"].(map[string]any)
	assert.Equal(t, "webapp-ns", md["namespace"])
	assert.Equal(t, "webapp", md["labels"].(map[string]any)["app"])
	assert.Equal(t, "Opaque", s["type"])
	data := secretData(t, s)
	for k, v := range webappConfig {
		assert.Equal(t, v, data[k], k)
	}
	assert.Contains(t, data, "_raw")
	assert.Contains(t, data["_raw"], `"metadata":{`)

	// The rollout target gets a checksum that is not a plain hash of the data.
	d := find(t, objs, "Deployment", "webapp")
	ann := d["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
	sum, ok := ann["checksum.vaultcmp.io/webapp-k8s-secret"].(string)
	require.True(t, ok, "checksum annotation missing: %v", ann)
	assert.Len(t, sum, 64)

	// Dynamic and PKI secrets are left to the in-cluster companion: a
	// carrier of the contract each, no destination Secret (the companion
	// creates it); the static secret with refreshAfter gets an inline carrier.
	for name, delivery := range map[string]string{"vaultcmp-vds.webapp-db-creds": "in-cluster", "vaultcmp-pki.webapp-tls": "in-cluster", "vaultcmp-vss.webapp-config": "inline"} {
		c := find(t, objs, "Secret", name)
		assert.Nil(t, c["data"], name)
		assert.Equal(t, "vaultcmp.io/contract-v1", c["type"])
		md := c["metadata"].(map[string]any)
		assert.Equal(t, delivery, md["labels"].(map[string]any)["vaultcmp.io/delivery"])
		assert.Contains(t, md["annotations"].(map[string]any)["vaultcmp.io/contract"], `"version":"v1"`)
	}
	for _, o := range objs {
		assert.NotContains(t, []any{"webapp-db-secret", "webapp-tls-secret"}, o["metadata"].(map[string]any)["name"])
	}
	assert.Contains(t, find(t, objs, "Secret", "vaultcmp-vss.webapp-config")["metadata"].(map[string]any)["annotations"], "vaultcmp.io/kv-version")
	assert.Contains(t, r.stderr, "vault_reads=1")
	assert.Contains(t, r.stderr, "logins=0")
}

// The seed's transformation example.
func TestSeedTransformation(t *testing.T) {
	r := run(t, rootEnv(), "render", "--delivery=inline", examples("webapp-transform"))
	require.Equal(t, 0, r.code, r.stderr)
	data := secretData(t, find(t, docs(t, r.stdout), "Secret", "webapp-k8s-secret"))
	assert.Equal(t, "postgresql://webapp-user-Kp1:s3cr3t-db-pass-7Qx@db.internal:5432/appdb\n", data["DATABASE_URL"])
	assert.Equal(t, "redis://:r3dis-pass-Zk9@redis:6379/0\n", data["REDIS_URL"])
	assert.NotContains(t, data, "internal_key")
	assert.NotContains(t, data, "_raw")
	assert.Equal(t, "api-key-Wq4", data["api_key"])
}

// Same inputs and Vault data give byte-identical output.
func TestDeterminism(t *testing.T) {
	env := rootEnv()
	a := run(t, env, "render", "--delivery=inline", examples("webapp"))
	b := run(t, env, "render", "--delivery=inline", examples("webapp"))
	require.Equal(t, 0, a.code, a.stderr)
	require.Equal(t, 0, b.code, b.stderr)
	assert.Equal(t, a.stdout, b.stdout)
	c := run(t, env, "render", "--delivery=inline", examples("webapp-transform"))
	d := run(t, env, "render", "--delivery=inline", examples("webapp-transform"))
	assert.Equal(t, c.stdout, d.stdout)
}

const vssTemplate = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: NAME
spec:
  type: TYPE
  mount: MOUNT
  path: PATH
  destination:
    name: NAME
    create: true
`

func vss(name, typ, mount, path string, extra ...string) string {
	s := strings.NewReplacer("NAME", name, "TYPE", typ, "MOUNT", mount, "PATH", path).Replace(vssTemplate)
	for _, e := range extra {
		s += e + "\n"
	}
	return s
}

// Three objects in three files that read one secret under one identity:
// one read reaches the real Vault, the other two share it.
func TestIdenticalReadsOneVaultRead(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"a.yaml": vss("a", "kv-v2", "secret", "webapp/config"),
		"b.yaml": vss("b", "kv-v2", "secret", "webapp/config"),
		"c.yaml": vss("c", "kv-v2", "secret", "webapp/config"),
	})
	r := run(t, rootEnv(), "render", "--delivery=inline", "-n", "apps", dir)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `\bvault_reads=1\b`, r.stderr)
	assert.Contains(t, r.stderr, "cache_hits=2")
	objs := docs(t, r.stdout)
	want := secretData(t, find(t, objs, "Secret", "a"))
	assert.Equal(t, webappConfig["db_user"], want["db_user"])
	for _, name := range []string{"b", "c"} {
		assert.Equal(t, want, secretData(t, find(t, objs, "Secret", name)), name)
	}
}

func TestKVv1(t *testing.T) {
	ctx := t.Context()
	c := vaultSrv.Client
	require.NoError(t, c.Sys().MountWithContext(ctx, "kv1", &api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}))
	require.NoError(t, c.KVv1("kv1").Put(ctx, "team/app", map[string]any{"user": "alice", "port": 5432, "enabled": true}))
	dir := writeApp(t, map[string]string{"s.yaml": vss("v1", "kv-v1", "kv1", "team/app")})
	r := run(t, rootEnv(), "render", "--delivery=inline", "-n", "apps", dir)
	require.Equal(t, 0, r.code, r.stderr)
	data := secretData(t, find(t, docs(t, r.stdout), "Secret", "v1"))
	assert.Equal(t, map[string]string{
		"user": "alice", "port": "5432", "enabled": "true",
		"_raw": `{"enabled":true,"port":5432,"user":"alice"}`,
	}, data)

	// kv-v1 read of a kv-v2 mount is a 404 with a hint about the KV version.
	dir = writeApp(t, map[string]string{"s.yaml": vss("wrong", "kv-v1", "secret", "webapp/config")})
	r = run(t, rootEnv(), "render", "--delivery=inline", dir)
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "KV version")
}

func TestKVv2Versions(t *testing.T) {
	ctx := t.Context()
	kv := vaultSrv.Client.KVv2("secret")
	_, err := kv.Put(ctx, "versioned", map[string]any{"color": "red"})
	require.NoError(t, err)
	_, err = kv.Put(ctx, "versioned", map[string]any{"color": "blue"})
	require.NoError(t, err)
	dir := writeApp(t, map[string]string{
		"latest.yaml": vss("latest", "kv-v2", "secret", "versioned", "  rolloutRestartTargets: []"),
		"v1.yaml":     vss("first", "kv-v2", "secret", "versioned", "  version: 1"),
	})
	r := run(t, rootEnv(), "render", "--delivery=inline", dir)
	require.Equal(t, 0, r.code, r.stderr)
	objs := docs(t, r.stdout)
	assert.Equal(t, "blue", secretData(t, find(t, objs, "Secret", "latest"))["color"])
	assert.Equal(t, "red", secretData(t, find(t, objs, "Secret", "first"))["color"])
	assert.Contains(t, secretData(t, find(t, objs, "Secret", "first"))["_raw"], `"version":1`)
}

// A kustomization is built in-process; plain objects pass through.
func TestKustomization(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"kustomization.yaml": "namespace: kz\nresources:\n- secret.yaml\n- cm.yaml\ncommonLabels:\n  team: a\n",
		"secret.yaml":        vss("kz-secret", "kv-v2", "secret", "webapp/config"),
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  big: \"12345678901234567890\"\n",
	})
	r := run(t, rootEnv(), "render", "--delivery=inline", dir)
	require.Equal(t, 0, r.code, r.stderr)
	objs := docs(t, r.stdout)
	s := find(t, objs, "Secret", "kz-secret")
	assert.Equal(t, "kz", s["metadata"].(map[string]any)["namespace"])
	assert.Equal(t, "webapp-user-Kp1", secretData(t, s)["db_user"])
	cm := find(t, objs, "ConfigMap", "plain")
	assert.Equal(t, "12345678901234567890", cm["data"].(map[string]any)["big"])
	assert.Equal(t, "a", cm["metadata"].(map[string]any)["labels"].(map[string]any)["team"])
}
