package vault

import (
	"strings"
	"testing"
)

func TestAllowList(t *testing.T) {
	l, err := ParseAllowList("https://Vault.corp.com:8200, http://127.0.0.1:8200", "https://vault.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"https://vault.corp.com:8200", true},
		{"https://VAULT.corp.com:8200/", true},
		{"http://127.0.0.1:8200", true},
		{"https://vault.example.com", true},
		{"https://vault.example.com:443", true},
		{"http://vault.example.com", false},        // scheme differs
		{"https://vault.corp.com:8201", false},     // port differs
		{"https://vault.corp.com", false},          // default port 443
		{"https://attacker.example:8200", false},   // host differs
		{"https://vault.corp.com:8200/x", false},   // a path is not an address
		{"https://u:p@vault.corp.com:8200", false}, // credentials in the URL
		{"unix:///var/run/vault.sock", false},
	} {
		err := l.Check(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), EnvAllowedVaultAddresses) && tc.addr != "unix:///var/run/vault.sock" &&
			!strings.Contains(err.Error(), "want scheme") {
			t.Errorf("Check(%q): error %q does not name %s", tc.addr, err, EnvAllowedVaultAddresses)
		}
	}
}

func TestAllowListEmptyAllowsNothing(t *testing.T) {
	var l AllowList
	err := l.Check("http://127.0.0.1:8200")
	if err == nil || !strings.Contains(err.Error(), "is not set") {
		t.Fatalf("zero AllowList: got %v, want an error saying the variable is not set", err)
	}
}

func TestParseAllowListRefusesBadEntries(t *testing.T) {
	for _, e := range []string{"vault.corp.com:8200", "ftp://vault", "https://vault/path", "https://"} {
		if _, err := ParseAllowList(e); err == nil {
			t.Errorf("ParseAllowList(%q): no error", e)
		}
	}
}
