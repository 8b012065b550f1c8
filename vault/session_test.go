package vault_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// TestReadKVWire checks the exact request a kv-v2 read sends.
func TestReadKVWire(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{})
	id := tokenID(f.URL, "hvs.wire-token")
	id.Connection.Headers = map[string]string{"X-Conn": "c1"}
	_, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "app", V2: true, Version: 3})
	require.NoError(t, err)

	reqs := f.requests()
	require.Len(t, reqs, 1, "a token identity sends no login")
	r := reqs[0]
	assert.Equal(t, http.MethodGet, r.Method)
	assert.Equal(t, "/v1/secret/data/app", r.Path)
	assert.Equal(t, "version=3", r.RawQuery)
	assert.Equal(t, "hvs.wire-token", r.Header.Get("X-Vault-Token"))
	assert.Equal(t, "c1", r.Header.Get("X-Conn"))
	assert.Empty(t, r.Header.Values("X-Vault-Namespace"))
}

// TestReadKVHeaders checks that VaultConnection headers go with every
// request and VaultAuth headers only with the login, for every namespace
// combination.
func TestReadKVHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		authNS    string
		reqNS     string
		wantLogin string // X-Vault-Namespace of the login
		wantRead  string // X-Vault-Namespace of the read
	}{
		{name: "no namespace"},
		{name: "auth namespace", authNS: "admin", wantLogin: "admin", wantRead: "admin"},
		{name: "request namespace", reqNS: "team-a", wantRead: "team-a"},
		{name: "request namespace wins", authNS: "admin", reqNS: "admin/team-a", wantLogin: "admin", wantRead: "admin/team-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, fakeOpts{})
			a := vault.AppRoleAuth("approle", "role-1", "sid-1")
			a.Namespace = tt.authNS
			a.Headers = map[string]string{"X-Login-Only": "l1"}
			id := &vault.Identity{Connection: vault.Connection{Address: f.URL, Headers: map[string]string{"X-Conn": "c1"}}, Auth: a}
			s := newSession(0)
			for _, p := range []string{"one", "two"} {
				_, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: id, Namespace: tt.reqNS, Mount: "secret", Path: p, V2: true})
				require.NoError(t, err)
			}

			reqs := f.requests()
			require.Len(t, reqs, 3)
			login := reqs[0]
			require.True(t, login.isLogin(), login.Path)
			assert.Equal(t, "c1", login.Header.Get("X-Conn"))
			assert.Equal(t, "l1", login.Header.Get("X-Login-Only"))
			assert.Equal(t, tt.wantLogin, login.Header.Get("X-Vault-Namespace"))
			assert.Empty(t, login.Header.Get("X-Vault-Token"), "the login carries no token")
			for _, r := range reqs[1:] {
				assert.False(t, r.isLogin(), r.Path)
				assert.Equal(t, "c1", r.Header.Get("X-Conn"), r.Path)
				assert.Empty(t, r.Header.Values("X-Login-Only"), r.Path)
				assert.Equal(t, tt.wantRead, r.Header.Get("X-Vault-Namespace"), r.Path)
				assert.Equal(t, loginToken("sid-1"), r.Header.Get("X-Vault-Token"), r.Path)
			}
		})
	}
}

func TestReadKVTokenAuthNamespace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		authNS string
		reqNS  string
		want   string
	}{
		{name: "none"},
		{name: "auth namespace", authNS: "admin", want: "admin"},
		{name: "request namespace", reqNS: "team-a", want: "team-a"},
		{name: "request namespace wins", authNS: "admin", reqNS: "admin/team-a", want: "admin/team-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, fakeOpts{})
			id := tokenID(f.URL, "hvs.tok")
			id.Auth.Namespace = tt.authNS
			_, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: id, Namespace: tt.reqNS, Mount: "kv", Path: "app"})
			require.NoError(t, err)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.want, reqs[0].Header.Get("X-Vault-Namespace"))
			assert.Equal(t, "hvs.tok", reqs[0].Header.Get("X-Vault-Token"))
		})
	}
}

// TestLoginIgnoresEnvironment: vault/api picks VAULT_TOKEN and
// VAULT_NAMESPACE from the environment in every new client, the login's
// clone included; only the identity may decide them.
func TestLoginIgnoresEnvironment(t *testing.T) {
	t.Setenv("VAULT_TOKEN", "hvs.from-env")
	t.Setenv("VAULT_NAMESPACE", "env-ns")
	for _, authNS := range []string{"", "admin"} {
		t.Run("auth namespace "+authNS, func(t *testing.T) {
			f := newFakeVault(t, fakeOpts{})
			id := appRoleID(f.URL, "role", "sid")
			id.Auth.Namespace = authNS
			id.Auth.Headers = map[string]string{"X-Login-Only": "1"}
			_, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "app", V2: true})
			require.NoError(t, err)
			reqs := f.requests()
			require.Len(t, reqs, 2)
			assert.Empty(t, reqs[0].Header.Get("X-Vault-Token"), "login")
			assert.Equal(t, authNS, reqs[0].Header.Get("X-Vault-Namespace"), "login")
			assert.Equal(t, loginToken("sid"), reqs[1].Header.Get("X-Vault-Token"), "read")
			assert.Equal(t, authNS, reqs[1].Header.Get("X-Vault-Namespace"), "read")
		})
	}
}

func TestReadKVUnwrap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		v2   bool
		want *vault.KVSecret
	}{
		{
			name: "kv-v2",
			v2:   true,
			body: `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":0,
				"data":{"data":{"user":"app","port":5432},"metadata":{"created_time":"2024-01-02T03:04:05Z","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}},
				"wrap_info":null,"warnings":null,"auth":null}`,
			want: &vault.KVSecret{
				Fields: map[string]any{"user": "app", "port": jsonNumber("5432")},
				Response: map[string]any{
					"data":     map[string]any{"user": "app", "port": jsonNumber("5432")},
					"metadata": map[string]any{"created_time": "2024-01-02T03:04:05Z", "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": jsonNumber("3")},
				},
				Version: 3,
			},
		},
		{
			name: "kv-v1",
			body: `{"request_id":"r","lease_id":"","renewable":false,"lease_duration":2764800,"data":{"user":"app","data":"not unwrapped"},"wrap_info":null,"warnings":null,"auth":null}`,
			want: &vault.KVSecret{
				Fields:   map[string]any{"user": "app", "data": "not unwrapped"},
				Response: map[string]any{"user": "app", "data": "not unwrapped"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, fakeOpts{handler: answer(http.StatusOK, tt.body)})
			got, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: tokenID(f.URL, "t"), Mount: "secret", Path: "app", V2: tt.v2})
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAppRoleLogin(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{})
	id := &vault.Identity{Connection: vault.Connection{Address: f.URL}, Auth: vault.AppRoleAuth("approle-ci/", "role-123", "sid-456")}
	sec, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "app", V2: true})
	require.NoError(t, err)
	assert.Equal(t, "app", sec.Fields["path"])

	reqs := f.requests()
	require.Len(t, reqs, 2)
	login := reqs[0]
	assert.Contains(t, []string{http.MethodPut, http.MethodPost}, login.Method)
	assert.Equal(t, "/v1/auth/approle-ci/login", login.Path)
	assert.Equal(t, map[string]any{"role_id": "role-123", "secret_id": "sid-456"}, login.Body)
	assert.Empty(t, login.Header.Get("X-Vault-Token"))
	assert.Equal(t, "/v1/secret/data/app", reqs[1].Path)
	assert.Equal(t, loginToken("sid-456"), reqs[1].Header.Get("X-Vault-Token"))
}

// TestOneLoginPerIdentity: many concurrent reads under equal identities
// (distinct *Identity values) share one login; an identity that differs
// only in its secret logs in on its own.
func TestOneLoginPerIdentity(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{handler: kvVault(5 * time.Millisecond)})
	s := newSession(4)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		secretID := "sid-a"
		if i%2 == 1 {
			secretID = "sid-b"
		}
		wg.Go(func() {
			sec, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: appRoleID(f.URL, "role", secretID), Mount: "secret", Path: fmt.Sprintf("p%d", i), V2: true})
			if err == nil && sec.Fields["path"] != fmt.Sprintf("p%d", i) {
				err = fmt.Errorf("read p%d got %v", i, sec.Fields)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	st := s.Stats()
	assert.Equal(t, int64(2), st.Logins)
	assert.Equal(t, int64(40), st.Reads)
	assert.Zero(t, st.CacheHits)
	logins, reads := f.count()
	assert.Equal(t, 2, logins)
	assert.Equal(t, 40, reads)
	tokens := map[string]int{}
	for _, r := range f.requests() {
		if !r.isLogin() {
			tokens[r.Header.Get("X-Vault-Token")]++
		}
	}
	assert.Equal(t, map[string]int{loginToken("sid-a"): 20, loginToken("sid-b"): 20}, tokens)
}

func TestIdenticalReadsShared(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{handler: kvVault(20 * time.Millisecond)})
	s := newSession(0)
	const n = 50
	results := make([]*vault.KVSecret, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.ReadKV(t.Context(), vault.KVRequest{Identity: appRoleID(f.URL, "role", "sid"), Mount: "secret", Path: "app", V2: true, Version: 2})
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Same(t, results[0], results[i])
	}
	assert.Equal(t, vault.Stats{Reads: 1, Logins: 1, CacheHits: n - 1}, s.Stats())
	logins, reads := f.count()
	assert.Equal(t, 1, logins)
	assert.Equal(t, 1, reads)
}

func TestDifferentReadsNotShared(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{})
	s := newSession(0)
	id := tokenID(f.URL, "t")
	reqs := []vault.KVRequest{
		{Identity: id, Mount: "secret", Path: "app", V2: true},
		{Identity: id, Mount: "secret", Path: "app", V2: true, Version: 1},
		{Identity: id, Mount: "secret", Path: "app", V2: true, Version: 2},
		{Identity: id, Mount: "secret", Path: "app", V2: true, Version: 2}, // cache hit
		{Identity: id, Namespace: "team-a", Mount: "secret", Path: "app", V2: true},
		{Identity: tokenID(f.URL, "other"), Mount: "secret", Path: "app", V2: true},
		// Same wire path as the first, but read as kv-v1: parsed differently.
		{Identity: id, Mount: "secret", Path: "data/app"},
	}
	for _, r := range reqs {
		_, err := s.ReadKV(t.Context(), r)
		require.NoError(t, err)
	}
	assert.Equal(t, vault.Stats{Reads: 6, CacheHits: 1}, s.Stats())
	var queries []string
	for _, r := range f.requests() {
		queries = append(queries, r.RawQuery)
	}
	assert.Equal(t, []string{"", "version=1", "version=2", "", "", ""}, queries)
}

// TestKVv1AndV2OfTheSamePathAreDistinct: a kv-v1 read of "secret/data/app"
// and a kv-v2 read of "secret/app" go to the same URL but must not share a
// result, since they unwrap it differently.
func TestKVv1AndV2OfTheSamePathAreDistinct(t *testing.T) {
	t.Parallel()
	f := newFakeVault(t, fakeOpts{})
	s := newSession(0)
	id := tokenID(f.URL, "t")
	v2, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "app", V2: true})
	require.NoError(t, err)
	v1, err := s.ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "data/app"})
	require.NoError(t, err)
	assert.Equal(t, "hunter2", v2.Fields["password"])
	assert.Contains(t, v1.Fields, "metadata", "kv-v1 returns the whole .data")
	assert.Equal(t, 7, v2.Version)
	assert.Zero(t, v1.Version)
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   func(addr string) *vault.Identity
	}{
		{"token", func(addr string) *vault.Identity { return tokenID(addr, "t") }},
		{"approle", func(addr string) *vault.Identity { return appRoleID(addr, "role", "sid") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, fakeOpts{handler: kvVault(20 * time.Millisecond)})
			s := newSession(3)
			var wg sync.WaitGroup
			errs := make([]error, 20)
			for i := range 20 {
				wg.Go(func() {
					_, errs[i] = s.ReadKV(t.Context(), vault.KVRequest{Identity: tt.id(f.URL), Mount: "secret", Path: fmt.Sprintf("p%d", i), V2: true})
				})
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			_, reads := f.count()
			assert.Equal(t, 20, reads)
			peak := f.maxInflight.Load()
			assert.LessOrEqual(t, peak, int64(3))
			assert.GreaterOrEqual(t, peak, int64(2), "the reads should have overlapped")
		})
	}
}

// A render follows no redirect either: no token or secret-id reaches the
// host a Location header names.
func TestSessionFollowsNoRedirect(t *testing.T) {
	capture := newFakeVault(t, fakeOpts{})
	f := newFakeVault(t, fakeOpts{handler: func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, capture.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}})
	for _, id := range []*vault.Identity{tokenID(f.URL, "tok-1"), appRoleID(f.URL, "r", "s")} {
		_, err := newSession(1).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: "secret", Path: "x", V2: true})
		var verr *vault.Error
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, vault.ReasonRedirect, verr.Reason)
	}
	assert.Empty(t, capture.requests())
}
