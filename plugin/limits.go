package plugin

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/limits"
)

// limitFlags are the --max-* flags; each defaults to its VAULTCMP_MAX_*
// variable, else to the shipped default (see package limits).
type limitFlags struct {
	l   limits.Limits
	err error // a bad VAULTCMP_MAX_* value
}

func (f *limitFlags) register(cmd *cobra.Command, env Env) {
	f.l, f.err = limits.FromEnv(env.LookupEnv)
	for _, s := range limits.Specs {
		kind := "limit: "
		if s.Floor {
			kind = "floor: "
		}
		cmd.Flags().Var(&limitValue{spec: s, l: &f.l}, s.Flag()[2:], kind+s.Help+" ["+"$"+s.Env+"]")
	}
}

// registerFloors registers only the --min-* flags (the floors on the
// companion's schedules); the limits hold every VAULTCMP_* value.
func (f *limitFlags) registerFloors(cmd *cobra.Command, env Env) {
	f.l, f.err = limits.FromEnv(env.LookupEnv)
	for _, s := range limits.Specs {
		if s.Floor {
			cmd.Flags().Var(&limitValue{spec: s, l: &f.l}, s.Flag()[2:], "floor: "+s.Help+" ["+"$"+s.Env+"]")
		}
	}
}

// limits returns the limits in force, or a usage error.
func (f *limitFlags) limits() (limits.Limits, error) {
	if f.err != nil {
		return f.l, &exitError{code: ExitUsage, err: f.err}
	}
	return f.l, nil
}

// limitValue is one --max-* flag.
type limitValue struct {
	spec limits.Spec
	l    *limits.Limits
}

func (v *limitValue) String() string {
	if v.l == nil {
		return ""
	}
	return v.spec.Format(v.spec.Get(v.l))
}

func (v *limitValue) Set(s string) error {
	n, err := v.spec.Parse(s)
	if err != nil {
		return err
	}
	v.spec.Set(v.l, n)
	return nil
}

func (v *limitValue) Type() string {
	switch v.spec.Kind {
	case limits.Bytes:
		return "size"
	case limits.Duration:
		return "duration"
	}
	return "count"
}

// withDeadline bounds a render by lim.Deadline and lim.Memory; the
// context's cause names the limit.
func withDeadline(ctx context.Context, lim limits.Limits) (context.Context, context.CancelFunc) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	watchMemory(ctx, cancelCause, lim.Memory)
	if lim.Deadline <= 0 {
		return ctx, func() { cancelCause(nil) }
	}
	ctx, cancel := context.WithTimeoutCause(ctx, lim.Deadline,
		limits.Exceeded(limits.Deadline, int64(lim.Deadline), "the render"))
	return ctx, func() { cancel(); cancelCause(nil) }
}

// orNoLimit maps "no limit" (0) to vault.Options' -1.
func orNoLimit(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}
