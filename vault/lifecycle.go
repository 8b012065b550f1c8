package vault

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Lifecycle is a long-lived Vault client for one process (the companion).
//
// Unlike a [Session], which lives for one render, a Lifecycle runs for months:
// it caches at most [LifecycleOptions.MaxClients] logged-in clients (least
// recently used evicted), caches no read, renews its Vault tokens or logs in
// again before they expire (and once more on a 403 with a token that may have
// expired), and refuses to send any credential to an address the operator's
// [AllowList] does not hold.
type Lifecycle struct {
	opts LifecycleOptions
}

// LifecycleOptions tune a Lifecycle.
type LifecycleOptions struct {
	// AllowList is the operator's list of Vault addresses credentials may go
	// to. The zero AllowList allows nothing.
	AllowList AllowList
	// MaxClients bounds the logged-in clients kept (one per identity).
	// Default 1024.
	MaxClients int
	// Concurrency bounds the Vault requests in flight. Default 16.
	Concurrency int
	// MaxRetries is vault/api's retry count for 5xx answers (-1: none).
	// Default 0: the caller retries with its own backoff (see [Retryable]).
	MaxRetries int
	// WrapTransport, when set, wraps the HTTP transport of every client
	// (tests use it to count or fault requests).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// NewLifecycle returns a Lifecycle with opts' defaults filled in.
func NewLifecycle(opts LifecycleOptions) *Lifecycle {
	if opts.MaxClients <= 0 {
		opts.MaxClients = 1024
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	return &Lifecycle{opts: opts}
}

// DynamicRequest is one read (or write) of a dynamic secrets engine, e.g.
// database/creds/<role> (VSO's VaultDynamicSecret).
type DynamicRequest struct {
	Identity  *Identity
	Namespace string         // Vault namespace (overrides the auth's), optional
	Mount     string         // e.g. "database"
	Path      string         // e.g. "creds/webapp-readonly"
	Method    string         // requestHTTPMethod: "" or GET => read; PUT/POST => write with Params
	Params    map[string]any // sent with PUT/POST
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
}

// PKIRequest is one certificate issue (VSO's VaultPKISecret).
type PKIRequest struct {
	Identity  *Identity
	Namespace string
	Mount     string // "pki"
	Role      string
	IssuerRef string // when set: <mount>/issuer/<ref>/issue/<role>, else <mount>/issue/<role>

	CommonName, Format, PrivateKeyFormat, NotAfter string
	AltNames, IPSans, URISans, OtherSans, UserIDs  []string
	TTL                                            time.Duration
	ExcludeCNFromSans                              bool
}

// Certificate is an issued certificate.
type Certificate struct {
	Data       map[string]any // certificate, private_key, issuing_ca, ca_chain, serial_number, expiration, private_key_type
	Serial     string
	Expiration time.Time
}

var errNotImplemented = errors.New("not implemented yet")

// ReadDynamic reads (or writes, for PUT/POST) a dynamic secret.
func (l *Lifecycle) ReadDynamic(ctx context.Context, req DynamicRequest) (*DynamicSecret, error) {
	return nil, &Error{Op: "read", Path: req.Mount + "/" + req.Path, Reason: ReasonConfig, Err: errNotImplemented}
}

// RenewLease asks Vault to extend leaseID by increment. The returned
// Lease.Duration may be shorter than increment (max TTL truncation): the
// caller compares and re-issues.
func (l *Lifecycle) RenewLease(ctx context.Context, id *Identity, leaseID string, increment time.Duration) (Lease, error) {
	return Lease{}, &Error{Op: "renew", Path: "sys/leases/renew", Reason: ReasonConfig, Err: errNotImplemented}
}

// RevokeLease revokes leaseID.
func (l *Lifecycle) RevokeLease(ctx context.Context, id *Identity, leaseID string) error {
	return &Error{Op: "revoke", Path: "sys/leases/revoke", Reason: ReasonConfig, Err: errNotImplemented}
}

// IssueCertificate issues a certificate from a PKI role.
func (l *Lifecycle) IssueCertificate(ctx context.Context, req PKIRequest) (*Certificate, error) {
	return nil, &Error{Op: "issue", Path: req.Mount + "/issue/" + req.Role, Reason: ReasonConfig, Err: errNotImplemented}
}

// RevokeCertificate revokes the certificate with serial from the PKI mount.
func (l *Lifecycle) RevokeCertificate(ctx context.Context, id *Identity, mount, serial string) error {
	return &Error{Op: "revoke", Path: mount + "/revoke", Reason: ReasonConfig, Err: errNotImplemented}
}

// ReadKV reads one KV secret (no cache: every call asks Vault).
func (l *Lifecycle) ReadKV(ctx context.Context, req KVRequest) (*KVSecret, error) {
	return nil, &Error{Op: "read", Path: req.APIPath(), Reason: ReasonConfig, Err: errNotImplemented}
}

// Retryable says whether an error from a Lifecycle method is worth retrying
// with backoff (network, 5xx, sealed, 429, token expiry) or is final until
// the input changes (403 after a fresh login, 404, 400, configuration errors,
// an address the AllowList refuses).
func Retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Reason {
	case ReasonUnreachable, ReasonTimeout, ReasonSealed, ReasonServer:
		return true
	}
	return false
}
