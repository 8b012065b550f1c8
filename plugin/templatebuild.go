package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/companion"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/transform"
)

// maxTemplateJob bounds what the template-build child reads: a Vault
// response is at most --max-vault-response (2 MiB) and appears twice (fields
// and the whole response), plus the contract's templates.
const maxTemplateJob = 32 << 20

// newTemplateBuildCommand is the companion's child for one template build
// (companion.TemplateRunner): a transform.Job on stdin, a transform.JobResult
// on stdout, nothing else read or written. It runs the build within the
// job's bounds and its own memory watchdog; the companion kills it at the
// time limit or above the memory limit, whatever it is doing. Hidden: not a
// command for people.
func newTemplateBuildCommand(env Env) *cobra.Command {
	return &cobra.Command{
		Use:    companion.TemplateBuildCommand,
		Short:  "Run one template build for the companion (internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			job, err := transform.ReadJob(io.LimitReader(cmd.InOrStdin(), maxTemplateJob))
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			ctx, cancel := context.WithCancelCause(cmd.Context())
			defer cancel(nil)
			watchBuildMemory(ctx, cancel, job)
			res := transform.RunJob(ctx, job)
			if err := json.NewEncoder(env.Stdout).Encode(res); err != nil {
				return &exitError{code: ExitProblems, err: fmt.Errorf("writing the template result: %w", err)}
			}
			return nil
		},
	}
}

// companionTemplates are the companion's bounds of template builds:
// --max-template-time, --max-template-output, --max-template-work (and their
// VAULTCMP_MAX_TEMPLATE_* variables, as for render), --template-builds and
// --template-memory.
type companionTemplates struct {
	lf     limitFlags
	builds int
	memory string
}

func (c *companionTemplates) register(cmd *cobra.Command, env Env) {
	c.lf.l, c.lf.err = limits.FromEnv(env.LookupEnv)
	for _, s := range limits.Specs {
		switch s.Name {
		case limits.TemplateTime, limits.TemplateOutput, limits.TemplateWork:
			cmd.Flags().Var(&limitValue{spec: s, l: &c.lf.l}, s.Flag()[2:], "limit: "+s.Help+" ["+"$"+s.Env+"]")
		}
	}
	cmd.Flags().IntVar(&c.builds, "template-builds", companion.DefaultTemplateBuilds,
		"template builds at once, each in its own process (with --template-memory: the memory templates may take)")
	cmd.Flags().StringVar(&c.memory, "template-memory", limits.FormatBytes(companion.DefaultTemplateMemory),
		"memory of one template build's process (killed above it)")
}

// options fills the companion's template options.
func (c *companionTemplates) options(o *companion.Options) error {
	l, err := c.lf.limits()
	if err != nil {
		return err
	}
	mem, err := limits.ParseBytes(c.memory)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("--template-memory: %w", err)}
	}
	o.TemplateBuilds, o.TemplateMemory = c.builds, mem
	b := transform.BoundsFrom(l)
	o.TemplateBounds = &b
	return nil
}

// watchBuildMemory ends the build (its context, with a
// *companion.MemoryError) when the process holds more than the job's memory
// limit, polling every 10 ms: the child's own, clean bound; the companion
// kills it at the same limit if it does not stop.
func watchBuildMemory(ctx context.Context, cancel context.CancelCauseFunc, job *transform.Job) {
	pollMemory(ctx, 10*time.Millisecond, job.Memory, func() {
		cancel(&companion.MemoryError{Owner: job.Input.Namespace + "/" + job.Input.Name, Limit: job.Memory})
	})
}
