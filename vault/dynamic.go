package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// DynamicRequest is one read (or write) of a dynamic secrets engine, e.g.
// database/creds/<role> (VSO's VaultDynamicSecret).
type DynamicRequest struct {
	Identity  *Identity
	Namespace string // Vault namespace (overrides the auth's), optional
	Mount     string // e.g. "database"
	Path      string // e.g. "creds/webapp-readonly"
	// Method is VSO's requestHTTPMethod: "" or GET reads; PUT or POST
	// (which Vault treats alike) writes Params. Non-empty Params force a
	// write, as in VSO.
	Method string
	Params map[string]any
}

// Lease is a Vault lease as Vault last reported it.
type Lease struct {
	ID        string
	Duration  time.Duration
	Renewable bool
}

// DynamicSecret is what a dynamic read returns.
type DynamicSecret struct {
	Data  map[string]any // the secret's data (database: username, password)
	Raw   map[string]any // the whole response body's data, for `_raw`
	Lease Lease
	// TokenGeneration names the Vault token that created the lease: Vault
	// revokes the lease when that token expires. See
	// [Lifecycle.TokenDeadline] and [Lifecycle.RenewTokens].
	TokenGeneration uint64
}

// APIPath is the path under /v1/ the request goes to.
func (r DynamicRequest) APIPath() string { return path.Join(trimSlashes(r.Mount), trimSlashes(r.Path)) }

// write tells whether the request is a write, or an error for an unknown
// method.
func (r DynamicRequest) write() (bool, error) {
	switch strings.ToUpper(r.Method) {
	case "", http.MethodGet:
		return len(r.Params) > 0, nil
	case http.MethodPut, http.MethodPost:
		return true, nil
	}
	return false, fmt.Errorf("requestHTTPMethod %q: want GET, PUT or POST", r.Method)
}

// ReadDynamic reads (or, for PUT/POST, writes) a dynamic secret. Every call
// asks Vault: each one is a new credential.
func (l *Lifecycle) ReadDynamic(ctx context.Context, req DynamicRequest) (*DynamicSecret, error) {
	p := req.APIPath()
	if req.Identity == nil {
		return nil, &Error{Op: "read", Path: p, Reason: ReasonConfig, Err: errors.New("no identity")}
	}
	if err := checkRelative("read", req.Identity, p, req.Mount, req.Path); err != nil {
		return nil, err
	}
	if req.Mount == "" || req.Path == "" {
		return nil, &Error{Op: "read", Address: req.Identity.Connection.Address, Path: p, Reason: ReasonConfig, Err: errors.New("mount and path are required")}
	}
	write, err := req.write()
	if err != nil {
		return nil, &Error{Op: "read", Address: req.Identity.Connection.Address, Path: p, Reason: ReasonConfig, Err: err}
	}
	op := "read"
	if write {
		op = "write"
	}
	s, gen, err := l.do(ctx, request{op: op, ns: req.Namespace, path: p, id: req.Identity, lease: leaseHold,
		send: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			if write {
				return c.Logical().WriteWithContext(ctx, p, req.Params)
			}
			return c.Logical().ReadWithContext(ctx, p)
		}})
	if err != nil {
		return nil, err
	}
	if s == nil || s.Data == nil {
		// vault/api answers nil for a 404 without errors (a read) or a 204
		// (a write).
		status := http.StatusNotFound
		if write {
			status = http.StatusNoContent
		}
		return nil, &Error{Op: op, Address: req.Identity.Connection.Address, Namespace: req.Namespace, Path: p, Status: status,
			Reason: ReasonNotFound, Messages: []string{"Vault returned no data"}}
	}
	return &DynamicSecret{Data: s.Data, Raw: s.Data, TokenGeneration: gen,
		Lease: Lease{ID: s.LeaseID, Duration: time.Duration(s.LeaseDuration) * time.Second, Renewable: s.Renewable}}, nil
}

// RenewLease asks Vault to extend leaseID by increment (PUT
// sys/leases/renew/<lease id>, one request when the token is not due). The
// lease id travels in the path, never in the body, so that a Vault policy
// can scope renewals to an app's own paths (path
// "sys/leases/renew/database/creds/webapp-role/*"). The returned
// Lease.Duration may be shorter than increment (max TTL truncation): the
// caller compares and re-issues.
func (l *Lifecycle) RenewLease(ctx context.Context, id *Identity, leaseID string, increment time.Duration) (Lease, error) {
	shown := leasePath("sys/leases/renew", leaseID)
	if err := checkLeaseID("renew", id, shown, leaseID); err != nil {
		return Lease{}, err
	}
	full := "sys/leases/renew/" + leaseID
	body := map[string]any{"increment": int(increment / time.Second)}
	s, _, err := l.do(ctx, request{op: "renew", path: shown, id: id, scrub: leaseID, lease: leaseHold,
		send: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			return c.Logical().WriteWithContext(ctx, full, body)
		}})
	if err != nil {
		return Lease{}, err
	}
	if s == nil {
		return Lease{}, &Error{Op: "renew", Address: id.Connection.Address, Path: shown, Status: http.StatusOK, Reason: ReasonServer,
			Messages: []string{"Vault returned no lease"}}
	}
	out := Lease{ID: s.LeaseID, Duration: time.Duration(s.LeaseDuration) * time.Second, Renewable: s.Renewable}
	if out.ID == "" {
		out.ID = leaseID
	}
	return out, nil
}

// RevokeLease revokes leaseID now (PUT sys/leases/revoke/<lease id>: the
// path form a policy can scope, as for RenewLease). Revoking a lease Vault
// no longer knows succeeds.
func (l *Lifecycle) RevokeLease(ctx context.Context, id *Identity, leaseID string) error {
	shown := leasePath("sys/leases/revoke", leaseID)
	if err := checkLeaseID("revoke", id, shown, leaseID); err != nil {
		return err
	}
	full := "sys/leases/revoke/" + leaseID
	_, _, err := l.do(ctx, request{op: "revoke", path: shown, id: id, scrub: leaseID, lease: leaseDrop,
		send: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			return c.Logical().WriteWithContext(ctx, full, nil)
		}})
	return err
}

// leasePath is the path of a lease operation as errors show it: the lease's
// own path with its id masked (sys/leases/renew/database/creds/ro/<lease>).
func leasePath(op, leaseID string) string {
	dir, _ := path.Split(leaseID)
	return op + "/" + dir + "<lease>"
}

// checkLeaseID refuses a lease id that is not a plain relative Vault path:
// it goes into the request's URL, so nothing may make it another path
// ("..", "//", a leading "/") or another request ("?", "#", "%", spaces).
func checkLeaseID(op string, id *Identity, shown, leaseID string) error {
	addr := ""
	if id != nil {
		addr = id.Connection.Address
	}
	bad := func(msg string) error {
		return &Error{Op: op, Address: addr, Path: shown, Reason: ReasonConfig, Err: errors.New(msg)}
	}
	if id == nil {
		return bad("no identity")
	}
	if leaseID == "" {
		return bad("no lease id")
	}
	for _, seg := range strings.Split(leaseID, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("the lease id is not a relative Vault path")
		}
	}
	for i := 0; i < len(leaseID); i++ {
		c := leaseID[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '-' || c == '_' || c == '.') {
			return bad("the lease id holds a character Vault never puts in one")
		}
	}
	return nil
}

// ReadKV reads one KV secret. Nothing is cached: every call asks Vault (the
// companion's refresh checks need the current version).
func (l *Lifecycle) ReadKV(ctx context.Context, req KVRequest) (*KVSecret, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	p := req.APIPath()
	s, _, err := l.do(ctx, request{op: "read", ns: req.Namespace, path: p, id: req.Identity,
		send: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			return c.Logical().ReadWithDataWithContext(ctx, p, req.query())
		}})
	if err != nil {
		return nil, err
	}
	out, perr := req.parse(s)
	if perr != nil {
		perr.Address, perr.Namespace, perr.Path = req.Identity.Connection.Address, req.Namespace, p
		return nil, perr
	}
	return out, nil
}

// jsonTime reads Vault's unix-seconds numbers.
func jsonTime(v any) (time.Time, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return time.Unix(i, 0).UTC(), err == nil
	case float64:
		return time.Unix(int64(n), 0).UTC(), true
	}
	return time.Time{}, false
}
