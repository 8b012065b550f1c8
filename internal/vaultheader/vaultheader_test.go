package vaultheader

import (
	"slices"
	"testing"
)

func TestForbidden(t *testing.T) {
	for name, want := range map[string]bool{
		"X-Vault-Token": true, "x-vault-token": true, " X-VAULT-TOKEN ": true,
		"Authorization": true, "authorization": true, "Proxy-Authorization": true,
		"Cookie": true, "X-Vault-Wrap-TTL": true, "x-vault-wrap-format": true,
		"X-Vault-MFA": true, "X-Vault-Policy-Override": true,
		"X-Team": false, "X-Vault-Namespace": false, "X-Vault-Request": false, "Accept": false,
	} {
		if got := Forbidden(name); got != want {
			t.Errorf("Forbidden(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestFirstAndSortedList(t *testing.T) {
	if !slices.IsSorted(forbidden) {
		t.Fatal("forbidden must be sorted (binary search)")
	}
	if got := First(map[string]string{"X-Team": "a", "x-vault-token": "t", "Authorization": "b"}); got != "Authorization" {
		t.Errorf("First = %q", got)
	}
	if got := First(map[string]string{"X-Team": "a"}); got != "" {
		t.Errorf("First = %q", got)
	}
}
