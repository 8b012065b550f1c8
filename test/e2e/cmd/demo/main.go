// Command demo starts a real Vault dev server on 127.0.0.1, seeds it with
// the data of the seed document's webapp, and renders examples/webapp and
// examples/webapp-transform (or the directories given) with vaultcmp,
// printing what Argo CD would apply with the default delivery (in-cluster:
// carriers, no value). Then (without arguments) it applies the seed's
// webapp to a real kube-apiserver and shows all three Secrets filled by a
// running `vaultcmp companion`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/vaultcmp/vaultcmp/test/e2e"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(dirs []string) error {
	ctx := context.Background()
	if len(dirs) == 0 {
		dirs = []string{filepath.Join(e2e.RepoRoot(), "examples", "webapp"), filepath.Join(e2e.RepoRoot(), "examples", "webapp-transform")}
	}
	tmp, err := os.MkdirTemp("", "vaultcmp-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := e2e.VaultcmpBinary(tmp)
	if err != nil {
		return err
	}
	v, err := e2e.StartVault(ctx)
	if err != nil {
		return err
	}
	defer v.Stop()
	if err := e2e.SeedDemo(ctx, v); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "# Vault dev server at %s, seeded; rendering with VAULT_ADDR and VAULT_TOKEN\n", v.Addr)
	for _, d := range dirs {
		fmt.Fprintf(os.Stderr, "# vaultcmp render %s\n", d)
		cmd := exec.CommandContext(ctx, bin, "render", d)
		cmd.Env = append(os.Environ(), "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+e2e.RootToken,
			"VAULTCMP_HMAC_KEY_FILE="+filepath.Join(tmp, "hmac-key"))
		if err := os.WriteFile(filepath.Join(tmp, "hmac-key"), []byte("demo-installation-key\n"), 0o600); err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("vaultcmp render %s: %w", d, err)
		}
	}
	if len(os.Args) > 1 {
		return nil
	}
	return companionDemo(ctx, bin, v, tmp)
}
