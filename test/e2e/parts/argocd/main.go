// Command argocd is Argo CD v2.14's multi-call binary, built from Argo CD's
// Go module for the end-to-end tests: a copy of Argo CD's cmd/main.go
// (v2.14.21), dispatching on ARGOCD_BINARY_NAME to argocd (the CLI),
// argocd-server, argocd-application-controller, argocd-repo-server and
// argocd-cmp-server, plus one name of ours, argocd-repo-generate (package
// repogen: the repo-server's manifest generation for one request, used by
// the tests that drive the cmp-server directly).
package main

import (
	"os"
	"path/filepath"

	"github.com/argoproj/argo-cd/v2/cmd/util"

	"github.com/spf13/cobra"

	appcontroller "github.com/argoproj/argo-cd/v2/cmd/argocd-application-controller/commands"
	applicationset "github.com/argoproj/argo-cd/v2/cmd/argocd-applicationset-controller/commands"
	cmpserver "github.com/argoproj/argo-cd/v2/cmd/argocd-cmp-server/commands"
	commitserver "github.com/argoproj/argo-cd/v2/cmd/argocd-commit-server/commands"
	dex "github.com/argoproj/argo-cd/v2/cmd/argocd-dex/commands"
	gitaskpass "github.com/argoproj/argo-cd/v2/cmd/argocd-git-ask-pass/commands"
	k8sauth "github.com/argoproj/argo-cd/v2/cmd/argocd-k8s-auth/commands"
	notification "github.com/argoproj/argo-cd/v2/cmd/argocd-notification/commands"
	reposerver "github.com/argoproj/argo-cd/v2/cmd/argocd-repo-server/commands"
	apiserver "github.com/argoproj/argo-cd/v2/cmd/argocd-server/commands"
	cli "github.com/argoproj/argo-cd/v2/cmd/argocd/commands"

	"github.com/vaultcmp/vaultcmp/test/e2e/parts/argocd/repogen"
)

const (
	binaryNameEnv = "ARGOCD_BINARY_NAME"
)

func main() {
	var command *cobra.Command

	binaryName := filepath.Base(os.Args[0])
	if val := os.Getenv(binaryNameEnv); val != "" {
		binaryName = val
	}

	isCLI := false
	switch binaryName {
	case "argocd", "argocd-linux-amd64", "argocd-darwin-amd64", "argocd-windows-amd64.exe":
		command = cli.NewCommand()
		isCLI = true
	case "argocd-server":
		command = apiserver.NewCommand()
	case "argocd-application-controller":
		command = appcontroller.NewCommand()
	case "argocd-repo-server":
		command = reposerver.NewCommand()
	case "argocd-cmp-server":
		command = cmpserver.NewCommand()
		isCLI = true
	case "argocd-commit-server":
		command = commitserver.NewCommand()
	case "argocd-dex":
		command = dex.NewCommand()
	case "argocd-notifications":
		command = notification.NewCommand()
	case "argocd-git-ask-pass":
		command = gitaskpass.NewCommand()
		isCLI = true
	case "argocd-applicationset-controller":
		command = applicationset.NewCommand()
	case "argocd-repo-generate": // ours, not Argo CD's
		repogen.Main()
		return
	case "argocd-k8s-auth":
		command = k8sauth.NewCommand()
		isCLI = true
	default:
		command = cli.NewCommand()
		isCLI = true
	}
	util.SetAutoMaxProcs(isCLI)

	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
