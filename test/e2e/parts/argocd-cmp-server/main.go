// Command argocd-cmp-server is Argo CD's config-management-plugin server,
// built from Argo CD's Go module so that the end-to-end tests can drive
// vaultcmp's plugin.yaml exactly as the repo-server's sidecar does.
package main

import (
	"os"

	"github.com/argoproj/argo-cd/v2/cmd/argocd-cmp-server/commands"
)

func main() {
	if err := commands.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
