package vault_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

func TestKVRequestAPIPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  vault.KVRequest
		want string
	}{
		{"kv-v2", vault.KVRequest{Mount: "secret", Path: "app", V2: true}, "secret/data/app"},
		{"kv-v2 nested", vault.KVRequest{Mount: "teams/a/kv", Path: "web/config", V2: true}, "teams/a/kv/data/web/config"},
		{"kv-v2 version is not in the path", vault.KVRequest{Mount: "secret", Path: "app", V2: true, Version: 3}, "secret/data/app"},
		{"kv-v2 surrounding slashes", vault.KVRequest{Mount: "/secret/", Path: "/app/", V2: true}, "secret/data/app"},
		{"kv-v2 trailing slashes", vault.KVRequest{Mount: "secret//", Path: "web/config/", V2: true}, "secret/data/web/config"},
		{"kv-v1", vault.KVRequest{Mount: "kv", Path: "app"}, "kv/app"},
		{"kv-v1 nested", vault.KVRequest{Mount: "teams/a/kv", Path: "web/config"}, "teams/a/kv/web/config"},
		{"kv-v1 surrounding slashes", vault.KVRequest{Mount: "/kv/", Path: "/team/app/"}, "kv/team/app"},
		{"kv-v1 version ignored", vault.KVRequest{Mount: "kv", Path: "app", Version: 2}, "kv/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.req.APIPath())
		})
	}
}

// TestReadKVPath checks which paths go on the wire and which are refused
// before any request (not even a login) is sent.
func TestReadKVPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mount    string
		path     string
		v2       bool
		wantPath string // "" when refused
		wantErr  assert.ErrorAssertionFunc
	}{
		{name: "kv-v2", mount: "secret", path: "app", v2: true, wantPath: "/v1/secret/data/app", wantErr: assert.NoError},
		{name: "kv-v1", mount: "kv", path: "team/app", wantPath: "/v1/kv/team/app", wantErr: assert.NoError},
		{name: "trailing slashes", mount: "secret/", path: "app/", v2: true, wantPath: "/v1/secret/data/app", wantErr: assert.NoError},
		{name: "dots inside a name are fine", mount: "secret", path: "a..b/c.", v2: true, wantPath: "/v1/secret/data/a..b/c.", wantErr: assert.NoError},
		{name: "dotdot path", mount: "secret", path: "../../sys/policy", v2: true, wantErr: vaultErr("read", vault.ReasonConfig, 0)},
		{name: "dotdot in the middle", mount: "secret", path: "app/../../sys/mounts", wantErr: vaultErr("read", vault.ReasonConfig, 0)},
		{name: "dotdot alone", mount: "secret", path: "..", v2: true, wantErr: vaultErr("read", vault.ReasonConfig, 0)},
		{name: "dotdot in the mount", mount: "secret/..", path: "app", wantErr: vaultErr("read", vault.ReasonConfig, 0)},
		{name: "leading slash in path", mount: "secret", path: "/app", v2: true, wantErr: vaultErr("read", vault.ReasonConfig, 0)},
		{name: "leading slash in mount", mount: "/secret", path: "app", wantErr: vaultErr("read", vault.ReasonConfig, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, fakeOpts{})
			// AppRole, so that even the login would show on the wire.
			id := appRoleID(f.URL, "role", "secret-id")
			_, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{Identity: id, Mount: tt.mount, Path: tt.path, V2: tt.v2})
			tt.wantErr(t, err)
			logins, reads := f.count()
			if tt.wantPath == "" {
				assert.Zero(t, logins+reads, "a refused request must send nothing")
				var verr *vault.Error
				if assert.ErrorAs(t, err, &verr) {
					assert.Contains(t, verr.Error(), f.URL)
					assert.Contains(t, verr.Hint(), "VaultConnection/VaultAuth")
				}
				return
			}
			reqs := f.requests()
			require.Len(t, reqs, 2)
			assert.Equal(t, "/v1/auth/approle/login", reqs[0].Path)
			assert.Equal(t, "GET", reqs[1].Method)
			assert.Equal(t, tt.wantPath, reqs[1].Path)
		})
	}
}

func TestReadKVVersionQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		v2        bool
		version   int
		wantQuery string
		wantVer   int
	}{
		{name: "kv-v2 version 3", v2: true, version: 3, wantQuery: "version=3", wantVer: 3},
		{name: "kv-v2 latest", v2: true, version: 0, wantQuery: "", wantVer: 7},
		{name: "kv-v2 negative version", v2: true, version: -1, wantQuery: "", wantVer: 7},
		{name: "kv-v1 ignores version", v2: false, version: 3, wantQuery: "", wantVer: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVault(t, fakeOpts{})
			mount := "kv"
			if tt.v2 {
				mount = "secret"
			}
			sec, err := newSession(0).ReadKV(t.Context(), vault.KVRequest{
				Identity: tokenID(f.URL, "tok"), Mount: mount, Path: "app", V2: tt.v2, Version: tt.version,
			})
			require.NoError(t, err)
			assert.Equal(t, tt.wantVer, sec.Version)
			reqs := f.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.wantQuery, reqs[0].RawQuery)
		})
	}
}
