package renderer

import (
	"testing"
	"time"

	"github.com/vaultcmp/vaultcmp/limits"
)

// FuzzLoad: any bytes decode (as a repository file) to objects or an error,
// never a panic, in bounded time, and the objects hold no more nodes than the
// input's bytes allow plus the alias limit: an alias bomb cannot expand.
// Seeds: testdata/fuzz/FuzzLoad (the alias bomb among them).
func FuzzLoad(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n---\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n"))
	f.Add([]byte("a: &a [x,x,x,x]\nb: &b [*a,*a,*a,*a]\nc: [*b,*b,*b,*b]\nkind: X\n"))
	f.Add([]byte("kind: X\nx: <<: {a: 1}\n"))
	lim := limits.Default()
	lim.YAMLAliasNodes = 1000
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		start := time.Now()
		objs, err := NewLoader(lim).Decode(data, "fuzz.yaml")
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Decode took %s on %d bytes", d, len(data))
		}
		if err != nil {
			return
		}
		n := 0
		for _, o := range objs {
			n += countNodes(o.Data)
		}
		// Each node not reached through an alias takes at least one byte of
		// input, except for the merge-key path (yaml.v3's own alias bound).
		if bound := 4*len(data) + 4*int(lim.YAMLAliasNodes) + 16; n > bound {
			t.Fatalf("%d bytes decoded into %d nodes (bound %d)", len(data), n, bound)
		}
	})
}

func countNodes(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 1
		for _, c := range v {
			n += 1 + countNodes(c)
		}
		return n
	case []any:
		n := 1
		for _, c := range v {
			n += countNodes(c)
		}
		return n
	}
	return 1
}
