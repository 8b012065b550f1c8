package plugin

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/cmp"
	"github.com/vaultcmp/vaultcmp/renderer"
)

func newDiscoverCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "discover [DIR]",
		Short: "Print the files of an app that hold secrets.hashicorp.com resources (Argo CD's discover)",
		Long: `discover prints, one per line, the files under DIR (default: the current
directory) that hold secrets.hashicorp.com resources, and nothing for other
apps. Argo CD's cmp-server selects the plugin when the output is not empty.
It always exits 0, so that an unreadable app never breaks discovery.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			src := sourceFlags{allowRemote: envBool(env, renderer.EnvKustomizeAllowRemote)}
			if be, err := cmp.FromEnviron(env.LookupEnv); err == nil && be.SourcePath != "" {
				src.repoRoot = repoRoot(dir, be.SourcePath)
			}
			if err := src.guard(dir); err != nil {
				fmt.Fprintf(env.Stderr, "discover: %v\n", err)
				return nil
			}
			files, err := cmp.Discover(dir)
			if err != nil {
				fmt.Fprintf(env.Stderr, "discover: %v\n", err)
				return nil
			}
			if len(files) == 0 && cmp.DetectSource(dir) == cmp.SourceKustomize {
				// A kustomization may take its Vault objects from a base outside dir.
				if objs, err := renderer.Load(dir); err == nil {
					for _, o := range objs {
						if v1beta1.IsVaultAPIVersion(o.APIVersion()) {
							files = append(files, "kustomization")
							break
						}
					}
				}
			}
			for _, f := range files {
				fmt.Fprintln(env.Stdout, f)
			}
			return nil
		},
	}
}
