package renderer

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/vaultcmp/vaultcmp/transform"
	"github.com/vaultcmp/vaultcmp/vault"
)

// buildCache makes each distinct transformation of one Vault read once:
// objects that read the same secret with the same transformation share the
// data (it is only read afterwards).
type buildCache struct {
	bounds transform.Bounds
	mu     sync.Mutex
	m      map[string]*buildResult
}

type buildResult struct {
	once sync.Once
	data map[string][]byte
	err  error
}

func (c *buildCache) build(ctx context.Context, sec *vault.KVSecret, r transform.Resolved, in transform.Input) (map[string][]byte, error) {
	key, ok := buildKey(sec, r, in)
	if !ok {
		return transform.BuildContext(ctx, r, in, c.bounds)
	}
	c.mu.Lock()
	b, found := c.m[key]
	if !found {
		b = &buildResult{}
		c.m[key] = b
	}
	c.mu.Unlock()
	b.once.Do(func() { b.data, b.err = transform.BuildContext(ctx, r, in, c.bounds) })
	return b.data, b.err
}

// buildKey identifies everything Build reads. With templates the owner's
// name, labels and annotations are inputs too.
func buildKey(sec *vault.KVSecret, r transform.Resolved, in transform.Input) (string, bool) {
	if len(r.Refs) == 0 && reflect.ValueOf(r.Spec).IsZero() {
		return fmt.Sprintf("%p", sec), true // no transformation: the read alone decides
	}
	k := struct {
		Spec  any
		Refs  []string
		Owner []any `json:",omitempty"`
	}{Spec: r.Spec}
	for _, st := range r.Refs {
		k.Refs = append(k.Refs, fmt.Sprintf("%p", st))
	}
	if transform.HasTemplates(r) {
		k.Owner = []any{in.Namespace, in.Name, in.Labels, in.Annotations}
	}
	b, err := json.Marshal(k)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("%p", sec) + string(b), true
}
