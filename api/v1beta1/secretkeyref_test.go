package v1beta1

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretKeyRefJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    SecretKeyRef
		wantOut string
		wantErr assert.ErrorAssertionFunc
	}{
		{"string form", `"approle-creds"`, SecretKeyRef{Name: "approle-creds"}, `"approle-creds"`, assert.NoError},
		{"object form", `{"name":"creds","key":"secret-id"}`, SecretKeyRef{Name: "creds", Key: "secret-id"}, `{"name":"creds","key":"secret-id"}`, assert.NoError},
		{"object form without key", `{"name":"creds"}`, SecretKeyRef{Name: "creds"}, `"creds"`, assert.NoError},
		{"null", `null`, SecretKeyRef{}, `""`, assert.NoError},
		{"object without name", `{"key":"k"}`, SecretKeyRef{}, "", assert.Error},
		{"object with unknown field", `{"name":"n","kye":"k"}`, SecretKeyRef{}, "", assert.Error},
		{"number", `42`, SecretKeyRef{}, "", assert.Error},
		{"array", `["n"]`, SecretKeyRef{}, "", assert.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got SecretKeyRef
			err := json.Unmarshal([]byte(tt.in), &got)
			tt.wantErr(t, err)
			if err != nil {
				return
			}
			assert.Equal(t, tt.want, got)
			out, err := json.Marshal(got)
			require.NoError(t, err)
			assert.JSONEq(t, tt.wantOut, string(out))

			var again SecretKeyRef
			require.NoError(t, json.Unmarshal(out, &again))
			assert.Equal(t, got, again, "round trip")
		})
	}
}

func TestSecretKeyRefOmittedWhenUnset(t *testing.T) {
	out, err := json.Marshal(VaultAuthConfigAppRole{RoleID: "r", SecretIDPath: "/id"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"roleId":"r","secretIDPath":"/id"}`, string(out))

	out, err = json.Marshal(VaultAuthConfigJWT{Role: "r", SecretRef: SecretKeyRef{Name: "jwt-secret"}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"role":"r","secretRef":"jwt-secret"}`, string(out))
}

func TestSecretKeyRefKeyOr(t *testing.T) {
	assert.Equal(t, "id", SecretKeyRef{Name: "n"}.KeyOr(DefaultAppRoleSecretKey))
	assert.Equal(t, "jwt", SecretKeyRef{Name: "n"}.KeyOr(DefaultJWTSecretKey))
	assert.Equal(t, "secret-id", SecretKeyRef{Name: "n", Key: "secret-id"}.KeyOr(DefaultAppRoleSecretKey))
}
