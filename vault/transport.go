package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/hashicorp/vault/api"

	"github.com/vaultcmp/vaultcmp/limits"
)

// Every client of a Session goes through a guard transport, which bounds
// what one Vault (or whatever a repository names as Vault) can cost a render:
//
//   - a response body is read up to Options.MaxResponse bytes; past it the
//     read fails with a *limits.Error, so a body that never ends is cut;
//   - the first connection failure to an address (refused, DNS, TLS, dial
//     timeout) marks the address down for the rest of the Session: every
//     later request to it fails at once with a *DownError, and is not retried,
//     so N objects give one failure, not N timeouts.

// DownError is a request not sent because an earlier request of the same
// Session could not connect to the address.
type DownError struct {
	Address string
	Err     error // the first failure
}

func (e *DownError) Error() string {
	return fmt.Sprintf("not sent: %s could not be reached earlier in this render (%s)", e.Address, cause(e.Err))
}

func (e *DownError) Unwrap() error { return e.Err }

// health remembers the addresses that could not be reached.
type health struct {
	mu   sync.Mutex
	down map[string]error
}

func (h *health) get(addr string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down[addr]
}

func (h *health) mark(addr string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down == nil {
		h.down = map[string]error{}
	}
	if _, ok := h.down[addr]; !ok {
		h.down[addr] = err
	}
}

type guardTransport struct {
	next        http.RoundTripper
	health      *health
	maxResponse int64
}

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	addr := req.URL.Scheme + "://" + req.URL.Host
	if t.health != nil {
		if err := t.health.get(addr); err != nil {
			return nil, &DownError{Address: addr, Err: err}
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		if t.health != nil && req.Context().Err() == nil && isConnectError(err) {
			t.health.mark(addr, err)
		}
		return nil, err
	}
	if t.maxResponse > 0 && resp.Body != nil {
		resp.Body = &limitedBody{rc: resp.Body, left: t.maxResponse, max: t.maxResponse, addr: addr}
	}
	return resp, nil
}

// isConnectError tells whether err means no connection could be made.
func isConnectError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	var cerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var ierr x509.CertificateInvalidError
	var rerr tls.RecordHeaderError
	var aerr tls.AlertError
	var verr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &dns), errors.As(err, &cerr), errors.As(err, &herr), errors.As(err, &ierr),
		errors.As(err, &rerr), errors.As(err, &aerr), errors.As(err, &verr):
		return true
	case errors.As(err, &op):
		return op.Op == "dial"
	}
	return false
}

// retryPolicy is vault/api's, except that a request to an address that is
// down is not retried.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	var down *DownError
	if err != nil && (errors.As(err, &down) || isConnectError(err)) {
		return false, err
	}
	return defaultRetryPolicy(ctx, resp, err)
}

// limitedBody fails a read past max bytes.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
	addr string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly max bytes from a longer one.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, limits.Exceeded(limits.VaultResponse, b.max, "the response of "+b.addr)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

var defaultRetryPolicy = api.DefaultRetryPolicy
