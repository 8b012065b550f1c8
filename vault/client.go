package vault

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hashicorp/vault/api"
)

// clientConfig is what a Session and a Lifecycle set on their vault/api
// clients beyond the Connection.
type clientConfig struct {
	maxRetries int // vault/api's retries of 5xx answers
	wrap       func(http.RoundTripper) http.RoundTripper
	// noRedirects makes every 3xx answer an error instead of following it
	// with the token (see redirectGuard).
	noRedirects bool
}

// newAPIClient returns a token-less, namespace-less vault/api client for
// conn. vault/api's environment variables (VAULT_TOKEN, VAULT_NAMESPACE)
// are ignored: the identity alone decides both.
func newAPIClient(conn Connection, cc clientConfig) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("reading Vault client defaults: %w", cfg.Error)
	}
	cfg.Address = conn.Address
	cfg.MaxRetries = cc.maxRetries
	if conn.Timeout > 0 {
		cfg.Timeout = conn.Timeout
	}
	tls := &api.TLSConfig{TLSServerName: conn.TLSServerName, Insecure: conn.SkipTLSVerify}
	if len(conn.CACert) > 0 {
		tls.CACertBytes = conn.CACert
	} else {
		tls.CACert = conn.CACertPath
	}
	if err := cfg.ConfigureTLS(tls); err != nil {
		return nil, fmt.Errorf("configuring TLS for %s: %w", conn.Address, err)
	}
	if cc.wrap != nil {
		cfg.HttpClient.Transport = cc.wrap(cfg.HttpClient.Transport)
	}
	if cc.noRedirects {
		// vault/api follows one 301/302/307 itself, re-sending the token to
		// wherever Location points; net/http's own redirects are already off
		// (DefaultConfig's CheckRedirect).
		cfg.DisableRedirects = true
		cfg.HttpClient.Transport = redirectGuard{cfg.HttpClient.Transport}
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

// sendLogin sends a's login with a token-less clone of c carrying the login
// headers and namespace, and checks that a token came back.
func sendLogin(ctx context.Context, c *api.Client, a Auth) (*api.Secret, error) {
	conn := c.Address()
	lc, err := c.Clone()
	if err != nil {
		return nil, &Error{Op: "login", Address: conn, Namespace: a.Namespace, Path: a.LoginPath(), Reason: ReasonConfig,
			Err: fmt.Errorf("cloning the Vault client: %w", err)}
	}
	// Clone builds a new client, which picks VAULT_TOKEN from the
	// environment again: the login must carry no token.
	lc.ClearToken()
	h := c.Headers()
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
