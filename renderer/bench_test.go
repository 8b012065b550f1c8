package renderer

import (
	"fmt"
	"io"
	"strings"
	"testing"

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
