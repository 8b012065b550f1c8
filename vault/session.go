package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vaultcmp/vaultcmp/limits"
)

// Reader is what the renderer needs from Vault.
type Reader interface {
	ReadKV(ctx context.Context, req KVRequest) (*KVSecret, error)
}

var _ Reader = (*Session)(nil)

// Options tune a Session.
type Options struct {
	// Concurrency bounds the Vault requests in flight. Default 16.
	Concurrency int
	// MaxRetries is vault/api's retry count for 5xx answers (-1: none). Default 2.
	MaxRetries int
	// TokenCache, when set, keeps tokens between processes (see
	// Identity.CacheKey); CacheKeyHMAC keys the credential part of its keys.
	TokenCache   TokenCache
	CacheKeyHMAC []byte
	// AllowList, when set, is the operator's list of Vault addresses
	// credentials may be sent to: a login or a request with a token to any
	// other address is refused before it is sent. generate and the companion
	// always set it (empty: nothing is allowed); render sets it when the
	// operator gave one.
	AllowList *AllowList
	// WrapTransport, when set, wraps the HTTP transport of every client
	// (tests use it to count or fault requests).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// MaxResponse bounds one response body from Vault (bytes). Default
	// limits.Default().VaultResponse; -1: no limit. See transport.go.
	MaxResponse int64
}

// Stats counts what a Session did.
type Stats struct {
	Reads        int64 // HTTP reads sent to Vault
	Logins       int64 // logins sent to Vault
	CacheHits    int64 // reads answered by an identical earlier read
	CachedTokens int64 // logins saved by the token cache
}

// Session holds the clients, logins and reads of one render. It is safe for
// concurrent use.
type Session struct {
	opts   Options
	sem    chan struct{}
	health health // addresses that could not be reached

	mu      sync.Mutex
	clients map[string]*call[*clientEntry]
	reads   map[string]*call[*KVSecret]

	reads_, logins, hits, cachedTokens atomic.Int64
}

// clientEntry is a logged-in client; cached tells the token came from the
// TokenCache (and may have been revoked since).
type clientEntry struct {
	c      *api.Client
	cached bool
}

// call is a result that is computed once and shared.
type call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// NewSession returns a Session with opts' defaults filled in.
func NewSession(opts Options) *Session {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.MaxResponse == 0 {
		opts.MaxResponse = limits.Default().VaultResponse
	} else if opts.MaxResponse < 0 {
		opts.MaxResponse = 0
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 2
	} else if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	return &Session{
		opts:    opts,
		sem:     make(chan struct{}, opts.Concurrency),
		clients: map[string]*call[*clientEntry]{},
		reads:   map[string]*call[*KVSecret]{},
	}
}

// Stats reports the counters so far.
func (s *Session) Stats() Stats {
	return Stats{Reads: s.reads_.Load(), Logins: s.logins.Load(), CacheHits: s.hits.Load(), CachedTokens: s.cachedTokens.Load()}
}

// once returns the shared call for key in m, and whether this caller must run it.
func once[T any](mu *sync.Mutex, m map[string]*call[T], key string) (*call[T], bool) {
	mu.Lock()
	defer mu.Unlock()
	if c, ok := m[key]; ok {
		return c, false
	}
	c := &call[T]{done: make(chan struct{})}
	m[key] = c
	return c, true
}

func wait[T any](ctx context.Context, c *call[T]) (T, error) {
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (s *Session) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Session) release() { <-s.sem }

// client returns the logged-in client of id, logging in once.
func (s *Session) client(ctx context.Context, id *Identity) (*clientEntry, error) {
	c, mine := once(&s.mu, s.clients, id.Key())
	if mine {
		c.val, c.err = s.login(ctx, id, true)
		close(c.done)
	}
	return wait(ctx, c)
}

// relogin replaces a client whose cached token Vault refused with a fresh
// login, once however many reads saw the refusal.
func (s *Session) relogin(ctx context.Context, id *Identity, stale *clientEntry) (*clientEntry, error) {
	key := id.Key()
	s.mu.Lock()
	cur := s.clients[key]
	mine := false
	if cur != nil && cur.val == stale {
		cur = &call[*clientEntry]{done: make(chan struct{})}
		s.clients[key] = cur
		mine = true
	}
	s.mu.Unlock()
	if mine {
		if s.opts.TokenCache != nil {
			s.opts.TokenCache.Delete(id.CacheKey(s.opts.CacheKeyHMAC))
		}
		cur.val, cur.err = s.login(ctx, id, false)
		close(cur.done)
	}
	return wait(ctx, cur)
}

func (s *Session) newClient(conn Connection) (*api.Client, error) {
	return newAPIClient(conn, clientConfig{
		maxRetries:  s.opts.MaxRetries,
		wrap:        s.opts.WrapTransport,
		allow:       s.opts.AllowList,
		health:      &s.health,
		maxResponse: s.opts.MaxResponse,
	})
}

func (s *Session) login(ctx context.Context, id *Identity, useCache bool) (*clientEntry, error) {
	conn, a := id.Connection, id.Auth
	if err := s.opts.AllowList.refuse("login", conn.Address, "", a.LoginPath()); err != nil {
		return nil, err
	}
	c, err := s.newClient(conn)
	if err != nil {
		return nil, &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonConfig, Err: err}
	}
	if a.Namespace != "" {
		c.SetNamespace(a.Namespace)
	}
	if a.Login == nil {
		if a.Secret == "" {
			return nil, &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonConfig,
				Err: fmt.Errorf("no token")}
		}
		c.SetToken(a.Secret)
		return &clientEntry{c: c}, nil
	}
	cache := s.opts.TokenCache
	var cacheKey string
	if cache != nil {
		cacheKey = id.CacheKey(s.opts.CacheKeyHMAC)
		unlock, err := cache.Lock(ctx, cacheKey)
		if err != nil {
			return nil, &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonConfig, Err: err}
		}
		defer unlock()
		if tok, ok := cache.Get(cacheKey); ok && useCache {
			s.cachedTokens.Add(1)
			c.SetToken(tok)
			return &clientEntry{c: c, cached: true}, nil
		}
	}
	secret, err := s.doLogin(ctx, conn, a)
	if err != nil {
		return nil, err
	}
	c.SetToken(secret.Auth.ClientToken)
	if cache != nil {
		ttl := time.Duration(secret.Auth.LeaseDuration) * time.Second
		_ = cache.Put(cacheKey, secret.Auth.ClientToken, ttl) // a cache that cannot be written only costs logins
	}
	return &clientEntry{c: c}, nil
}

// doLogin sends the login with a new token-less client for conn (see
// sendLogin), within the concurrency bound.
func (s *Session) doLogin(ctx context.Context, conn Connection, a Auth) (*api.Secret, error) {
	lc, err := s.newClient(conn)
	if err != nil {
		return nil, &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonConfig, Err: err}
	}
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.release()
	s.logins.Add(1)
	return sendLogin(ctx, lc, a)
}

// ReadKV reads one KV secret, once per identical request.
func (s *Session) ReadKV(ctx context.Context, req KVRequest) (*KVSecret, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	c, mine := once(&s.mu, s.reads, req.key())
	if !mine {
		s.hits.Add(1)
		return wait(ctx, c)
	}
	c.val, c.err = s.readKV(ctx, req)
	close(c.done)
	return c.val, c.err
}

func (s *Session) readKV(ctx context.Context, req KVRequest) (*KVSecret, error) {
	ce, err := s.client(ctx, req.Identity)
	if err != nil {
		return nil, err
	}
	out, err := s.readWith(ctx, ce.c, req)
	var verr *Error
	if ce.cached && errors.As(err, &verr) && verr.Reason == ReasonForbidden {
		// The cached token may have been revoked: log in afresh, once.
		if ce, err = s.relogin(ctx, req.Identity, ce); err != nil {
			return nil, err
		}
		return s.readWith(ctx, ce.c, req)
	}
	return out, err
}

func (s *Session) readWith(ctx context.Context, cl *api.Client, req KVRequest) (*KVSecret, error) {
	ns := req.Namespace
	if ns != "" {
		cl = cl.WithNamespace(ns)
	} else {
		ns = cl.Namespace()
	}
	p := req.APIPath()
	if err := s.acquire(ctx); err != nil {
		return nil, err
	}
	s.reads_.Add(1)
	secret, err := cl.Logical().ReadWithDataWithContext(ctx, p, req.query())
	s.release()
	addr := req.Identity.Connection.Address
	if err != nil {
		return nil, classify("read", addr, ns, p, err)
	}
	out, perr := req.parse(secret)
	if perr != nil {
		perr.Address, perr.Namespace, perr.Path = addr, ns, p
		return nil, perr
	}
	return out, nil
}

// trimSlashes is used for mounts and paths that were already validated to
// hold no ".." segment and no leading "/".
func trimSlashes(s string) string { return strings.Trim(s, "/") }
