package vault

import (
	"container/list"
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

// Lifecycle is a long-lived Vault client for one process (the companion).
//
// Unlike a [Session], which lives for one render, a Lifecycle runs for
// months, so everything it keeps is bounded:
//
//   - at most [LifecycleOptions.MaxClients] logged-in clients, one per
//     identity; an identity whose token holds live leases (created or
//     renewed through it, not yet revoked or expired) or that a call is
//     using is never evicted: when every slot is held so, a new identity is
//     refused (an [*IdentityLimitError]) instead, and only idle identities
//     without leases are evicted, the least recently used first (see
//     identities.go); no read is cached;
//   - a token obtained by a login is renewed (auth/token/renew-self) once
//     two thirds of its TTL have passed, or replaced by a new login when it
//     is not renewable or Vault's max TTL cut the renewal short; this runs
//     inline, on the request that finds the token due: no goroutine, no
//     timer per token or per lease; [Lifecycle.RenewTokens], called from
//     the caller's one loop, does the same for every kept token, so that
//     tokens outlive idle periods: Vault revokes a lease when the token that
//     created it expires ([Lifecycle.TokenDeadline] tells the caller when a
//     replaced token will);
//   - a 403 answered to a token that was not obtained by this very call
//     (it may have expired or been revoked) is retried once after a new
//     login; a 403 after a fresh login is final.
//
// An identity is keyed by [Identity.Key], which includes its Auth.Secret:
// for logins whose credential changes every time (a service-account token
// from a TokenRequest), fetch it inside Auth.Login and leave Secret empty,
// so that one identity keeps one client. The Identity first seen for a key
// is the one used for later logins (RenewTokens): its Login must keep
// working.
//
// Before any credential is sent (a login, or a request carrying a token) the
// Vault address must pass the operator's [AllowList]; otherwise nothing is
// sent and the error's Reason is [ReasonNotAllowed]. Redirects are never
// followed: a 3xx answer is an error with [ReasonRedirect], so a token never
// reaches a host the Location header names.
type Lifecycle struct {
	opts LifecycleOptions
	sem  chan struct{}

	mu      sync.Mutex
	lru     *list.List // of *lcEntry, most recently used first
	clients map[string]*list.Element

	requests, logins, tokenRenewals atomic.Int64

	// obtained receives (without blocking, capacity 1) after each login that
	// obtained a token with a TTL; see TokenObtained.
	obtained chan struct{}
}

// LifecycleOptions tune a Lifecycle.
type LifecycleOptions struct {
	// AllowList is the operator's list of Vault addresses credentials may go
	// to. The zero AllowList allows nothing.
	AllowList AllowList
	// MaxClients bounds the logged-in clients kept (one per identity).
	// Default [DefaultMaxClients]. Identities holding live leases are never
	// evicted (their tokens are renewed by RenewTokens while the leases
	// live): when all MaxClients hold leases or are in use, a new identity
	// is refused with an [*IdentityLimitError].
	MaxClients int
	// LimitHint ends the message of an [*IdentityLimitError]: how the
	// operator raises MaxClients (e.g. the flag).
	LimitHint string
	// Concurrency bounds the Vault requests in flight. Default 16.
	Concurrency int
	// MaxRetries is vault/api's retry count for 5xx answers (-1: none).
	// Default 2. The caller retries the rest with its own backoff (see
	// [Retryable]).
	MaxRetries int
	// WrapTransport, when set, wraps the HTTP transport of every client
	// (tests use it to count or fault requests).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// MaxResponse bounds one response body from Vault (bytes). Default
	// limits.Default().VaultResponse; -1: no limit.
	MaxResponse int64
	// Now is the clock deciding when a token is renewed. Default time.Now.
	Now func() time.Time
}

// LifecycleStats counts what a Lifecycle sent to Vault.
type LifecycleStats struct {
	Requests      int64 // every HTTP request: logins, token renewals, reads, writes, renewals, revocations
	Logins        int64
	TokenRenewals int64 // auth/token/renew-self
	Clients       int   // logged-in clients kept now
	Holding       int   // of which hold live leases (never evicted)
}

// lcEntry is the client of one identity. lock (capacity 1) serializes its
// login and token renewal; the other fields are guarded by it.
type lcEntry struct {
	key  string
	id   *Identity
	lock chan struct{}

	c        *api.Client // nil until logged in
	gen      uint64      // the token's generation (see TokenDeadline)
	obtained time.Time   // when the token's TTL was last reported
	ttl      time.Duration
	firstTTL time.Duration // the TTL the login gave
	renew    bool          // the token is renewable
	canLogin bool          // a new login is possible (not a fixed token)

	// The token this one replaced, and when it expires: Vault revokes the
	// leases it created then.
	prevGen    uint64
	prevExpiry time.Time

	// Guarded by Lifecycle.mu, not lock: the leases held through this
	// identity and the calls using the entry now. Either keeps the entry
	// from eviction (identities.go).
	leases  map[string]leaseRec
	users   int
	liveGen uint64 // gen, for readers holding Lifecycle.mu only
	// trouble is the last failure to renew or replace the token (nil after
	// a success), guarded by Lifecycle.mu.
	trouble error
}

// NewLifecycle returns a Lifecycle with opts' defaults filled in.
func NewLifecycle(opts LifecycleOptions) *Lifecycle {
	if opts.MaxClients <= 0 {
		opts.MaxClients = DefaultMaxClients
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 2
	} else if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxResponse == 0 {
		opts.MaxResponse = limits.Default().VaultResponse
	} else if opts.MaxResponse < 0 {
		opts.MaxResponse = 0
	}
	return &Lifecycle{
		opts:     opts,
		sem:      make(chan struct{}, opts.Concurrency),
		lru:      list.New(),
		clients:  map[string]*list.Element{},
		obtained: make(chan struct{}, 1),
	}
}

// TokenObtained receives after a login obtained a new token with a TTL: a
// loop calling RenewTokens and sleeping until the time it returned wakes on
// it and asks again, since the new token may be due before then (a token of
// 15 s obtained while the loop sleeps for a minute would expire, and its
// leases with it).
func (l *Lifecycle) TokenObtained() <-chan struct{} { return l.obtained }

// Stats reports the counters so far.
func (l *Lifecycle) Stats() LifecycleStats {
	now := l.opts.Now()
	l.mu.Lock()
	n, held := l.lru.Len(), 0
	for el := l.lru.Front(); el != nil; el = el.Next() {
		if el.Value.(*lcEntry).holds(now) {
			held++
		}
	}
	l.mu.Unlock()
	return LifecycleStats{Requests: l.requests.Load(), Logins: l.logins.Load(), TokenRenewals: l.tokenRenewals.Load(), Clients: n, Holding: held}
}

// Forget drops the client of id (its token is left to expire), for a caller
// that knows the identity is gone.
func (l *Lifecycle) Forget(id *Identity) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.clients[id.Key()]; ok {
		l.lru.Remove(el)
		delete(l.clients, id.Key())
	}
}

// lookup returns id's entry without creating it or changing its rank.
func (l *Lifecycle) lookup(id *Identity) *lcEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.clients[id.Key()]; ok {
		return el.Value.(*lcEntry)
	}
	return nil
}

func (l *Lifecycle) acquire(ctx context.Context) error {
	select {
	case l.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Lifecycle) release() { <-l.sem }

// allowed refuses an address the AllowList does not hold.
func (l *Lifecycle) allowed(op, ns, path string, id *Identity) error {
	if id == nil {
		return &Error{Op: op, Path: path, Reason: ReasonConfig, Err: errors.New("no identity")}
	}
	return l.opts.AllowList.refuse(op, id.Connection.Address, ns, path)
}

// lockEntry takes e's lock, or gives up with ctx.
func lockEntry(ctx context.Context, e *lcEntry) error {
	select {
	case e.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &Error{Op: "login", Address: e.id.Connection.Address, Path: e.id.Auth.LoginPath(), Reason: ReasonCanceled, Err: ctx.Err()}
	}
}

// client returns id's logged-in client and its token generation, logging in
// or renewing the token when due. fresh tells that a login happened in this
// call. With stale set, the entry's client is replaced by a new login if it
// is still stale.
func (l *Lifecycle) client(ctx context.Context, e *lcEntry, stale *api.Client) (c *api.Client, gen uint64, fresh bool, err error) {
	if err := lockEntry(ctx, e); err != nil {
		return nil, 0, false, err
	}
	defer func() { <-e.lock }()
	if stale != nil && e.c == stale {
		if err := l.login(ctx, e); err != nil {
			return nil, 0, false, err
		}
		// Vault refused the old token: it is gone, and its leases with it.
		e.prevExpiry = l.opts.Now()
		l.tokenReplaced(e)
		return e.c, e.gen, true, nil
	}
	fresh, err = l.refresh(ctx, e)
	l.noteTrouble(e, err)
	if err != nil {
		return nil, 0, false, err
	}
	return e.c, e.gen, fresh, nil
}

// due tells whether e's token has reached 2/3 of its TTL.
func (l *Lifecycle) due(e *lcEntry) bool {
	return e.c == nil || (e.ttl > 0 && !l.opts.Now().Before(e.dueAt()))
}

func (e *lcEntry) dueAt() time.Time { return e.obtained.Add(e.ttl * 2 / 3) }

// refresh makes e's token good for a while: nothing when it is not due,
// else a renewal, else (not renewable, renewal refused or cut short by the
// max TTL) a new login. It reports whether a login happened. e is locked.
func (l *Lifecycle) refresh(ctx context.Context, e *lcEntry) (bool, error) {
	if !l.due(e) {
		return false, nil
	}
	if e.c != nil {
		if e.renew && l.renewToken(ctx, e) {
			return false, nil
		}
		if !e.canLogin {
			// A fixed token cannot be replaced: use it until Vault refuses it.
			return false, nil
		}
	}
	return true, l.login(ctx, e)
}

// RenewTokens renews (or replaces by a new login) every kept token that has
// reached 2/3 of its TTL — every token holding live leases is kept — and
// returns when the next one will; zero when no kept token has a TTL (a later
// login signals [Lifecycle.TokenObtained]). A token that expires takes the leases it created
// with it (Vault revokes them), so a process holding leases calls this from
// one loop, waking at the returned time (or earlier): the Lifecycle starts
// no goroutine of its own. Errors are joined; a failed identity is retried
// on the next call.
func (l *Lifecycle) RenewTokens(ctx context.Context) (next time.Time, err error) {
	l.mu.Lock()
	entries := make([]*lcEntry, 0, l.lru.Len())
	for el := l.lru.Front(); el != nil; el = el.Next() {
		entries = append(entries, el.Value.(*lcEntry))
	}
	l.mu.Unlock()
	var errs []error
	for _, e := range entries {
		if err := lockEntry(ctx, e); err != nil {
			return next, errors.Join(append(errs, err)...)
		}
		if e.c != nil && e.ttl > 0 {
			_, rerr := l.refresh(ctx, e)
			l.noteTrouble(e, rerr)
			if rerr != nil {
				errs = append(errs, rerr)
			} else if at := e.dueAt(); next.IsZero() || at.Before(next) {
				next = at
			}
		}
		<-e.lock
	}
	return next, errors.Join(errs...)
}

// TokenDeadline tells until when the leases created under token generation
// gen of id (DynamicSecret.TokenGeneration) can live as far as the token is
// concerned: Vault revokes a lease when the token that created it expires.
// superseded is false while gen is id's current token, which the Lifecycle
// keeps alive (see RenewTokens); else deadline is when that token expires
// (now when it is not known), and the caller should issue new credentials
// before then.
func (l *Lifecycle) TokenDeadline(id *Identity, gen uint64) (deadline time.Time, superseded bool) {
	now := l.opts.Now()
	e := l.lookup(id)
	if e == nil {
		return now, true
	}
	e.lock <- struct{}{}
	defer func() { <-e.lock }()
	switch {
	case gen == e.gen && e.c != nil:
		return time.Time{}, false
	case gen == e.prevGen && !e.prevExpiry.IsZero():
		return e.prevExpiry, true
	}
	return now, true
}

// renewToken extends e's token. It reports false when a new login is
// better: the renewal failed, or Vault's max TTL left less than a third of
// the login's TTL.
func (l *Lifecycle) renewToken(ctx context.Context, e *lcEntry) bool {
	if err := l.acquire(ctx); err != nil {
		return false
	}
	l.requests.Add(1)
	l.tokenRenewals.Add(1)
	s, err := e.c.Auth().Token().RenewSelfWithContext(ctx, int(e.firstTTL/time.Second))
	l.release()
	if err != nil || s == nil || s.Auth == nil {
		return false
	}
	ttl := time.Duration(s.Auth.LeaseDuration) * time.Second
	e.obtained, e.ttl, e.renew = l.opts.Now(), ttl, s.Auth.Renewable
	return ttl >= e.firstTTL/3
}

// newClient is a token-less client for conn whose transport also refuses
// any address the AllowList does not hold.
func (l *Lifecycle) newClient(conn Connection) (*api.Client, error) {
	return newAPIClient(conn, clientConfig{maxRetries: l.opts.MaxRetries, wrap: l.opts.WrapTransport,
		allow: &l.opts.AllowList, maxResponse: l.opts.MaxResponse})
}

// generations numbers tokens across identities and evictions.
var generations atomic.Uint64

// login gives e a new client with a new token (or the fixed token of a
// "token" identity). e is locked.
func (l *Lifecycle) login(ctx context.Context, e *lcEntry) error {
	conn, a := e.id.Connection, e.id.Auth
	if err := l.allowed("login", a.Namespace, a.LoginPath(), e.id); err != nil {
		return err
	}
	c, err := l.newClient(conn)
	if err != nil {
		return &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonConfig, Err: err}
	}
	if a.Namespace != "" {
		c.SetNamespace(a.Namespace)
	}
	if a.Login == nil {
		if a.Secret == "" {
			return &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonConfig, Err: errors.New("no token")}
		}
		c.SetToken(a.Secret)
		e.c, e.gen, e.ttl, e.firstTTL, e.renew, e.canLogin = c, generations.Add(1), 0, 0, false, false
		l.tokenReplaced(e)
		return nil
	}
	if err := l.acquire(ctx); err != nil {
		return &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonCanceled, Err: err}
	}
	l.requests.Add(1)
	l.logins.Add(1)
	var secret *api.Secret
	lc, err := l.newClient(conn)
	if err == nil {
		secret, err = sendLogin(ctx, lc, a)
	} else {
		err = &Error{Op: "login", Address: conn.Address, Path: a.LoginPath(), Reason: ReasonConfig, Err: err}
	}
	l.release()
	if err != nil {
		return err
	}
	if e.c != nil {
		e.prevGen, e.prevExpiry = e.gen, time.Time{}
		if e.ttl > 0 {
			e.prevExpiry = e.obtained.Add(e.ttl)
		}
	}
	c.SetToken(secret.Auth.ClientToken)
	ttl := time.Duration(secret.Auth.LeaseDuration) * time.Second
	e.c, e.gen, e.obtained, e.ttl, e.firstTTL, e.renew, e.canLogin = c, generations.Add(1), l.opts.Now(), ttl, ttl, secret.Auth.Renewable, true
	l.tokenReplaced(e)
	if ttl > 0 {
		select {
		case l.obtained <- struct{}{}:
		default:
		}
	}
	return nil
}

// request is one authenticated Vault request.
type request struct {
	op, ns, path string
	id           *Identity
	// scrub is removed from Vault's error messages (a lease id).
	scrub string
	// lease is what a success does to the leases the identity holds.
	lease leaseEffect
	send  func(ctx context.Context, c *api.Client) (*api.Secret, error)
}

// do sends r with id's client: AllowList first, then the client (login or
// token renewal when due), then the request, once more after a new login
// when a token that may have expired is refused.
func (l *Lifecycle) do(ctx context.Context, r request) (*api.Secret, uint64, error) {
	if err := l.allowed(r.op, r.ns, r.path, r.id); err != nil {
		return nil, 0, err
	}
	e, err := l.entry(r.id)
	if err != nil {
		return nil, 0, err
	}
	defer l.done(e)
	c, gen, fresh, err := l.client(ctx, e, nil)
	if err != nil {
		return nil, 0, err
	}
	s, err := l.send(ctx, c, r)
	var verr *Error
	if err != nil && !fresh && r.id.Auth.Login != nil && errors.As(err, &verr) && verr.Reason == ReasonForbidden {
		if c, gen, _, err = l.client(ctx, e, c); err != nil {
			return nil, 0, err
		}
		s, err = l.send(ctx, c, r)
	}
	if err == nil {
		// Still in use (done has not run): the entry cannot have been
		// evicted between the answer and the pin.
		l.applyLease(e, r, s, gen)
	}
	return s, gen, err
}

func (l *Lifecycle) send(ctx context.Context, c *api.Client, r request) (*api.Secret, error) {
	ns := r.ns
	if ns != "" {
		c = c.WithNamespace(ns)
	} else {
		ns = c.Namespace()
	}
	if err := l.acquire(ctx); err != nil {
		return nil, &Error{Op: r.op, Address: r.id.Connection.Address, Namespace: ns, Path: r.path, Reason: ReasonCanceled, Err: err}
	}
	l.requests.Add(1)
	s, err := r.send(ctx, c)
	l.release()
	if err != nil {
		e := classify(r.op, r.id.Connection.Address, ns, r.path, err)
		if r.scrub != "" {
			for i, m := range e.Messages {
				e.Messages[i] = strings.ReplaceAll(m, r.scrub, "<lease>")
			}
			e.Err = scrubbed{err, r.scrub}
		}
		return nil, e
	}
	return s, nil
}

// scrubbed is an error whose text has a value (a lease id) masked.
type scrubbed struct {
	err   error
	value string
}

func (s scrubbed) Error() string { return strings.ReplaceAll(s.err.Error(), s.value, "<lease>") }
func (s scrubbed) Unwrap() error { return s.err }

// checkRelative refuses absolute paths and ".." segments in user paths.
func checkRelative(op string, id *Identity, full string, parts ...string) error {
	for _, p := range parts {
		if strings.HasPrefix(p, "/") || containsDotDot(p) {
			return &Error{Op: op, Address: id.Connection.Address, Path: full, Reason: ReasonConfig,
				Err: fmt.Errorf("mount and path must be relative and must not contain \"..\"")}
		}
	}
	return nil
}

// Retryable says whether an error from a Lifecycle method is worth retrying
// with backoff — network failures, timeouts, 5xx, a sealed Vault, 429, a
// redirect (a standby during a leader change), a credential that could not
// be obtained yet (a service account not created yet), an interrupted call
// — or is final until the input changes: 403 (the Lifecycle already logged
// in again before answering it), 404, 400, a refused login, configuration
// errors, an address the AllowList refuses.
func Retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Reason {
	case ReasonUnreachable, ReasonTimeout, ReasonSealed, ReasonServer, ReasonRateLimited,
		ReasonRedirect, ReasonCredentials, ReasonCanceled:
		return true
	}
	// Slots free up as other identities' leases end: worth a slow retry.
	var lim *IdentityLimitError
	return errors.As(err, &lim)
}
