package plugin

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/cmp"
	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/renderer"
)

func newDiscoverCommand(env Env) *cobra.Command {
	var lf limitFlags
	cmd := &cobra.Command{
		Use:   "discover [DIR]",
		Short: "Print the files of an app that hold secrets.hashicorp.com resources (Argo CD's discover)",
		Long: `discover prints, one per line, the files under DIR (default: the current
directory) that hold secrets.hashicorp.com resources, and nothing for other
apps. Argo CD's cmp-server selects the plugin when the output is not empty.
It always exits 0, so that an unreadable app never breaks discovery.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			lim, err := lf.limits()
			if err != nil {
				return err
			}
			ctx, cancel := withDeadline(cmd.Context(), lim)
			defer cancel()
			err = interruptible(ctx, func(c *committer) error { return discover(env, dir, lim, c) })
			if err != nil {
				fmt.Fprintf(env.Stderr, "discover: %s\n", safetext.Lines(err.Error()))
			}
			return nil
		},
	}
	lf.register(cmd, env)
	return cmd
}

func discover(env Env, dir string, lim limits.Limits, c *committer) error {
	src := sourceFlags{allowRemote: envBool(env, renderer.EnvKustomizeAllowRemote)}
	if be, err := cmp.FromEnviron(env.LookupEnv); err == nil && be.SourcePath != "" {
		src.repoRoot = repoRoot(dir, be.SourcePath) // dir is "." in the cmp-server: repoRoot makes it absolute
	}
	kind, err := src.guard(dir)
	if err != nil {
		return err
	}
	ld := renderer.NewLoader(lim)
	files, err := ld.Discover(dir)
	if err != nil {
		return err
	}
	if len(files) == 0 && kind == renderer.SourceKustomize {
		// A kustomization may take its Vault objects from a base outside dir.
		if objs, err := ld.Load(dir); err == nil {
			for _, o := range objs {
				if v1beta1.IsVaultAPIVersion(o.APIVersion()) {
					files = append(files, "kustomization")
					break
				}
			}
		}
	}
	if !c.commit() {
		return errors.New("interrupted: nothing was printed")
	}
	defer c.done()
	for _, f := range files {
		fmt.Fprintln(env.Stdout, safetext.Clean(f))
	}
	return nil
}
