package vault_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// newLifecycle allows addrs and sends no retries.
func newLifecycle(t *testing.T, addrs ...string) *vault.Lifecycle {
	t.Helper()
	al, err := vault.ParseAllowList(addrs...)
	require.NoError(t, err)
	return vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, MaxRetries: -1})
}

// lifecycleVault answers logins (kvVault), dynamic reads and writes, lease
// renewals and revocations, and PKI issues.
func lifecycleVault(renewTTL int) http.HandlerFunc {
	kv := kvVault(0)
	return func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(r.URL.Path, "/v1/")
		switch {
		case strings.HasPrefix(p, "auth/"):
			kv(w, r)
		case strings.HasPrefix(p, "sys/leases/renew/"):
			writeJSON(w, http.StatusOK, map[string]any{"lease_id": "database/creds/ro/abc", "lease_duration": renewTTL, "renewable": true})
		case strings.HasPrefix(p, "sys/leases/revoke/"), strings.HasSuffix(p, "/revoke-with-key"):
			w.WriteHeader(http.StatusNoContent)
		case strings.Contains(p, "/issue/"):
			writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
				"certificate": "-----BEGIN CERTIFICATE-----", "private_key": "k", "serial_number": "1a:2b", "expiration": 1900000000,
			}})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"lease_id": "database/creds/ro/abc", "lease_duration": 60, "renewable": true,
				"data": map[string]any{"username": "v-ro-1", "password": "pw-dyn-1"}})
		}
	}
}

func TestReadDynamicWire(t *testing.T) {
	tests := []struct {
		name       string
		req        vault.DynamicRequest
		wantMethod string
		wantBody   map[string]any
		wantNS     string
	}{
		{"GET by default", vault.DynamicRequest{Mount: "database", Path: "creds/ro"}, http.MethodGet, nil, ""},
		{"GET explicit, namespace override", vault.DynamicRequest{Mount: "database", Path: "creds/ro/", Method: "get", Namespace: "team-a"}, http.MethodGet, nil, "team-a"},
		{"PUT with params", vault.DynamicRequest{Mount: "aws", Path: "sts/deploy", Method: "PUT", Params: map[string]any{"ttl": "15m"}}, http.MethodPut, map[string]any{"ttl": "15m"}, ""},
		{"POST is a write", vault.DynamicRequest{Mount: "aws", Path: "sts/deploy", Method: "POST"}, http.MethodPut, nil, ""},
		{"params force a write", vault.DynamicRequest{Mount: "aws", Path: "sts/deploy", Params: map[string]any{"ttl": "1h"}}, http.MethodPut, map[string]any{"ttl": "1h"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
			l := newLifecycle(t, f.URL)
			tc.req.Identity = tokenID(f.URL, "tok-1")
			s, err := l.ReadDynamic(t.Context(), tc.req)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"username": "v-ro-1", "password": "pw-dyn-1"}, s.Data)
			assert.Equal(t, vault.Lease{ID: "database/creds/ro/abc", Duration: time.Minute, Renewable: true}, s.Lease)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tc.wantMethod, reqs[0].Method)
			assert.Equal(t, "/v1/"+tc.req.APIPath(), reqs[0].Path)
			assert.Equal(t, "tok-1", reqs[0].Header.Get("X-Vault-Token"))
			assert.Equal(t, tc.wantNS, reqs[0].Header.Get("X-Vault-Namespace"))
			assert.Equal(t, tc.wantBody, reqs[0].Body)
		})
	}
}

func TestReadDynamicRefusesBadInput(t *testing.T) {
	f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
	l := newLifecycle(t, f.URL)
	id := tokenID(f.URL, "tok-1")
	for _, req := range []vault.DynamicRequest{
		{Identity: id, Mount: "database", Path: "creds/ro", Method: "DELETE"},
		{Identity: id, Mount: "database", Path: "../sys/raw"},
		{Identity: id, Mount: "/database", Path: "creds/ro"},
		{Identity: id, Mount: "database"},
		{Mount: "database", Path: "creds/ro"},
	} {
		_, err := l.ReadDynamic(t.Context(), req)
		var verr *vault.Error
		require.ErrorAs(t, err, &verr)
		vaultErr(verr.Op, vault.ReasonConfig, 0)(t, err, req)
		assert.False(t, vault.Retryable(err))
	}
	assert.Empty(t, f.requests())
}

func TestRenewAndRevokeLeaseWire(t *testing.T) {
	f := newFakeVault(t, fakeOpts{handler: lifecycleVault(40)})
	l := newLifecycle(t, f.URL)
	id := appRoleID(f.URL, "role-1", "sid-1")
	// Log in first, so that the renewal below is one request.
	_, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/ro"})
	require.NoError(t, err)
	before := len(f.requests())

	lease, err := l.RenewLease(t.Context(), id, "database/creds/ro/abc", time.Minute)
	require.NoError(t, err)
	// Vault's max TTL cut the renewal short: the caller sees it.
	assert.Equal(t, vault.Lease{ID: "database/creds/ro/abc", Duration: 40 * time.Second, Renewable: true}, lease)
	require.NoError(t, l.RevokeLease(t.Context(), id, "database/creds/ro/abc"))

	reqs := f.requests()[before:]
	require.Len(t, reqs, 2, "one request per renewal and per revocation")
	// The lease id in the path (a policy can scope it), never in the body
	// (Vault prefers a body lease_id to the path's, unchecked by the policy).
	assert.Equal(t, seen{Method: http.MethodPut, Path: "/v1/sys/leases/renew/database/creds/ro/abc",
		Body: map[string]any{"increment": float64(60)}}, strip(reqs[0]))
	assert.Equal(t, seen{Method: http.MethodPut, Path: "/v1/sys/leases/revoke/database/creds/ro/abc"}, strip(reqs[1]))
	assert.Equal(t, loginToken("sid-1"), reqs[0].Header.Get("X-Vault-Token"))
}

// strip keeps method, path and body.
func strip(s seen) seen { return seen{Method: s.Method, Path: s.Path, Body: s.Body} }

func TestLeaseIDNotInErrors(t *testing.T) {
	const lease = "database/creds/ro/Zq9lease"
	f := newFakeVault(t, fakeOpts{handler: answer(http.StatusBadRequest, `{"errors":["lease `+lease+` not found or lease is not renewable"]}`)})
	l := newLifecycle(t, f.URL)
	_, err := l.RenewLease(t.Context(), tokenID(f.URL, "tok-1"), lease, time.Minute)
	vaultErr("renew", vault.ReasonBadRequest, 400)(t, err)
	assert.NotContains(t, err.Error(), "Zq9lease")
	assert.Contains(t, err.Error(), "<lease>")
	err = l.RevokeLease(t.Context(), tokenID(f.URL, "tok-1"), lease)
	assert.NotContains(t, err.Error(), "Zq9lease")
}

func TestIssueCertificateWire(t *testing.T) {
	tests := []struct {
		name     string
		req      vault.PKIRequest
		wantPath string
		wantBody map[string]any
	}{
		{"seed's request", vault.PKIRequest{Mount: "pki", Role: "webapp-cert", CommonName: "webapp.corp.com",
			AltNames: []string{"webapp.webapp-ns.svc", "webapp.webapp-ns.svc.cluster.local"}, TTL: 24 * time.Hour},
			"/v1/pki/issue/webapp-cert", map[string]any{
				"common_name": "webapp.corp.com", "alt_names": "webapp.webapp-ns.svc,webapp.webapp-ns.svc.cluster.local",
				"ip_sans": "", "uri_sans": "", "other_sans": "", "user_ids": "", "ttl": "24h0m0s", "not_after": "",
				"exclude_cn_from_sans": false, "remove_roots_from_chain": true,
			}},
		{"every field, an issuer", vault.PKIRequest{Mount: "pki_int", Role: "r", IssuerRef: "my-issuer", CommonName: "a.example",
			AltNames: []string{"b.example"}, IPSans: []string{"10.0.0.1", "10.0.0.2"}, URISans: []string{"spiffe://x/y"},
			OtherSans: []string{"1.2.3.4;UTF8:z"}, UserIDs: []string{"u1"}, NotAfter: "2030-01-01T00:00:00Z",
			ExcludeCNFromSans: true, Format: "pem_bundle", PrivateKeyFormat: "pkcs8"},
			"/v1/pki_int/issuer/my-issuer/issue/r", map[string]any{
				"common_name": "a.example", "alt_names": "b.example", "ip_sans": "10.0.0.1,10.0.0.2", "uri_sans": "spiffe://x/y",
				"other_sans": "1.2.3.4;UTF8:z", "user_ids": "u1", "ttl": "", "not_after": "2030-01-01T00:00:00Z",
				"exclude_cn_from_sans": true, "remove_roots_from_chain": true, "format": "pem_bundle", "private_key_format": "pkcs8",
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
			l := newLifecycle(t, f.URL)
			tc.req.Identity = tokenID(f.URL, "tok-1")
			c, err := l.IssueCertificate(t.Context(), tc.req)
			require.NoError(t, err)
			assert.Equal(t, "1a:2b", c.Serial)
			assert.Equal(t, time.Unix(1900000000, 0).UTC(), c.Expiration)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, seen{Method: http.MethodPut, Path: tc.wantPath, Body: tc.wantBody}, strip(reqs[0]))
		})
	}
}

func TestRevokeCertificateWire(t *testing.T) {
	const key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
	f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
	l := newLifecycle(t, f.URL)
	require.NoError(t, l.RevokeCertificate(t.Context(), tokenID(f.URL, "tok-1"), "pki", "1a:2b", key))
	assert.Equal(t, []seen{{Method: http.MethodPut, Path: "/v1/pki/revoke-with-key", Body: map[string]any{"serial_number": "1a:2b", "private_key": key}}},
		[]seen{strip(f.requests()[0])})

	// Without the key nothing is sent: possession cannot be proven.
	err := l.RevokeCertificate(t.Context(), tokenID(f.URL, "tok-1"), "pki", "1a:2b", "")
	vaultErr("revoke", vault.ReasonConfig, 0)(t, err)
	assert.ErrorIs(t, err, vault.ErrNoPrivateKey)
	assert.Len(t, f.requests(), 1)

	expired := newFakeVault(t, fakeOpts{handler: answer(http.StatusBadRequest, `{"errors":["certificate already expired"]}`)})
	l = newLifecycle(t, expired.URL)
	assert.NoError(t, l.RevokeCertificate(t.Context(), tokenID(expired.URL, "tok-1"), "pki", "1a:2b", key), "an expired certificate needs no revocation")
}

// A lease id goes into the URL: anything that would make it another path
// or another request is refused before anything is sent.
func TestLeaseIDMustBeAPlainPath(t *testing.T) {
	f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
	l := newLifecycle(t, f.URL)
	id := tokenID(f.URL, "tok-1")
	for _, lease := range []string{"", "/database/creds/ro/abc", "database/creds/ro/../../other/creds/x/abc", "database//creds/abc",
		"database/creds/ro/abc/", "database/./creds/abc", "database/creds/ro/abc?lease_id=x", "database/creds/ro/abc#x",
		"database/creds/ro/%2e%2e", "database/creds/ro/a b", "database/creds/ro/a\nb"} {
		_, err := l.RenewLease(t.Context(), id, lease, time.Minute)
		vaultErr("renew", vault.ReasonConfig, 0)(t, err)
		err = l.RevokeLease(t.Context(), id, lease)
		vaultErr("revoke", vault.ReasonConfig, 0)(t, err)
	}
	assert.Empty(t, f.requests())
	require.NoError(t, l.RevokeLease(t.Context(), id, "database/creds/ro/AbC09xyz.nsid1"), "a lease in a Vault namespace")
}

func TestAllowListRefusesBeforeSending(t *testing.T) {
	f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
	other := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
	for name, l := range map[string]*vault.Lifecycle{
		"empty allow-list":   newLifecycle(t),
		"another address":    newLifecycle(t, other.URL),
		"same host, http vs": newLifecycle(t, strings.Replace(f.URL, "http://", "https://", 1)),
	} {
		t.Run(name, func(t *testing.T) {
			for _, id := range []*vault.Identity{tokenID(f.URL, "tok-1"), appRoleID(f.URL, "role-1", "sid-1")} {
				_, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/ro"})
				vaultErr("read", vault.ReasonNotAllowed, 0)(t, err)
				assert.False(t, vault.Retryable(err))
				assert.Contains(t, err.Error(), vault.EnvAllowedVaultAddresses)
				_, err = l.RenewLease(t.Context(), id, "l-1", time.Minute)
				vaultErr("renew", vault.ReasonNotAllowed, 0)(t, err)
				err = l.RevokeLease(t.Context(), id, "l-1")
				vaultErr("revoke", vault.ReasonNotAllowed, 0)(t, err)
				_, err = l.IssueCertificate(t.Context(), vault.PKIRequest{Identity: id, Mount: "pki", Role: "r"})
				vaultErr("issue", vault.ReasonNotAllowed, 0)(t, err)
				err = l.RevokeCertificate(t.Context(), id, "pki", "1a", "-----BEGIN PRIVATE KEY-----")
				vaultErr("revoke", vault.ReasonNotAllowed, 0)(t, err)
				_, err = l.ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "x", V2: true})
				vaultErr("read", vault.ReasonNotAllowed, 0)(t, err)
			}
			assert.Empty(t, f.requests(), "nothing reaches a Vault that is not allowed")
		})
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	capture := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
	f := newFakeVault(t, fakeOpts{handler: func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, capture.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}})
	l := newLifecycle(t, f.URL, capture.URL)
	_, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: tokenID(f.URL, "tok-1"), Mount: "database", Path: "creds/ro"})
	vaultErr("read", vault.ReasonRedirect, http.StatusTemporaryRedirect)(t, err)
	assert.Contains(t, err.Error(), capture.URL)
	_, err = l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: appRoleID(f.URL, "r", "s"), Mount: "database", Path: "creds/ro"})
	vaultErr("login", vault.ReasonRedirect, http.StatusTemporaryRedirect)(t, err)
	assert.Empty(t, capture.requests(), "no request (and so no token) follows a redirect")
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		reason vault.Reason
		want   bool
	}{
		{"500", 500, `{"errors":["internal error"]}`, vault.ReasonServer, true},
		{"502", 502, ``, vault.ReasonServer, true},
		{"503 sealed", 503, `{"errors":["Vault is sealed"]}`, vault.ReasonSealed, true},
		{"503 standby", 503, `{"errors":["node is not active"]}`, vault.ReasonServer, true},
		{"429", 429, `{"errors":["request path \"database/creds/ro\": rate limit quota exceeded"]}`, vault.ReasonRateLimited, true},
		{"504", 504, ``, vault.ReasonTimeout, true},
		{"403", 403, `{"errors":["permission denied"]}`, vault.ReasonForbidden, false},
		{"404", 404, `{"errors":[]}`, vault.ReasonNotFound, false},
		{"400", 400, `{"errors":["unknown role"]}`, vault.ReasonBadRequest, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeVault(t, fakeOpts{handler: answer(tc.status, tc.body)})
			l := newLifecycle(t, f.URL)
			_, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: tokenID(f.URL, "tok-1"), Mount: "database", Path: "creds/ro"})
			vaultErr("read", tc.reason, tc.status)(t, err)
			assert.Equal(t, tc.want, vault.Retryable(err))
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		addr := closedAddress(t)
		_, err := newLifecycle(t, addr).ReadDynamic(t.Context(), vault.DynamicRequest{Identity: tokenID(addr, "t"), Mount: "d", Path: "p"})
		vaultErr("read", vault.ReasonUnreachable, 0)(t, err)
		assert.True(t, vault.Retryable(err))
	})
	t.Run("login refused", func(t *testing.T) {
		f := newFakeVault(t, fakeOpts{handler: answer(400, `{"errors":["invalid role or secret ID"]}`)})
		_, err := newLifecycle(t, f.URL).ReadDynamic(t.Context(), vault.DynamicRequest{Identity: appRoleID(f.URL, "r", "s"), Mount: "d", Path: "p"})
		vaultErr("login", vault.ReasonLogin, 400)(t, err)
		assert.False(t, vault.Retryable(err))
	})
	t.Run("not a vault error", func(t *testing.T) {
		assert.False(t, vault.Retryable(assert.AnError))
		assert.False(t, vault.Retryable(nil))
	})
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func paths(reqs []seen) (out []string) {
	for _, r := range reqs {
		out = append(out, r.Method+" "+strings.TrimPrefix(r.Path, "/v1/"))
	}
	return out
}

func TestTokenRenewedThenReplaced(t *testing.T) {
	renewTTL := 3600
	var mu sync.Mutex
	base := lifecycleVault(60)
	f := newFakeVault(t, fakeOpts{handler: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth/token/renew-self" {
			mu.Lock()
			ttl := renewTTL
			mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"auth": map[string]any{"client_token": r.Header.Get("X-Vault-Token"), "lease_duration": ttl, "renewable": true}})
			return
		}
		base(w, r)
	}})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	al, _ := vault.ParseAllowList(f.URL)
	l := vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, MaxRetries: -1, Now: clk.Now})
	id := appRoleID(f.URL, "role-1", "sid-1")
	read := func() {
		t.Helper()
		_, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/ro"})
		require.NoError(t, err)
	}
	read()                    // login (TTL 3600 s) + read
	clk.Add(30 * time.Minute) // not yet 2/3 of the TTL
	read()                    // read
	clk.Add(11 * time.Minute) // past 2/3
	read()                    // renew-self (3600 s) + read
	clk.Add(41 * time.Minute) // past 2/3 of the renewed TTL
	mu.Lock()
	renewTTL = 600 // max TTL near: less than a third of the login's TTL
	mu.Unlock()
	read() // renew-self (too short) + login + read
	assert.Equal(t, []string{
		"PUT auth/approle/login", "GET database/creds/ro",
		"GET database/creds/ro",
		"PUT auth/token/renew-self", "GET database/creds/ro",
		"PUT auth/token/renew-self", "PUT auth/approle/login", "GET database/creds/ro",
	}, paths(f.requests()))
	for _, r := range f.requests() {
		if !r.isLogin() {
			assert.Equal(t, loginToken("sid-1"), r.Header.Get("X-Vault-Token"))
		}
	}
	st := l.Stats()
	assert.Equal(t, vault.LifecycleStats{Requests: 8, Logins: 2, TokenRenewals: 2, Clients: 1, Holding: 1}, st)
}

func TestReloginOn403(t *testing.T) {
	var mu sync.Mutex
	refuse := 1 // 403s to send before answering
	base := lifecycleVault(60)
	f := newFakeVault(t, fakeOpts{handler: func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := refuse
		if !strings.HasPrefix(r.URL.Path, "/v1/auth/") && n > 0 {
			refuse--
		}
		mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/v1/auth/") && n > 0 {
			answer(403, `{"errors":["permission denied"]}`)(w, r)
			return
		}
		base(w, r)
	}})
	l := newLifecycle(t, f.URL)
	id := appRoleID(f.URL, "role-1", "sid-1")
	req := vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/ro"}

	// A 403 right after a fresh login is final: no second login.
	_, err := l.ReadDynamic(t.Context(), req)
	vaultErr("read", vault.ReasonForbidden, 403)(t, err)
	assert.False(t, vault.Retryable(err))
	assert.Equal(t, []string{"PUT auth/approle/login", "GET database/creds/ro"}, paths(f.requests()))

	// The kept token is refused later (revoked, expired): one new login, and the read succeeds.
	mu.Lock()
	refuse = 1
	mu.Unlock()
	_, err = l.ReadDynamic(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, []string{"PUT auth/approle/login", "GET database/creds/ro",
		"GET database/creds/ro", "PUT auth/approle/login", "GET database/creds/ro"}, paths(f.requests()))
}

func TestClientsBounded(t *testing.T) {
	f := newFakeVault(t, fakeOpts{handler: lifecycleVault(60)})
	al, _ := vault.ParseAllowList(f.URL)
	l := vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, MaxRetries: -1, MaxClients: 2})
	ids := []*vault.Identity{appRoleID(f.URL, "r", "s1"), appRoleID(f.URL, "r", "s2"), appRoleID(f.URL, "r", "s3")}
	for _, id := range append(ids, ids[2], ids[0]) {
		// KV reads hold no lease: idle identities may be evicted.
		_, err := l.ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "app"})
		require.NoError(t, err)
	}
	st := l.Stats()
	assert.Equal(t, 2, st.Clients)
	// s1, s2, s3 log in; s3 is kept; s1 was evicted and logs in again.
	assert.Equal(t, int64(4), st.Logins)
}

func TestRedirectNotRetried(t *testing.T) {
	f := newFakeVault(t, fakeOpts{handler: func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1"+r.URL.Path, http.StatusTemporaryRedirect)
	}})
	al, _ := vault.ParseAllowList(f.URL)
	l := vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, MaxRetries: 3})
	_, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: tokenID(f.URL, "tok-1"), Mount: "database", Path: "creds/ro"})
	vaultErr("read", vault.ReasonRedirect, http.StatusTemporaryRedirect)(t, err)
	assert.Len(t, f.requests(), 1, "a redirect is final for this request (Retryable tells the caller)")
}

func TestRenewTokensAndTokenDeadline(t *testing.T) {
	renewTTL := 3600
	var mu sync.Mutex
	base := lifecycleVault(60)
	f := newFakeVault(t, fakeOpts{handler: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/auth/token/renew-self" {
			mu.Lock()
			ttl := renewTTL
			mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"auth": map[string]any{"client_token": r.Header.Get("X-Vault-Token"), "lease_duration": ttl, "renewable": true}})
			return
		}
		base(w, r)
	}})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	al, _ := vault.ParseAllowList(f.URL)
	l := vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, MaxRetries: -1, Now: clk.Now})
	id := appRoleID(f.URL, "role-1", "sid-1")

	next, err := l.RenewTokens(t.Context())
	require.NoError(t, err)
	assert.True(t, next.IsZero(), "no token kept yet")

	s1, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/ro"})
	require.NoError(t, err)
	_, superseded := l.TokenDeadline(id, s1.TokenGeneration)
	assert.False(t, superseded)

	next, err = l.RenewTokens(t.Context())
	require.NoError(t, err)
	assert.Equal(t, clk.Now().Add(40*time.Minute), next, "due at 2/3 of the TTL")
	assert.Len(t, f.requests(), 2, "nothing due, nothing sent")

	clk.Add(40 * time.Minute)
	next, err = l.RenewTokens(t.Context())
	require.NoError(t, err)
	assert.Equal(t, clk.Now().Add(40*time.Minute), next)
	_, superseded = l.TokenDeadline(id, s1.TokenGeneration)
	assert.False(t, superseded, "a renewal keeps the generation")

	clk.Add(40 * time.Minute)
	mu.Lock()
	renewTTL = 600 // the max TTL is near
	mu.Unlock()
	_, err = l.RenewTokens(t.Context())
	require.NoError(t, err)
	deadline, superseded := l.TokenDeadline(id, s1.TokenGeneration)
	assert.True(t, superseded, "a new login replaced the token")
	assert.Equal(t, clk.Now().Add(10*time.Minute), deadline, "the old token (and its leases) end at its truncated TTL")

	s2, err := l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/ro"})
	require.NoError(t, err)
	assert.NotEqual(t, s1.TokenGeneration, s2.TokenGeneration)
	_, superseded = l.TokenDeadline(id, s2.TokenGeneration)
	assert.False(t, superseded)
	assert.Equal(t, []string{
		"PUT auth/approle/login", "GET database/creds/ro",
		"PUT auth/token/renew-self",
		"PUT auth/token/renew-self", "PUT auth/approle/login",
		"GET database/creds/ro",
	}, paths(f.requests()))

	// An identity the Lifecycle does not know (evicted): assume the worst.
	deadline, superseded = l.TokenDeadline(appRoleID(f.URL, "role-1", "other"), 1)
	assert.True(t, superseded)
	assert.Equal(t, clk.Now(), deadline)
}
