package limits

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Limits are the bounds of one run. The zero value of a field means "no
// limit"; Default gives the shipped defaults.
type Limits struct {
	// FileSize bounds one file read from the repository (bytes).
	FileSize int64
	// InputSize bounds the bytes read from the repository in total.
	InputSize int64
	// YAMLAliasNodes bounds the nodes that YAML aliases add when expanded,
	// over the whole input (an alias bomb expands 597 bytes into billions).
	YAMLAliasNodes int64
	// YAMLDepth bounds the nesting of YAML and JSON documents.
	YAMLDepth int
	// TemplateTime bounds the execution of one object's templates.
	TemplateTime time.Duration
	// TemplateOutput bounds what one object's templates produce: each
	// template's output and each value a template function returns (bytes).
	TemplateOutput int64
	// TemplateWork bounds the values template functions build for one object
	// in total (bytes; list elements count 16 bytes each).
	TemplateWork int64
	// VaultResponse bounds one HTTP response body from Vault (bytes).
	VaultResponse int64
	// OutputSize bounds the YAML printed on stdout (bytes).
	OutputSize int64
	// Deadline bounds one render, from start to the last byte printed.
	Deadline time.Duration
	// Memory bounds the memory the Go runtime holds for the process
	// (bytes), checked every 20 ms: the last bound, for what the others miss.
	Memory int64

	// The floors on the schedules the companion keeps (floors.go): the
	// shortest refreshAfter, the shortest time between two renewals of a
	// lease, and between two issues of a credential or certificate for one
	// object. generate and render refuse an object below them; the
	// companion refuses such a contract and never acts sooner.
	MinRefreshAfter    time.Duration
	MinRenewalInterval time.Duration
	MinReissueInterval time.Duration
}

// Name identifies one limit.
type Name string

// The limits.
const (
	FileSize       Name = "file-size"
	InputSize      Name = "input-size"
	YAMLAliasNodes Name = "yaml-alias-nodes"
	YAMLDepth      Name = "yaml-depth"
	TemplateTime   Name = "template-time"
	TemplateOutput Name = "template-output"
	TemplateWork   Name = "template-work"
	VaultResponse  Name = "vault-response"
	OutputSize     Name = "output-size"
	Deadline       Name = "deadline"
	Memory         Name = "memory"

	// Floors (Spec.Floor): flags --min-<name>, variables VAULTCMP_MIN_*.
	MinRefreshAfter    Name = "refresh-after"
	MinRenewalInterval Name = "renewal-interval"
	MinReissueInterval Name = "reissue-interval"
)

// Kind is how a limit's value is written.
type Kind int

// The kinds of limit values.
const (
	Bytes    Kind = iota // 8MiB, 512KiB, 1048576
	Count                // 100000
	Duration             // 45s, 2m
)

// Spec describes one limit: its flag is --max-<Name> (a floor's
// --min-<Name>), its environment variable Env.
type Spec struct {
	Name    Name
	Env     string
	Kind    Kind
	Default int64 // bytes, count, or nanoseconds
	Help    string
	field   func(*Limits) *int64
	intF    func(*Limits) *int
	durF    func(*Limits) *time.Duration

	// Floor marks a lower bound (a schedule may not be shorter) rather than
	// an upper one.
	Floor bool
}

// Flag is the command-line flag that sets the limit.
func (s Spec) Flag() string {
	if s.Floor {
		return "--min-" + string(s.Name)
	}
	return "--max-" + string(s.Name)
}

// Format writes v as the limit's kind is written.
func (s Spec) Format(v int64) string {
	switch s.Kind {
	case Bytes:
		return FormatBytes(v)
	case Duration:
		return time.Duration(v).String()
	}
	return strconv.FormatInt(v, 10)
}

// Parse reads a value as the limit's kind is written.
func (s Spec) Parse(v string) (int64, error) {
	switch s.Kind {
	case Bytes:
		return ParseBytes(v)
	case Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, err
		}
		if d < 0 {
			return 0, errors.New("negative duration")
		}
		return int64(d), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a count", v)
	}
	return n, nil
}

// Get and Set read and write the limit in l.
func (s Spec) Get(l *Limits) int64 {
	switch {
	case s.field != nil:
		return *s.field(l)
	case s.intF != nil:
		return int64(*s.intF(l))
	}
	return int64(*s.durF(l))
}

func (s Spec) Set(l *Limits, v int64) {
	switch {
	case s.field != nil:
		*s.field(l) = v
	case s.intF != nil:
		*s.intF(l) = int(v)
	default:
		*s.durF(l) = time.Duration(v)
	}
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// Specs lists every limit, in the order the documentation shows them.
var Specs = []Spec{
	{Name: FileSize, Env: "VAULTCMP_MAX_FILE_SIZE", Kind: Bytes, Default: 8 * mib,
		Help: "one file read from the repository", field: func(l *Limits) *int64 { return &l.FileSize }},
	{Name: InputSize, Env: "VAULTCMP_MAX_INPUT_SIZE", Kind: Bytes, Default: 32 * mib,
		Help: "all files read from the repository, in total", field: func(l *Limits) *int64 { return &l.InputSize }},
	{Name: YAMLAliasNodes, Env: "VAULTCMP_MAX_YAML_ALIAS_NODES", Kind: Count, Default: 100_000,
		Help: "YAML nodes added by expanding aliases, over the whole input", field: func(l *Limits) *int64 { return &l.YAMLAliasNodes }},
	{Name: YAMLDepth, Env: "VAULTCMP_MAX_YAML_DEPTH", Kind: Count, Default: 100,
		Help: "nesting depth of a YAML or JSON document", intF: func(l *Limits) *int { return &l.YAMLDepth }},
	{Name: TemplateTime, Env: "VAULTCMP_MAX_TEMPLATE_TIME", Kind: Duration, Default: int64(10 * time.Second),
		Help: "execution time of one object's templates", durF: func(l *Limits) *time.Duration { return &l.TemplateTime }},
	{Name: TemplateOutput, Env: "VAULTCMP_MAX_TEMPLATE_OUTPUT", Kind: Bytes, Default: 1 * mib,
		Help: "one template's output, and one value a template function returns", field: func(l *Limits) *int64 { return &l.TemplateOutput }},
	{Name: TemplateWork, Env: "VAULTCMP_MAX_TEMPLATE_WORK", Kind: Bytes, Default: 64 * mib,
		Help: "values built by template functions for one object, in total", field: func(l *Limits) *int64 { return &l.TemplateWork }},
	{Name: VaultResponse, Env: "VAULTCMP_MAX_VAULT_RESPONSE", Kind: Bytes, Default: 2 * mib,
		Help: "one HTTP response body from Vault", field: func(l *Limits) *int64 { return &l.VaultResponse }},
	{Name: OutputSize, Env: "VAULTCMP_MAX_OUTPUT_SIZE", Kind: Bytes, Default: 64 * mib,
		Help: "the YAML printed on stdout", field: func(l *Limits) *int64 { return &l.OutputSize }},
	{Name: Deadline, Env: "VAULTCMP_MAX_DEADLINE", Kind: Duration, Default: int64(45 * time.Second),
		Help: "one render, below Argo CD's 60s exec timeout", durF: func(l *Limits) *time.Duration { return &l.Deadline }},
	{Name: Memory, Env: "VAULTCMP_MAX_MEMORY", Kind: Bytes, Default: 384 * mib,
		Help: "the memory of the process (for a sidecar with a 512MiB memory limit)", field: func(l *Limits) *int64 { return &l.Memory }},
	{Name: MinRefreshAfter, Env: "VAULTCMP_MIN_REFRESH_AFTER", Kind: Duration, Default: int64(DefaultMinRefreshAfter), Floor: true,
		Help: "refreshAfter of a VaultStaticSecret or VaultDynamicSecret (Vault reads of one object)", durF: func(l *Limits) *time.Duration { return &l.MinRefreshAfter }},
	{Name: MinRenewalInterval, Env: "VAULTCMP_MIN_RENEWAL_INTERVAL", Kind: Duration, Default: int64(DefaultMinRenewalInterval), Floor: true,
		Help: "time between two renewals of one lease", durF: func(l *Limits) *time.Duration { return &l.MinRenewalInterval }},
	{Name: MinReissueInterval, Env: "VAULTCMP_MIN_REISSUE_INTERVAL", Kind: Duration, Default: int64(DefaultMinReissueInterval), Floor: true,
		Help: "time between two issues of a credential or certificate for one object (and the lifetime a certificate must have left after expiryOffset)", durF: func(l *Limits) *time.Duration { return &l.MinReissueInterval }},
}

// Lookup returns the spec of name.
func Lookup(name Name) Spec {
	for _, s := range Specs {
		if s.Name == name {
			return s
		}
	}
	panic("limits: unknown limit " + string(name))
}

// Default returns the shipped defaults.
func Default() Limits {
	var l Limits
	for _, s := range Specs {
		s.Set(&l, s.Default)
	}
	return l
}

// FromEnv returns the defaults overridden by the VAULTCMP_MAX_* variables
// that lookup finds.
func FromEnv(lookup func(string) (string, bool)) (Limits, error) {
	l := Default()
	for _, s := range Specs {
		v, ok := lookup(s.Env)
		if !ok || v == "" {
			continue
		}
		n, err := s.Parse(v)
		if err != nil {
			return l, fmt.Errorf("%s=%q: %w", s.Env, v, err)
		}
		s.Set(&l, n)
	}
	return l, nil
}

// FromOS is FromEnv of the process environment; on a bad value it returns
// the defaults (the command line reports the error).
func FromOS() Limits {
	l, err := FromEnv(os.LookupEnv)
	if err != nil {
		return Default()
	}
	return l
}

// Error is a refusal: what exceeded which limit, and how to raise it.
type Error struct {
	Limit Name
	Value int64  // the limit in force
	What  string // what exceeded it, e.g. "file a.yaml"; never a secret value
}

func (e *Error) Error() string {
	s := Lookup(e.Limit)
	if s.Floor {
		return fmt.Sprintf("%s is below the floor of %s for %s (lower it with %s or %s)",
			e.What, s.Format(e.Value), s.Help, s.Flag(), s.Env)
	}
	verb := "is larger than"
	switch s.Kind {
	case Duration:
		verb = "took longer than"
	case Count:
		verb = "exceeds"
	}
	return fmt.Sprintf("%s %s the limit of %s for %s (raise it with %s or %s)",
		e.What, verb, s.Format(e.Value), s.Help, s.Flag(), s.Env)
}

// Exceeded returns the *Error for limit name at value v.
func Exceeded(name Name, v int64, what string) *Error {
	return &Error{Limit: name, Value: v, What: what}
}

// FormatBytes writes n as the largest exact binary unit: 8MiB, 512KiB, 1000.
func FormatBytes(n int64) string {
	switch {
	case n >= mib && n%mib == 0:
		return strconv.FormatInt(n/mib, 10) + "MiB"
	case n >= kib && n%kib == 0:
		return strconv.FormatInt(n/kib, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// ParseBytes reads "1048576", "1024KiB", "8MiB", "1GiB" (also Ki, Mi, Gi, and
// K, M, G as powers of 1000).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", mib}, {"KiB", kib}, {"Gi", 1 << 30}, {"Mi", mib}, {"Ki", kib}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}, {"k", 1e3}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 8MiB, 512KiB, 1048576)", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
