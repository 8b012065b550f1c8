package companion

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/transform"
)

// TemplateBuildCommand is vaultcmp's hidden subcommand that runs one
// template build for the companion (a transform.Job on stdin, a
// transform.JobResult on stdout).
const TemplateBuildCommand = "template-build"

// Defaults of the template runner.
const (
	DefaultTemplateBuilds = 2
	DefaultTemplateMemory = 64 << 20
)

// maxTemplateResult bounds what the companion reads from a child: a
// Secret holds at most 1 MiB of data, written as base64 in JSON.
const maxTemplateResult = 8 << 20

// killGrace is how long after the time limit a child may take to report
// it before it is killed (its own build stops at the limit; the process
// start is a few tens of milliseconds).
const killGrace = time.Second

// TemplateRunner builds the data of carriers whose transformation has
// templates in child processes (the companion's own binary, re-executed
// with TemplateBuildCommand), at most Builds at a time, each killed at the
// time limit or above Memory. text/template cannot be interrupted; the
// transform package stops every loop at the limit (it instruments the
// templates), and the child is the bound for whatever that misses: a
// process can always be killed, and its memory, stack and crashes are its
// own, not the companion's, which serves every tenant for months. Builds
// without templates run in the companion: they execute nothing.
type TemplateRunner struct {
	command []string // the child: executable and arguments
	bounds  transform.Bounds
	memory  int64
	slots   chan struct{}
	// Started counts the children started.
	Started atomic.Int64
	// started and exited, if set, see each child's pid (tests).
	started, exited func(pid int)
}

// NewTemplateRunner runs children as command (the vaultcmp binary and
// TemplateBuildCommand), builds at a time (default 2), each within bounds
// and memory bytes of anonymous memory (default 64 MiB); bounds.Work is at
// most a quarter of memory.
func NewTemplateRunner(command []string, builds int, bounds transform.Bounds, memory int64) *TemplateRunner {
	if builds <= 0 {
		builds = DefaultTemplateBuilds
	}
	if memory <= 0 {
		memory = DefaultTemplateMemory
	}
	// What a build may keep (work) must fit in its process with the
	// runtime's overhead (the collector lets the heap reach twice what is
	// live, and the runtime takes ~10 MiB): a quarter of the memory, so the
	// work limit, which names what to change, comes before the kill.
	if bounds.Work <= 0 || bounds.Work > memory/4 {
		bounds.Work = memory / 4
	}
	return &TemplateRunner{command: command, bounds: bounds, memory: memory, slots: make(chan struct{}, builds)}
}

// Build is transform.BuildContext, in a child process when r has templates.
// A nil runner builds in the process with the default bounds.
func (t *TemplateRunner) Build(ctx context.Context, r transform.Resolved, in transform.Input) (map[string][]byte, error) {
	if t == nil {
		return transform.BuildContext(ctx, r, in, transform.DefaultBounds())
	}
	if !transform.HasTemplates(r) {
		return transform.BuildContext(ctx, r, in, t.bounds)
	}
	job, err := transform.EncodeJob(&transform.Job{Resolved: r, Input: in,
		Time: t.bounds.Time, Output: t.bounds.Output, Work: t.bounds.Work, Memory: t.memory})
	if err != nil {
		return nil, err
	}
	owner := in.Namespace + "/" + in.Name
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting to run the templates of %s: %w", owner, context.Cause(ctx))
	}
	defer func() { <-t.slots }()
	return t.run(ctx, job, owner)
}

// run starts one child, feeds it job and reads its result, killing it at
// the time limit, above the memory limit or when ctx ends.
func (t *TemplateRunner) run(ctx context.Context, job []byte, owner string) (map[string][]byte, error) {
	var cctx context.Context
	var cancel context.CancelFunc
	if t.bounds.Time > 0 {
		cctx, cancel = context.WithTimeout(ctx, t.bounds.Time+killGrace)
	} else {
		cctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	cmd := exec.CommandContext(cctx, t.command[0], t.command[1:]...)
	// Nothing of the companion's environment (its HMAC key) goes to the
	// child; one core for its work.
	cmd.Env = []string{"GOMAXPROCS=1", "GOTRACEBACK=none"}
	cmd.Stdin = bytes.NewReader(job)
	out := &cappedBuffer{max: maxTemplateResult}
	cmd.Stdout = out
	cmd.Stderr = nil // a crash's output may hold data: never read
	cmd.WaitDelay = killGrace
	childAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the template build of %s: %w", owner, err)
	}
	t.Started.Add(1)
	if t.started != nil {
		t.started(cmd.Process.Pid)
	}
	var overMemory atomic.Bool
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		watchChild(cmd.Process.Pid, t.memory, stopWatch, func() {
			overMemory.Store(true)
			_ = cmd.Process.Kill()
		})
	}()
	err := cmd.Wait()
	close(stopWatch)
	<-watchDone
	if t.exited != nil {
		t.exited(cmd.Process.Pid)
	}
	killed := func(lerr error) error {
		return &transform.RenderError{Owner: owner, Detail: lerr.Error(), Err: lerr}
	}
	switch {
	case overMemory.Load():
		return nil, killed(&MemoryError{Owner: owner, Limit: t.memory})
	case ctx.Err() != nil:
		return nil, fmt.Errorf("template build of %s: %w", owner, context.Cause(ctx))
	case cctx.Err() != nil:
		return nil, killed(limits.Exceeded(limits.TemplateTime, int64(t.bounds.Time), "the templates of "+owner))
	case out.over:
		return nil, fmt.Errorf("the template build of %s wrote more than %s", owner, limits.FormatBytes(maxTemplateResult))
	}
	var res transform.JobResult
	if derr := json.Unmarshal(out.buf.Bytes(), &res); derr != nil || (res.Data == nil && res.Error == "") {
		// A crash (its cause, on stderr, is not read: it may hold data).
		status := "no result"
		if err != nil {
			status = err.Error()
		}
		return nil, &transform.RenderError{Owner: owner,
			Detail: "the build process ended without a result (" + status + "); the cause is not shown: it may depend on the secret data"}
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return res.Data, nil
}

// cappedBuffer keeps at most max bytes and remembers that more came.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > c.max {
		c.over = true
		return 0, errors.New("template result too large")
	}
	return c.buf.Write(p)
}

// templateRunner is the runner the options describe.
func (o Options) templateRunner() (*TemplateRunner, error) {
	cmd := o.TemplateCommand
	if len(cmd) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the companion's executable for template builds: %w", err)
		}
		cmd = []string{exe, TemplateBuildCommand}
	}
	b := transform.DefaultBounds()
	if o.TemplateBounds != nil {
		b = *o.TemplateBounds
	}
	return NewTemplateRunner(cmd, o.TemplateBuilds, b, o.TemplateMemory), nil
}

// MemoryError means a template build's process went above --template-memory.
type MemoryError struct {
	Owner string
	Limit int64
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("the template build of %s took more than the limit of %s of memory (raise it with the companion's --template-memory)",
		e.Owner, limits.FormatBytes(e.Limit))
}
