package plugin

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitProblems = 1
	ExitUsage    = 2
)

// Env is the process environment, injectable for tests.
type Env struct {
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
	Getwd          func() (string, error)
}

func (e Env) get(k string) string {
	v, _ := e.LookupEnv(k)
	return v
}

// Main runs vaultcmp with the process's arguments and exits.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], Env{Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv, Getwd: os.Getwd})
	stop()
	os.Exit(code)
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Run runs one command line and returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	cmd := NewCommand(env)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			_, _ = io.WriteString(env.Stderr, "error: "+safetext.Lines(ee.err.Error())+"\n")
		}
		return ee.code
	}
	_, _ = io.WriteString(env.Stderr, "error: "+safetext.Lines(err.Error())+"\n")
	return ExitUsage
}

// NewCommand builds the vaultcmp command tree.
func NewCommand(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:           "vaultcmp",
		Short:         "Render Vault Secrets Operator resources into Kubernetes Secrets (Argo CD plugin and CLI)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.AddCommand(newRenderCommand(env), newGenerateCommand(env), newDiscoverCommand(env), newValidateCommand(env), newCompanionCommand(env), newVersionCommand(env), newTemplateBuildCommand(env))
	return root
}
