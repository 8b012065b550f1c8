package contract

import "testing"

func TestOwner(t *testing.T) {
	if got, want := Owner("VaultStaticSecret", "app"), "VaultStaticSecret/app"; got != want {
		t.Errorf("Owner = %q, want %q", got, want)
	}
}
