package vault_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// TestMain keeps the tests hermetic: vault/api reads VAULT_* variables
// (token, namespace, CA, skip-verify, timeouts) from the environment.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "VAULT_") {
			_ = os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}

// seen is one request as the fake Vault received it.
type seen struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     map[string]any
}

func (s seen) isLogin() bool { return strings.HasPrefix(s.Path, "/v1/auth/") }

// fakeVault is an httptest Vault that records every request and the peak
// number of requests in flight.
type fakeVault struct {
	srv *httptest.Server
	// URL is the Vault address.
	URL string

	mu   sync.Mutex
	reqs []seen

	inflight, maxInflight atomic.Int64
}

type fakeOpts struct {
	handler http.HandlerFunc // nil: kvVault(0)
	tls     bool
}

func newFakeVault(t *testing.T, o fakeOpts) *fakeVault {
	t.Helper()
	h := o.handler
	if h == nil {
		h = kvVault(0)
	}
	f := &fakeVault{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.inflight.Add(1)
		defer f.inflight.Add(-1)
		for {
			m := f.maxInflight.Load()
			if n <= m || f.maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		f.mu.Unlock()
		h(w, r)
	}))
	// A client that refuses our certificate makes the server log a handshake error.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if o.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	f.srv, f.URL = srv, srv.URL
	return f
}

func (f *fakeVault) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// count returns the number of logins and reads the fake Vault received.
func (f *fakeVault) count() (logins, reads int) {
	for _, r := range f.requests() {
		if r.isLogin() {
			logins++
		} else {
			reads++
		}
	}
	return logins, reads
}

// certPEM is the server certificate, for Connection.CACert.
func (f *fakeVault) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
}

// loginToken is the client token the fake Vault hands out for a secret-id.
func loginToken(secretID string) string {
	sum := sha256.Sum256([]byte(secretID))
	return "hvs.login-" + hex.EncodeToString(sum[:6])
}

// kvVault answers AppRole logins and KV reads: a path with a "data"
// segment is kv-v2 (version from ?version=, 7 by default), any other is
// kv-v1. Each answer takes delay.
func kvVault(delay time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		p := strings.TrimPrefix(r.URL.Path, "/v1/")
		if strings.HasPrefix(p, "auth/") && strings.HasSuffix(p, "/login") {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			sid, _ := body["secret_id"].(string)
			writeJSON(w, http.StatusOK, map[string]any{
				"auth": map[string]any{"client_token": loginToken(sid), "policies": []string{"default"}, "lease_duration": 3600, "renewable": true},
			})
			return
		}
		if mount, sub, ok := strings.Cut(p, "/data/"); ok {
			v := 7
			if q := r.URL.Query().Get("version"); q != "" {
				v, _ = strconv.Atoi(q)
			}
			writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
				"data":     map[string]any{"mount": mount, "path": sub, "password": "hunter2"},
				"metadata": map[string]any{"created_time": "2024-01-02T03:04:05Z", "deletion_time": "", "destroyed": false, "version": v},
			}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"path": p, "password": "hunter2"}, "lease_duration": 2764800})
	}
}

// answer always replies with status and body (raw JSON; "" = no body).
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// loginThen answers logins with kvVault and reads with read.
func loginThen(read http.HandlerFunc) http.HandlerFunc {
	kv := kvVault(0)
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/auth/") {
			kv(w, r)
			return
		}
		read(w, r)
	}
}

// hang answers only when the client gives up.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// closedAddress is an http address on which nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func newSession(concurrency int) *vault.Session {
	return vault.NewSession(vault.Options{Concurrency: concurrency, MaxRetries: -1})
}

func tokenID(addr, token string) *vault.Identity {
	return &vault.Identity{Connection: vault.Connection{Address: addr}, Auth: vault.TokenAuth(token)}
}

func appRoleID(addr, roleID, secretID string) *vault.Identity {
	return &vault.Identity{Connection: vault.Connection{Address: addr}, Auth: vault.AppRoleAuth("approle", roleID, secretID)}
}

// vaultErr asserts that err is a *vault.Error of op, reason and HTTP status.
func vaultErr(op string, reason vault.Reason, status int) assert.ErrorAssertionFunc {
	return func(t assert.TestingT, err error, msgAndArgs ...any) bool {
		var verr *vault.Error
		if !assert.ErrorAs(t, err, &verr, msgAndArgs...) {
			return false
		}
		ok := assert.Equal(t, op, verr.Op, msgAndArgs...)
		ok = assert.Equal(t, reason, verr.Reason, msgAndArgs...) && ok
		return assert.Equal(t, status, verr.Status, msgAndArgs...) && ok
	}
}

// jsonNumber is how vault/api decodes JSON numbers.
func jsonNumber(s string) json.Number { return json.Number(s) }
