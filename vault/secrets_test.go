package vault_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/vaultcmp/vaultcmp/vault"
)

// Planted secrets: none may show in an error, a hint or an identity key.
const (
	plantedToken    = "hvs.PLANTED-token-3f9a61"
	plantedSecretID = "PLANTED-secret-id-77c1b0"
	plantedData     = "PLANTED-data-value-d41d8c"
)

var planted = []string{plantedToken, plantedSecretID, plantedData}

// assertNoSecret checks every text a user may see of err: its message,
// its hint and the messages of everything it wraps.
func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	var texts []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error())
	}
	texts = append(texts, fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err))
	var verr *vault.Error
	if errors.As(err, &verr) {
		texts = append(texts, verr.Hint(), strings.Join(verr.Messages, "\n"))
	}
	for _, text := range texts {
		for _, s := range planted {
			assert.NotContains(t, text, s)
		}
	}
}

// leakCases are the error cases plus answers that hold secret data.
func leakCases() []errorCase {
	cases := errorCases()
	v2 := `{"data":{"data":{"password":"` + plantedData + `"},"metadata":{"version":1}}}`
	return append(cases,
		errorCase{name: "kv-v2 read of kv-v1 data", handler: answer(http.StatusOK, `{"data":{"data":"`+plantedData+`","password":"`+plantedData+`"}}`)},
		errorCase{name: "kv-v2 read of a kv-v1 list", handler: answer(http.StatusOK, `{"data":{"data":["`+plantedData+`"]}}`)},
		errorCase{name: "deleted version with custom metadata", handler: answer(http.StatusNotFound,
			`{"data":{"data":null,"metadata":{"custom_metadata":{"k":"`+plantedData+`"},"deletion_time":"2024-02-03T04:05:06Z","version":3}}}`)},
		errorCase{name: "truncated answer", handler: answer(http.StatusOK, v2[:len(v2)-20])},
		errorCase{name: "garbage answer", handler: answer(http.StatusOK, plantedData)},
		errorCase{name: "login answer without a token", handler: answer(http.StatusOK, `{"auth":null,"data":{"secret_id":"`+plantedSecretID+`"}}`)},
	)
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	for _, tt := range leakCases() {
		for _, appRole := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/approle=%t", tt.name, appRole), func(t *testing.T) {
				t.Parallel()
				addr := errorCaseAddress(t, tt.handler)
				id := tokenID(addr, plantedToken)
				if appRole {
					id = appRoleID(addr, "role", plantedSecretID)
				}
				id.Connection.Timeout = tt.timeout
				if id.Connection.Timeout == 0 {
					id.Connection.Timeout = 5 * time.Second
				}
				_, err := newSession(0).ReadKV(t.Context(), tt.request(id))
				if assert.Error(t, err) {
					assertNoSecret(t, err)
				}
			})
		}
	}
}

func TestSecretsNeverLeakFromConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		op   string
		req  vault.KVRequest
	}{
		{"dotdot path", "read", vault.KVRequest{Identity: tokenID("http://127.0.0.1:1", plantedToken), Mount: "secret", Path: "../x", V2: true}},
		{"leading slash", "read", vault.KVRequest{Identity: appRoleID("http://127.0.0.1:1", "role", plantedSecretID), Mount: "/secret", Path: "x"}},
		{"no token", "login", vault.KVRequest{Identity: tokenID("http://127.0.0.1:1", ""), Mount: "secret", Path: "x"}},
		{"bad CA", "login", vault.KVRequest{Identity: &vault.Identity{
			Connection: vault.Connection{Address: "https://127.0.0.1:1", CACert: []byte("not a PEM " + plantedData)},
			Auth:       vault.TokenAuth(plantedToken),
		}, Mount: "secret", Path: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newSession(0).ReadKV(t.Context(), tt.req)
			if vaultErr(tt.op, vault.ReasonConfig, 0)(t, err) {
				assertNoSecret(t, err)
			}
		})
	}
}

func TestIdentityKeyHoldsNoSecret(t *testing.T) {
	t.Parallel()
	conn := vault.Connection{Address: "https://vault:8200", CACert: []byte("PEM")}
	ids := map[string]*vault.Identity{
		"token":   {Connection: conn, Auth: vault.TokenAuth(plantedToken)},
		"approle": {Connection: conn, Auth: vault.AppRoleAuth("approle", "role", plantedSecretID)},
		"jwt":     {Connection: conn, Auth: vault.Auth{Method: "jwt", Mount: "jwt", Role: "r", Subject: "ns/sa", Secret: plantedToken + plantedSecretID}},
	}
	keys := map[string]string{}
	for name, id := range ids {
		k := id.Key()
		for _, s := range planted {
			assert.NotContains(t, k, s, name)
		}
		keys[k] = name
	}
	assert.Len(t, keys, len(ids), "identities must have distinct keys")

	// The credential still tells identities apart, and only the credential.
	a := vault.Identity{Connection: conn, Auth: vault.AppRoleAuth("approle", "role", "secret-a")}
	a2 := vault.Identity{Connection: conn, Auth: vault.AppRoleAuth("approle", "role", "secret-a")}
	b := vault.Identity{Connection: conn, Auth: vault.AppRoleAuth("approle", "role", "secret-b")}
	assert.Equal(t, a.Key(), a2.Key())
	assert.NotEqual(t, a.Key(), b.Key())
	assert.NotContains(t, a.Key(), "secret-a")
}
