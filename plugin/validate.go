package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/renderer"
)

// Report is validate's result (`-o json`).
type Report struct {
	Valid    bool            `json:"valid"`
	Objects  int             `json:"objects"`
	Secrets  int             `json:"secrets"`
	Problems []ReportProblem `json:"problems"`
	Warnings []string        `json:"warnings"`
}

// ReportProblem is one problem of a Report.
type ReportProblem struct {
	Object    string `json:"object"`
	Field     string `json:"field,omitempty"`
	Message   string `json:"message"`
	Hint      string `json:"hint,omitempty"`
	VaultPath string `json:"vaultPath,omitempty"`
}

func newValidateCommand(env Env) *cobra.Command {
	var src sourceFlags
	var lf limitFlags
	var pf platformFlags
	var output string
	var strict bool
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check an app's Vault resources without Vault: schema, references, templates, destinations, rollout targets",
		Long: `validate checks DIR (default: the current directory) as generate would,
without Vault or a cluster: every secrets.hashicorp.com object against the
schema, its references (VaultAuth, VaultConnection, SecretTransformation,
allowedNamespaces), its templates and patterns, two objects writing one
Secret, VSO's kinds vaultcmp refuses (HCPAuth, HCPVaultSecretsApp,
CSISecrets), and fields accepted without VSO's effect (a warning; an error
with --strict; docs/migrate.md). Exit code 1 when invalid.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if output != "text" && output != "json" {
				return &exitError{code: ExitUsage, err: fmt.Errorf("-o must be text or json, not %q", output)}
			}
			lim, err := lf.limits()
			if err != nil {
				return err
			}
			src.limits = lim
			ctx, cancel := withDeadline(cmd.Context(), lim)
			defer cancel()
			platform, err := pf.load(lim)
			if err != nil {
				return err
			}
			return interruptible(ctx, func(c *committer) error { return validate(ctx, env, src, platform, dir, output, strict, c) })
		},
	}
	src.register(cmd, env)
	lf.register(cmd, env)
	pf.register(cmd, env)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings (e.g. fields without effect) as errors")
	return cmd
}

func validate(ctx context.Context, env Env, src sourceFlags, platform *identity.Platform, dir, output string, strict bool, c *committer) error {
	rep := Report{Problems: []ReportProblem{}, Warnings: []string{}}
	objs, err := src.load(ctx, dir, src.namespace)
	if err != nil {
		rep.Problems = append(rep.Problems, ReportProblem{Object: dir, Message: err.Error()})
	} else {
		rep.Objects = len(objs)
		res, err := renderer.Render(ctx, objs, renderer.Options{
			Namespace: src.namespace, Offline: true, HMACKey: []byte("validate"), Limits: src.limits,
			Credentials: credentials.Env{LookupEnv: env.LookupEnv}, Platform: platform,
		})
		var probs renderer.Problems
		switch {
		case errors.As(err, &probs):
			for _, p := range probs {
				rep.Problems = append(rep.Problems, ReportProblem{Object: p.Object, Field: p.Field, Message: p.Err.Error(), Hint: p.Hint, VaultPath: p.VaultPath})
			}
		case err != nil:
			rep.Problems = append(rep.Problems, ReportProblem{Object: dir, Message: err.Error()})
		default:
			rep.Warnings = append(rep.Warnings, res.Warnings...)
			rep.Secrets = res.Stats.StaticSecrets + res.Stats.InCluster
		}
	}
	rep.Valid = len(rep.Problems) == 0 && (!strict || len(rep.Warnings) == 0)
	if !c.commit() {
		return &exitError{code: ExitProblems, err: interruptedError(ctx)}
	}
	defer c.done()
	if output == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeReport(env, rep)
	}
	if !rep.Valid {
		return &exitError{code: ExitProblems}
	}
	return nil
}

func writeReport(env Env, rep Report) {
	for _, p := range rep.Problems {
		loc := p.Object
		if p.Field != "" {
			loc += ": " + p.Field
		}
		fmt.Fprintf(env.Stdout, "error: %s: %s\n", safetext.Lines(loc), safetext.Lines(p.Message))
		if p.Hint != "" {
			fmt.Fprintf(env.Stdout, "  hint: %s\n", safetext.Lines(p.Hint))
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(env.Stdout, "warning: %s\n", safetext.Lines(w))
	}
	if rep.Valid {
		fmt.Fprintf(env.Stdout, "valid: %d objects, %d Secrets from Vault\n", rep.Objects, rep.Secrets)
	}
}
