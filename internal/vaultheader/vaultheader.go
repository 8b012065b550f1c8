// Package vaultheader is the rule on the HTTP headers a manifest may ask
// vaultcmp to send to Vault (VaultConnection and VaultAuth spec.headers,
// a contract's connection.headers and auth.headers). It is shared by the
// API validation (generate), the contract's validation (the companion) and
// the vault package (the last guard where headers are put on clients), so
// the three can never disagree. It imports nothing of vaultcmp.
package vaultheader

import (
	"net/http"
	"slices"
	"strings"
)

// forbidden are the headers that carry a credential or change whose
// credential a request is made with, or what Vault answers with:
// a manifest never sets them. With X-Vault-Token or Authorization on a
// login, the "login" runs as the manifest's own token (a write of the
// freshly minted service-account token into the writer's cubbyhole);
// wrapping headers turn an answer into a wrapping token.
var forbidden = []string{
	"Authorization",
	"Cookie",
	"Proxy-Authorization",
	"X-Vault-Mfa",
	"X-Vault-Policy-Override",
	"X-Vault-Token",
	"X-Vault-Wrap-Format",
	"X-Vault-Wrap-Ttl",
}

// Forbidden reports whether a manifest may not set the header name (any
// case, surrounding space ignored).
func Forbidden(name string) bool {
	_, found := slices.BinarySearch(forbidden, http.CanonicalHeaderKey(strings.TrimSpace(name)))
	return found
}

// First is the first forbidden header of headers in name order, "" when
// none is.
func First(headers map[string]string) string {
	bad := ""
	for k := range headers {
		if Forbidden(k) && (bad == "" || k < bad) {
			bad = k
		}
	}
	return bad
}

// Reason says why a forbidden header is refused, for messages.
const Reason = "carries a credential or changes whose credential a request uses: vaultcmp never sends it from a manifest"
