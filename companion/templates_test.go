package companion

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/transform"
)

// TestMain makes the test binary a template child when it is started as
// one (TemplateRunner's command is [test binary, TemplateBuildCommand]).
// Besides building, the child stands in for what the transform package
// cannot stop, by the owner's name: "spin" burns CPU forever, "hog" holds
// 256 MiB, "crash" dies writing the data on stderr, "sleep" takes 200 ms.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == TemplateBuildCommand {
		templateChild()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var sink [][]byte

func templateChild() {
	job, err := transform.ReadJob(os.Stdin)
	if err != nil {
		os.Exit(2)
	}
	switch job.Input.Name {
	case "spin":
		for i := 0; ; i++ {
			_ = i * i
		}
	case "hog":
		for len(sink) < 256 {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			sink = append(sink, b)
		}
		time.Sleep(time.Hour)
	case "crash":
		fmt.Fprintln(os.Stderr, "panic:", job.Input.Fields["pw"])
		os.Exit(2)
	case "sleep":
		time.Sleep(200 * time.Millisecond)
	}
	_ = json.NewEncoder(os.Stdout).Encode(transform.RunJob(bgCtx(), job))
}

func testRunner(t *testing.T, builds int, b transform.Bounds, memory int64) *TemplateRunner {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return NewTemplateRunner([]string{exe, TemplateBuildCommand}, builds, b, memory)
}

func withTemplate(text string) transform.Resolved {
	return transform.Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": {Text: text}}}}
}

func alive(pid int) bool {
	// A zombie is not running; the runner reaps its children (Wait).
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

// The child builds the same bytes as the companion would in its process.
func TestTemplateRunnerAgrees(t *testing.T) {
	t.Parallel()
	tr := testRunner(t, 2, transform.DefaultBounds(), 0)
	fields := map[string]any{
		"pw": "p<&>ä\u2028", "n": json.Number("12345678901234567890"), "f": json.Number("1.50"), "b": true, "nil": nil,
		"nested": map[string]any{"l": []any{json.Number("1"), "x", map[string]any{"y": false}}},
	}
	for _, r := range []transform.Resolved{
		withTemplate(`{{ toJson .Secrets }}|{{ .Secrets.n | add 1 }}|{{ .Labels }}{{ .Annotations.a }}|{{ keys .Secrets }}|{{ printf "%v" .Secrets.f }}`),
		{Spec: v1beta1.Transformation{Excludes: []string{"^pw$"}, Templates: map[string]v1beta1.Template{"j": {Text: `{{ . }}`}}}},
	} {
		in := transform.Input{Namespace: "ns", Name: "obj", Fields: fields,
			Response: map[string]any{"data": fields, "metadata": map[string]any{"version": json.Number("3")}},
			Labels:   map[string]string{"l": "1"}, Annotations: map[string]string{"a": "2"}}
		want, err := transform.BuildContext(t.Context(), r, in, transform.DefaultBounds())
		require.NoError(t, err)
		got, err := tr.Build(t.Context(), r, in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	// Errors agree too.
	r := withTemplate(`{{ fail .Secrets.pw }}`)
	in := transform.Input{Namespace: "ns", Name: "obj", Fields: fields}
	_, want := transform.BuildContext(t.Context(), r, in, transform.DefaultBounds())
	_, got := tr.Build(t.Context(), r, in)
	require.Error(t, got)
	assert.Equal(t, want.Error(), got.Error())
	var re *transform.RenderError
	require.ErrorAs(t, got, &re, "the companion tells template errors apart")
	assert.Equal(t, "k", re.Key)
	assert.EqualValues(t, 3, tr.Started.Load())
	// Without templates nothing runs in a child.
	_, err := tr.Build(t.Context(), transform.Resolved{}, in)
	require.NoError(t, err)
	assert.EqualValues(t, 3, tr.Started.Load())
}

// A build that never ends, whatever it does, is killed at the time limit:
// its process is gone.
func TestTemplateRunnerKillsAtTimeLimit(t *testing.T) {
	t.Parallel()
	tr := testRunner(t, 1, transform.Bounds{Time: 200 * time.Millisecond, Output: 1 << 20, Work: 1 << 20}, 0)
	var pid atomic.Int64
	tr.started = func(p int) { pid.Store(int64(p)) }
	start := time.Now()
	_, err := tr.Build(t.Context(), withTemplate(`x`), transform.Input{Namespace: "ns", Name: "spin"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--max-template-time")
	var re *transform.RenderError
	require.ErrorAs(t, err, &re)
	assert.Less(t, time.Since(start), 200*time.Millisecond+killGrace+2*time.Second)
	require.NotZero(t, pid.Load())
	assert.False(t, alive(int(pid.Load())), "the child still runs")
}

func TestTemplateRunnerKillsAboveMemory(t *testing.T) {
	t.Parallel()
	tr := testRunner(t, 1, transform.Bounds{Time: time.Minute, Output: 1 << 20, Work: 1 << 20}, 48<<20)
	var pid atomic.Int64
	tr.started = func(p int) { pid.Store(int64(p)) }
	_, err := tr.Build(t.Context(), withTemplate(`x`), transform.Input{Namespace: "ns", Name: "hog"})
	require.Error(t, err)
	assert.EqualError(t, err, "render the templates of ns/hog: the template build of ns/hog took more than the limit of 48MiB of memory (raise it with the companion's --template-memory)")
	var me *MemoryError
	require.ErrorAs(t, err, &me)
	assert.False(t, alive(int(pid.Load())))
}

// A crashing child's output is never read: it may hold data.
func TestTemplateRunnerCrash(t *testing.T) {
	t.Parallel()
	tr := testRunner(t, 1, transform.DefaultBounds(), 0)
	_, err := tr.Build(t.Context(), withTemplate(`x`), transform.Input{Namespace: "ns", Name: "crash", Fields: map[string]any{"pw": "S3cr3t"}})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "S3cr3t")
	assert.Contains(t, err.Error(), "ended without a result")
}

// At most builds children at a time: the memory of template builds is
// builds × memory, whatever the number of carriers reconciled at once.
func TestTemplateRunnerBoundsConcurrency(t *testing.T) {
	t.Parallel()
	tr := testRunner(t, 2, transform.DefaultBounds(), 0)
	var live, peak atomic.Int64
	tr.started = func(int) {
		n := live.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
	}
	tr.exited = func(int) { live.Add(-1) }
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			_, err := tr.Build(t.Context(), withTemplate(`{{ "ok" }}`), transform.Input{Namespace: "ns", Name: "sleep"})
			assert.NoError(t, err, i)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 2, peak.Load())
	assert.EqualValues(t, 6, tr.Started.Load())
}

// The companion's children die with it (Linux: parent-death signal).
func TestTemplateChildAttrs(t *testing.T) {
	t.Parallel()
	cmd := testRunnerCmd()
	childAttrs(cmd)
	require.NotNil(t, cmd.SysProcAttr)
	assert.Equal(t, syscall.SIGKILL, cmd.SysProcAttr.Pdeathsig)
}

func bgCtx() context.Context { return context.Background() }

func testRunnerCmd() *exec.Cmd { return exec.Command("true") }
