package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/vault/api"

	"github.com/vaultcmp/vaultcmp/internal/vaultheader"
)

// clientConfig is what a Session and a Lifecycle set on their vault/api
// clients beyond the Connection.
type clientConfig struct {
	maxRetries int // vault/api's retries of 5xx answers
	wrap       func(http.RoundTripper) http.RoundTripper
	// allow, when set, refuses in the transport any request to an address
	// not in the list (see allowedOnly).
	allow *AllowList
	// health, when set, remembers addresses that could not be reached, for
	// the rest of a Session (see guardTransport); a Lifecycle sets none.
	health *health
	// maxResponse bounds one response body (see guardTransport).
	maxResponse int64
}

// newAPIClient returns a token-less, namespace-less vault/api client for
// conn. vault/api's environment variables (VAULT_TOKEN, VAULT_NAMESPACE)
// are ignored: the identity alone decides both. It follows no redirect:
// vault/api would follow a 301/302/307 once, re-sending the token to
// wherever Location points; here every 3xx answer is a *RedirectError, not
// retried.
func newAPIClient(conn Connection, cc clientConfig) (*api.Client, error) {
	if h := vaultheader.First(conn.Headers); h != "" {
		return nil, &Error{Op: "connect", Address: conn.Address, Reason: ReasonConfig,
			Err: fmt.Errorf("connection header %q %s", h, vaultheader.Reason)}
	}
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("reading Vault client defaults: %w", cfg.Error)
	}
	cfg.Address = conn.Address
	cfg.MaxRetries = cc.maxRetries
	cfg.DisableRedirects = true
	if conn.Timeout > 0 {
		cfg.Timeout = conn.Timeout
	}
	tls := &api.TLSConfig{TLSServerName: conn.TLSServerName, Insecure: conn.SkipTLSVerify}
	tls.CACertBytes = conn.CACert
	if err := cfg.ConfigureTLS(tls); err != nil {
		return nil, fmt.Errorf("configuring TLS for %s: %w", conn.Address, err)
	}
	if cc.allow != nil {
		cfg.HttpClient.Transport = allowedOnly{allow: *cc.allow, next: cfg.HttpClient.Transport}
	}
	if cc.wrap != nil {
		cfg.HttpClient.Transport = cc.wrap(cfg.HttpClient.Transport)
	}
	cfg.HttpClient.Transport = redirectGuard{&guardTransport{next: cfg.HttpClient.Transport, health: cc.health, maxResponse: cc.maxResponse}}
	cfg.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		var redir *RedirectError
		if errors.As(err, &redir) {
			return false, err // the same redirect would come back
		}
		return retryPolicy(ctx, resp, err)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating a Vault client for %s: %w", conn.Address, err)
	}
	c.ClearToken()
	c.ClearNamespace()
	h := http.Header{}
	for k, v := range conn.Headers {
		h.Set(k, v)
	}
	c.SetHeaders(h)
	return c, nil
}

// sendLogin sends a's login with lc, a new token-less client (not a Clone:
// vault/api's Clone drops DisableRedirects and picks VAULT_TOKEN from the
// environment again), adding the login headers and namespace, and checks
// that a token came back.
func sendLogin(ctx context.Context, lc *api.Client, a Auth) (*api.Secret, error) {
	conn := lc.Address()
	if bad := vaultheader.First(a.Headers); bad != "" {
		return nil, &Error{Op: "login", Address: conn, Namespace: a.Namespace, Path: a.LoginPath(), Reason: ReasonConfig,
			Err: fmt.Errorf("login header %q %s", bad, vaultheader.Reason)}
	}
	h := lc.Headers()
	for k, v := range a.Headers {
		h.Set(k, v)
	}
	lc.SetHeaders(h)
	if a.Namespace != "" {
		lc.SetNamespace(a.Namespace)
	}
	secret, err := a.Login(ctx, lc)
	if err != nil {
		return nil, classify("login", conn, a.Namespace, a.LoginPath(), err)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, &Error{Op: "login", Address: conn, Namespace: a.Namespace, Path: a.LoginPath(),
			Reason: ReasonLogin, Err: fmt.Errorf("no token in the login response")}
	}
	return secret, nil
}

// RedirectError is a 3xx answer that was not followed, so that no token
// goes to the host the Location names.
type RedirectError struct {
	Status   int
	Location string // scheme://host of the target only
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("Vault answered HTTP %d with a redirect to %s; not followed (a token never follows a redirect)", e.Status, e.Location)
}

// redirectGuard turns every 3xx response into a *RedirectError.
type redirectGuard struct{ next http.RoundTripper }

func (g redirectGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(r)
	if err != nil || resp.StatusCode < 300 || resp.StatusCode > 399 {
		return resp, err
	}
	loc := "(no Location)"
	if u, lerr := resp.Location(); lerr == nil {
		loc = u.Scheme + "://" + u.Host
	}
	resp.Body.Close()
	return nil, &RedirectError{Status: resp.StatusCode, Location: loc}
}
