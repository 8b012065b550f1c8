package v1beta1

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAuthHeadersRefused: no manifest makes vaultcmp send a credential
// header (issue 15, row 1), on a VaultConnection as on a VaultAuth.
func TestAuthHeadersRefused(t *testing.T) {
	for _, h := range []string{"X-Vault-Token", "x-vault-token", "Authorization", "Proxy-Authorization", "Cookie", "X-Vault-Wrap-TTL"} {
		conn := VaultConnectionSpec{Address: "https://vault:8200", Headers: map[string]string{h: "v", "X-Team": "web"}}
		errs := conn.Validate()
		if assert.Len(t, errs, 1, h) {
			assert.Equal(t, "spec.headers["+h+"]", errs[0].Field)
			assert.NotContains(t, errs[0].Error(), `"v"`, "a header's value is never printed")
		}
		auth := VaultAuthSpec{Method: MethodKubernetes, Mount: "kubernetes", Headers: map[string]string{h: "v"},
			Kubernetes: &VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}}
		if errs := auth.Validate(); assert.Len(t, errs, 1, h) {
			assert.Equal(t, "spec.headers["+h+"]", errs[0].Field)
		}
	}
	ok := VaultConnectionSpec{Address: "https://vault:8200", Headers: map[string]string{"X-Team": "web", "X-Vault-Namespace": "ns1"}}
	assert.Empty(t, ok.Validate())
}
