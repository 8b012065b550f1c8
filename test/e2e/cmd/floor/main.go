// Command floor is the benchmark's floor: the reads that vaultcmp makes for
// an app, done directly with github.com/hashicorp/vault/api at the same
// concurrency and with the same AppRole login, and nothing else.
//
//	floor -addr URL -role-id ID -concurrency 16 secret/data/a secret/data/b ...
//
// The secret-id is read from $FLOOR_SECRET_ID. With no paths it does
// nothing: the floor of a process start (a Go program linking vault/api).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
)

func main() {
	addr := flag.String("addr", "", "Vault address")
	roleID := flag.String("role-id", "", "AppRole role-id")
	conc := flag.Int("concurrency", 16, "reads in flight")
	flag.Parse()
	if err := run(*addr, *roleID, *conc, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(addr, roleID string, conc int, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	ctx := context.Background()
	cfg := api.DefaultConfig()
	cfg.Address = addr
	c, err := api.NewClient(cfg)
	if err != nil {
		return err
	}
	a, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromEnv: "FLOOR_SECRET_ID"})
	if err != nil {
		return err
	}
	if _, err := c.Auth().Login(ctx, a); err != nil {
		return err
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	errs := make(chan error, len(paths))
	for _, p := range paths {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s, err := c.Logical().ReadWithContext(ctx, p)
			if err == nil && s == nil {
				err = fmt.Errorf("%s: not found", p)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
