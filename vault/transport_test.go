package vault_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/vault"
)

// A body that never ends is cut at MaxResponse with an error naming the limit.
func TestResponseLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"data":{"k":"`)
		chunk := strings.Repeat("A", 64<<10)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	s := vault.NewSession(vault.Options{MaxResponse: 1 << 20})
	start := time.Now()
	_, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: tokenID(srv.URL, "t"), Mount: "secret", Path: "x", V2: true})
	require.Error(t, err)
	var lerr *limits.Error
	require.True(t, errors.As(err, &lerr), "%v", err)
	assert.Equal(t, limits.VaultResponse, lerr.Limit)
	assert.Contains(t, err.Error(), "--max-vault-response or VAULTCMP_MAX_VAULT_RESPONSE")
	var verr *vault.Error
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, vault.ReasonLimit, verr.Reason)
	assert.Less(t, time.Since(start), 5*time.Second)

	// A body of exactly the limit is accepted.
	exact := `{"data":{"data":{"k":"v"},"metadata":{"version":1}}}`
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, exact) }))
	defer srv2.Close()
	s = vault.NewSession(vault.Options{MaxResponse: int64(len(exact))})
	_, err = s.ReadKV(t.Context(), vault.KVRequest{Identity: tokenID(srv2.URL, "t"), Mount: "secret", Path: "x", V2: true})
	require.NoError(t, err)
}

// After the first connection failure an address is down: the other reads
// fail at once, without retries.
func TestUnreachableFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := "http://" + l.Addr().String()
	l.Close()
	var dials atomic.Int64
	s := vault.NewSession(vault.Options{WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { dials.Add(1); return rt.RoundTrip(r) })
	}})
	id := tokenID(addr, "t")
	start := time.Now()
	var downs int
	for i := range 50 {
		_, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: fmt.Sprintf("p%d", i), V2: true})
		var verr *vault.Error
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, vault.ReasonUnreachable, verr.Reason, "%v", err)
		var down *vault.DownError
		if errors.As(err, &down) {
			downs++
		}
	}
	assert.Equal(t, 49, downs)
	assert.Equal(t, int64(1), dials.Load(), "one connection attempt, no retries")
	assert.Less(t, time.Since(start), 2*time.Second)
}

// Vault's error bodies reach messages escaped and cut.
func TestRemoteErrorBodyEscaped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "bad\n\x1b[31merror: forged "+strings.Repeat("z", 5000))
	}))
	defer srv.Close()
	s := vault.NewSession(vault.Options{})
	_, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: tokenID(srv.URL, "t"), Mount: "secret", Path: "x", V2: true})
	require.Error(t, err)
	msg := err.Error()
	assert.NotContains(t, msg, "\x1b")
	assert.NotContains(t, msg, "\n")
	assert.Contains(t, msg, `"bad\n\x1b[31merror: forged zz`)
	assert.Contains(t, msg, "bytes cut)")
	assert.Less(t, len(msg), 600)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
