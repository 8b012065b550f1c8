package renderer

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// benchApp is 1,000 VaultStaticSecrets over 100 KV paths.
func benchApp() (string, *memVault) {
	m := &memVault{kv: map[string]*vault.KVSecret{}}
	var b strings.Builder
	for i := range 1000 {
		p := fmt.Sprintf("bench/p%03d", i%100)
		m.kv["secret/data/"+p] = kv2(1, map[string]any{"user": "u", "password": "p", "port": 5432})
		b.WriteString("---\n" + benchStatic(i))
	}
	return b.String(), m
}

// benchStatic is benchApp's i-th VaultStaticSecret.
func benchStatic(i int) string {
	return fmt.Sprintf("apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata:\n  name: s%04d\nspec:\n  type: kv-v2\n  mount: secret\n  path: bench/p%03d\n  destination:\n    name: s%04d\n    create: true\n", i, i%100, i)
}

// BenchmarkPipeline measures everything but Vault: decode, plan, transform, emit.
func BenchmarkPipeline(b *testing.B) {
	app, m := benchApp()
	b.ReportAllocs()
	for b.Loop() {
		objs, err := Decode([]byte(app), "app.yaml")
		if err != nil {
			b.Fatal(err)
		}
		res, err := Render(b.Context(), objs, testOptions(m))
		if err != nil {
			b.Fatal(err)
		}
		if err := res.WriteYAML(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// A large app is not held whole: the loader decodes each Vault object and
// drops its input maps, and Render keeps a rendered Secret only as its YAML
// document (Objects decodes it again, to the same bytes).
func TestLargeAppHeldOnce(t *testing.T) {
	app, m := benchApp()
	objs, err := Decode([]byte(app), "app.yaml")
	require.NoError(t, err)
	for _, o := range objs {
		require.Nil(t, o.Data, "%s: the input of a decoded Vault object", o.Where())
		require.NotNil(t, o.decoded, o.Where())
		require.NoError(t, o.decoded.err, o.Where())
	}
	plain, err := Decode([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"), "c.yaml")
	require.NoError(t, err)
	require.NotNil(t, plain[0].Data, "other objects keep their data")

	res, err := Render(t.Context(), objs, testOptions(m))
	require.NoError(t, err)
	require.Len(t, res.objects, 1000)
	for i := range res.objects {
		require.Nil(t, res.objects[i], "Secret %d kept as a map", i)
		require.NotEmpty(t, res.encoded[i])
	}
	var direct, again strings.Builder
	require.NoError(t, res.WriteYAML(&direct))
	outObjs, err := res.Objects()
	require.NoError(t, err)
	require.Len(t, outObjs, 1000)
	require.NoError(t, WriteYAML(&again, outObjs))
	require.Equal(t, direct.String(), again.String())
}
