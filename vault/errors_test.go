package vault_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

const (
	kvV1OnV2Warning = "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."
	deletedV2Body   = `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,
		"data":{"data":null,"metadata":{"created_time":"2024-01-02T03:04:05Z","custom_metadata":null,"deletion_time":"2024-02-03T04:05:06Z","destroyed":false,"version":3}},
		"wrap_info":null,"warnings":null,"auth":null}`
	destroyedV2Body = `{"data":{"data":null,"metadata":{"created_time":"2024-01-02T03:04:05Z","deletion_time":"","destroyed":true,"version":2}}}`
)

// errorCase is one failure of a read (or of the login before it).
type errorCase struct {
	name      string
	handler   http.HandlerFunc // nil: nothing listens at the address
	appRole   bool             // log in with AppRole first (token auth otherwise)
	timeout   time.Duration    // Connection.Timeout
	namespace string           // KVRequest.Namespace
	v1        bool             // kv-v1 read of "kv/app" instead of kv-v2 "secret/app"

	wantErr  assert.ErrorAssertionFunc
	wantPath string   // Error.Path; "secret/data/app" when empty
	wantMsgs []string // Error.Messages
	wantMsg  string   // must be part of one of Error.Messages
	wantHint string   // must be part of Error.Hint()
}

func errorCases() []errorCase {
	const login = "auth/approle/login"
	return []errorCase{
		{
			name:     "read forbidden",
			handler:  loginThen(answer(http.StatusForbidden, `{"errors":["1 error occurred:\n\t* permission denied\n\n"]}`)),
			appRole:  true,
			wantErr:  vaultErr("read", vault.ReasonForbidden, 403),
			wantMsgs: []string{"permission denied"},
			wantHint: `grant "read" on "secret/data/app"`,
		},
		{
			name:      "read forbidden in a namespace",
			handler:   answer(http.StatusForbidden, `{"errors":["permission denied"]}`),
			namespace: "team-a",
			wantErr:   vaultErr("read", vault.ReasonForbidden, 403),
			wantMsgs:  []string{"permission denied"},
			wantHint:  `"secret/data/app"`,
		},
		{
			name:     "login forbidden",
			handler:  answer(http.StatusForbidden, `{"errors":["permission denied"]}`),
			appRole:  true,
			wantErr:  vaultErr("login", vault.ReasonForbidden, 403),
			wantPath: login,
			wantMsgs: []string{"permission denied"},
			wantHint: "auth role",
		},
		{
			name:     "login with a wrong secret-id",
			handler:  answer(http.StatusBadRequest, `{"errors":["invalid role or secret ID"]}`),
			appRole:  true,
			wantErr:  vaultErr("login", vault.ReasonLogin, 400),
			wantPath: login,
			wantMsgs: []string{"invalid role or secret ID"},
			wantHint: "credentials",
		},
		{
			name:     "login to a missing auth mount",
			handler:  answer(http.StatusNotFound, `{"errors":["no handler for route \"auth/approle/login\". route entry not found."]}`),
			appRole:  true,
			wantErr:  vaultErr("login", vault.ReasonNotFound, 404),
			wantPath: login,
			wantMsg:  "route entry not found",
			wantHint: "no auth method is mounted",
		},
		{
			name:     "not found, no body",
			handler:  loginThen(answer(http.StatusNotFound, "")),
			appRole:  true,
			wantErr:  vaultErr("read", vault.ReasonNotFound, 404),
			wantHint: "KV version",
		},
		{
			name:     "not found, empty errors",
			handler:  answer(http.StatusNotFound, `{"errors":[]}`),
			wantErr:  vaultErr("read", vault.ReasonNotFound, 404),
			wantHint: "KV version",
		},
		{
			name:     "kv-v1 read of a kv-v2 mount",
			handler:  answer(http.StatusNotFound, `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":["`+kvV1OnV2Warning+`"],"auth":null}`),
			v1:       true,
			wantErr:  vaultErr("read", vault.ReasonNotFound, 404),
			wantPath: "kv/app",
			wantMsgs: []string{kvV1OnV2Warning},
			wantHint: "kv-v1 or kv-v2",
		},
		{
			name:     "kv-v2 deleted version",
			handler:  answer(http.StatusNotFound, deletedV2Body),
			wantErr:  vaultErr("read", vault.ReasonNotFound, 404),
			wantMsg:  "deleted at 2024-02-03T04:05:06Z",
			wantHint: "version",
		},
		{
			name:     "kv-v2 destroyed version",
			handler:  answer(http.StatusNotFound, destroyedV2Body),
			wantErr:  vaultErr("read", vault.ReasonNotFound, 404),
			wantMsg:  "destroyed",
			wantHint: "version",
		},
		{
			name:     "kv-v2 read of a kv-v1 secret",
			handler:  answer(http.StatusOK, `{"data":{"data":"a kv-v1 field called data"}}`),
			wantErr:  vaultErr("read", vault.ReasonNotFound, 200),
			wantMsg:  "not a kv-v2 secret",
			wantHint: "KV version",
		},
		{
			name:     "sealed",
			handler:  answer(http.StatusServiceUnavailable, `{"errors":["Vault is sealed"]}`),
			wantErr:  vaultErr("read", vault.ReasonSealed, 503),
			wantMsgs: []string{"Vault is sealed"},
			wantHint: "unseal",
		},
		{
			name:     "sealed at login",
			handler:  answer(http.StatusServiceUnavailable, `{"errors":["Vault is sealed"]}`),
			appRole:  true,
			wantErr:  vaultErr("login", vault.ReasonSealed, 503),
			wantPath: login,
			wantMsgs: []string{"Vault is sealed"},
			wantHint: "unseal",
		},
		{
			name:     "standby",
			handler:  answer(http.StatusServiceUnavailable, `{"errors":["node not active but active cluster node not found"]}`),
			wantErr:  vaultErr("read", vault.ReasonServer, 503),
			wantHint: "server log",
		},
		{
			name:     "internal error",
			handler:  answer(http.StatusInternalServerError, `{"errors":["internal error"]}`),
			wantErr:  vaultErr("read", vault.ReasonServer, 500),
			wantMsgs: []string{"internal error"},
			wantHint: "server log",
		},
		{
			name:     "internal error with several causes",
			handler:  answer(http.StatusInternalServerError, `{"errors":["2 errors occurred:\n\t* storage is down\n\t* retry later\n\n"]}`),
			wantErr:  vaultErr("read", vault.ReasonServer, 500),
			wantMsgs: []string{"storage is down", "retry later"},
			wantHint: "server log",
		},
		{
			name:     "bad request",
			handler:  answer(http.StatusBadRequest, `{"errors":["invalid version"]}`),
			wantErr:  vaultErr("read", vault.ReasonBadRequest, 400),
			wantMsgs: []string{"invalid version"},
			wantHint: "parameters",
		},
		{
			name:     "gateway timeout",
			handler:  answer(http.StatusGatewayTimeout, `{"errors":["context deadline exceeded"]}`),
			wantErr:  vaultErr("read", vault.ReasonTimeout, 504),
			wantHint: "timeout",
		},
		{
			name:     "connection refused",
			wantErr:  vaultErr("read", vault.ReasonUnreachable, 0),
			wantHint: "VaultConnection address",
		},
		{
			name:     "connection refused at login",
			appRole:  true,
			wantErr:  vaultErr("login", vault.ReasonUnreachable, 0),
			wantPath: login,
			wantHint: "VaultConnection address",
		},
		{
			name:     "timeout",
			handler:  hang,
			timeout:  100 * time.Millisecond,
			wantErr:  vaultErr("read", vault.ReasonTimeout, 0),
			wantHint: "timeout",
		},
		{
			name:     "timeout at login",
			handler:  hang,
			appRole:  true,
			timeout:  100 * time.Millisecond,
			wantErr:  vaultErr("login", vault.ReasonTimeout, 0),
			wantPath: login,
			wantHint: "timeout",
		},
	}
}

// errorCaseAddress starts the case's server (or finds a closed port).
func errorCaseAddress(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	if h == nil {
		return closedAddress(t)
	}
	return newFakeVault(t, fakeOpts{handler: h}).URL
}

func (tc errorCase) request(id *vault.Identity) vault.KVRequest {
	if tc.v1 {
		return vault.KVRequest{Identity: id, Namespace: tc.namespace, Mount: "kv", Path: "app"}
	}
	return vault.KVRequest{Identity: id, Namespace: tc.namespace, Mount: "secret", Path: "app", V2: true}
}

func TestReadKVErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range errorCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := errorCaseAddress(t, tt.handler)
			id := tokenID(addr, "hvs.token")
			if tt.appRole {
				id = appRoleID(addr, "role", "sid")
			}
			id.Connection.Timeout = tt.timeout

			start := time.Now()
			sec, err := newSession(0).ReadKV(t.Context(), tt.request(id))
			assert.Nil(t, sec)
			if !tt.wantErr(t, err) {
				return
			}
			if tt.timeout > 0 {
				assert.Less(t, time.Since(start), 10*tt.timeout+2*time.Second, "Connection.Timeout not applied")
			}

			var verr *vault.Error
			require.True(t, errors.As(err, &verr))
			wantPath := tt.wantPath
			if wantPath == "" {
				wantPath = "secret/data/app"
			}
			assert.Equal(t, wantPath, verr.Path)
			assert.Equal(t, addr, verr.Address)
			if tt.wantMsgs != nil {
				assert.Equal(t, tt.wantMsgs, verr.Messages)
			}
			if tt.wantMsg != "" {
				assert.Contains(t, strings.Join(verr.Messages, "\n"), tt.wantMsg)
			}
			if tt.wantMsgs == nil && tt.wantMsg == "" && verr.Status == http.StatusNotFound {
				assert.Empty(t, verr.Messages)
			}
			assert.Contains(t, verr.Hint(), tt.wantHint)

			// The message names the operation, the path, the address and the status.
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, verr.Op+" "+wantPath), msg)
			assert.Contains(t, msg, " at "+addr+": ")
			if verr.Status != 0 {
				assert.Contains(t, msg, fmt.Sprintf("HTTP %d %s", verr.Status, http.StatusText(verr.Status)))
			} else {
				assert.Contains(t, msg, string(verr.Reason))
			}
			for _, m := range verr.Messages {
				assert.Contains(t, msg, m)
			}
			if ns := verr.Namespace; ns != "" {
				assert.Contains(t, msg, "(namespace "+ns+")")
			}
			assert.Equal(t, tt.namespace, verr.Namespace)
		})
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{handler: answer(http.StatusForbidden, `{"errors":["permission denied"]}`)})
	_, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: tokenID(f.URL, "t"), Namespace: "team-a", Mount: "secret", Path: "app", V2: true, Version: 3})
	require.Error(t, err)
	assert.Equal(t, "read secret/data/app (namespace team-a) at "+f.URL+": HTTP 403 Forbidden: permission denied", err.Error())
	var verr *vault.Error
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, `the token's policies do not allow this read: grant "read" on "secret/data/app" to the Vault role used by the VaultAuth`, verr.Hint())
}

// TestErrorsAreShared: a failed read is made once; identical reads share its error.
func TestErrorsAreShared(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{handler: answer(http.StatusForbidden, `{"errors":["permission denied"]}`)})
	s := newSession(0)
	for range 3 {
		_, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: tokenID(f.URL, "t"), Mount: "secret", Path: "app", V2: true})
		vaultErr("read", vault.ReasonForbidden, 403)(t, err)
	}
	assert.Equal(t, vault.Stats{Reads: 1, CacheHits: 2}, s.Stats())
}

func TestTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		appRole bool
		conn    func(t *testing.T, f *fakeVault, c *vault.Connection)
		wantErr assert.ErrorAssertionFunc
	}{
		{
			name:    "no CA",
			conn:    func(*testing.T, *fakeVault, *vault.Connection) {},
			wantErr: vaultErr("read", vault.ReasonTLS, 0),
		},
		{
			name:    "no CA at login",
			appRole: true,
			conn:    func(*testing.T, *fakeVault, *vault.Connection) {},
			wantErr: vaultErr("login", vault.ReasonTLS, 0),
		},
		{
			name:    "CA PEM",
			conn:    func(_ *testing.T, f *fakeVault, c *vault.Connection) { c.CACert = f.certPEM() },
			wantErr: assert.NoError,
		},
		{
			name:    "CA PEM with AppRole",
			appRole: true,
			conn:    func(_ *testing.T, f *fakeVault, c *vault.Connection) { c.CACert = f.certPEM() },
			wantErr: assert.NoError,
		},
		{
			name: "CA PEM and a matching server name",
			conn: func(_ *testing.T, f *fakeVault, c *vault.Connection) {
				c.CACert = f.certPEM()
				c.TLSServerName = "example.com" // in httptest's certificate
			},
			wantErr: assert.NoError,
		},
		{
			name: "CA PEM and a wrong server name",
			conn: func(_ *testing.T, f *fakeVault, c *vault.Connection) {
				c.CACert = f.certPEM()
				c.TLSServerName = "vault.internal"
			},
			wantErr: vaultErr("read", vault.ReasonTLS, 0),
		},
		{
			name:    "skip verify",
			conn:    func(_ *testing.T, _ *fakeVault, c *vault.Connection) { c.SkipTLSVerify = true },
			wantErr: assert.NoError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, fakeOpts{tls: true})
			id := tokenID(f.URL, "t")
			if tt.appRole {
				id = appRoleID(f.URL, "role", "sid")
			}
			tt.conn(t, f, &id.Connection)
			sec, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "app", V2: true})
			if !tt.wantErr(t, err) {
				return
			}
			var verr *vault.Error
			if err != nil {
				require.ErrorAs(t, err, &verr)
				assert.Contains(t, verr.Hint(), "CA")
				assert.Contains(t, err.Error(), " at "+f.URL+": tls: ")
				return
			}
			assert.Equal(t, "hunter2", sec.Fields["password"])
		})
	}
}
