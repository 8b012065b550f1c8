// Package e2e runs vaultcmp against real parts started on 127.0.0.1 by the
// tests themselves: a Vault dev server built from HashiCorp's Go module
// (parts/vault), and vaultcmp's own binary built from the repository.
//
// A part that cannot be built or started fails the run; nothing is skipped.
// The binaries are cached under $(go env GOCACHE)/../vaultcmp-e2e-bin (or
// $VAULTCMP_E2E_BIN) and rebuilt only when their version changes.
package e2e
