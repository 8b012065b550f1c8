package vault

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"
)

// KVRequest is one read from a KV secrets engine (v1 or v2).
type KVRequest struct {
	Identity  *Identity
	Namespace string // Vault namespace of the mount; "" = the identity's
	Mount     string
	Path      string
	V2        bool
	Version   int // kv-v2 only; 0 = latest
}

// KVSecret is what a KV read returns.
type KVSecret struct {
	// Fields are the secret's key/value pairs: .data for kv-v1, .data.data for kv-v2.
	Fields map[string]any
	// Response is the whole response .data (kv-v2: {"data":…, "metadata":…}).
	Response map[string]any
	// Version is the kv-v2 version read, 0 for kv-v1.
	Version int
}

// APIPath is the path under /v1/ that the read goes to.
func (r KVRequest) APIPath() string {
	m, p := trimSlashes(r.Mount), trimSlashes(r.Path)
	if r.V2 {
		return path.Join(m, "data", p)
	}
	return path.Join(m, p)
}

func (r KVRequest) query() map[string][]string {
	if r.V2 && r.Version > 0 {
		return url.Values{"version": {strconv.Itoa(r.Version)}}
	}
	return nil
}

func (r KVRequest) key() string {
	// V2 is part of the key: a kv-v1 read of "secret/data/x" and a kv-v2
	// read of "secret/x" hit the same URL but unwrap the answer differently.
	return fmt.Sprintf("%s\x00%s\x00%s\x00%t\x00%d", r.Identity.Key(), r.Namespace, r.APIPath(), r.V2, r.Version)
}

func (r KVRequest) check() error {
	if r.Identity == nil {
		return fmt.Errorf("vault: KV request for %s has no identity", r.APIPath())
	}
	for _, s := range []string{r.Mount, r.Path} {
		if strings.HasPrefix(s, "/") || containsDotDot(s) {
			return &Error{Op: "read", Address: r.Identity.Connection.Address, Path: r.APIPath(), Reason: ReasonConfig,
				Err: fmt.Errorf("mount and path must be relative and must not contain \"..\"")}
		}
	}
	return nil
}

func containsDotDot(s string) bool {
	for _, seg := range strings.Split(s, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// parse unwraps a KV response, turning "no secret here" into a 404 Error.
func (r KVRequest) parse(s *api.Secret) (*KVSecret, *Error) {
	notFound := func(msgs []string) *Error {
		return &Error{Op: "read", Status: http.StatusNotFound, Reason: ReasonNotFound, Messages: msgs}
	}
	if s == nil {
		return nil, notFound(nil)
	}
	if s.Data == nil {
		return nil, notFound(s.Warnings)
	}
	if !r.V2 {
		return &KVSecret{Fields: s.Data, Response: s.Data}, nil
	}
	fields, ok := s.Data["data"].(map[string]any)
	if !ok {
		msgs := s.Warnings
		if md, ok := s.Data["metadata"].(map[string]any); ok {
			if dt, _ := md["deletion_time"].(string); dt != "" {
				msgs = append(msgs, "the version was deleted at "+dt)
			}
			if d, _ := md["destroyed"].(bool); d {
				msgs = append(msgs, "the version was destroyed")
			}
		}
		if len(msgs) == 0 && s.Data["data"] != nil {
			return nil, &Error{Op: "read", Status: http.StatusOK, Reason: ReasonNotFound,
				Messages: []string{"the response is not a kv-v2 secret: check the object's type (kv-v1 or kv-v2)"}}
		}
		return nil, notFound(msgs)
	}
	out := &KVSecret{Fields: fields, Response: s.Data}
	if md, ok := s.Data["metadata"].(map[string]any); ok {
		out.Version = intOf(md["version"])
	}
	return out, nil
}

func intOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}
