package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The render benchmark (make bench): whole `vaultcmp` processes against
// the real Vault, side by side with the floor (cmd/floor: the same login
// and distinct KV reads made directly with vault/api) and, when
// $VAULTCMP_BENCH_AVP names an argocd-vault-plugin binary, with
// argocd-vault-plugin on the same app. Each case runs the programs in turn,
// $VAULTCMP_BENCH_RUNS times (default 7), and the table shows medians.
// With $VAULTCMP_BENCH_PROFILE set to a directory, vaultcmp writes a CPU and
// a heap profile of its last run of each case there (go tool pprof). With
// $VAULTCMP_BENCH_BIN, that vaultcmp binary is measured instead of the one
// built from this tree (to compare with an earlier build in the same way).

const (
	envBenchRuns    = "VAULTCMP_BENCH_RUNS"
	envBenchAVP     = "VAULTCMP_BENCH_AVP"
	envBenchProfile = "VAULTCMP_BENCH_PROFILE"
	envBenchBin     = "VAULTCMP_BENCH_BIN"
	envBenchEnv     = "VAULTCMP_BENCH_ENV" // more environment for vaultcmp, e.g. "GOGC=50"
	benchConc       = 16
)

// benchCase is one row of the table.
type benchCase struct {
	name    string
	objects int // VaultStaticSecrets; 0: a process-start case
	paths   int // distinct KV paths they read
	args    func(dir string) []string
}

// measure is one process run.
type measure struct {
	wall, cpu time.Duration
	rssKiB    int64
	anonKiB   int64 // peak RssAnon, sampled (sampleAnon)
	reads     int   // KV reads of secret/data/bench/ in Vault's audit log
	logins    int
}

// BenchmarkRender prints the render table. Run it with -benchtime 1x: each
// case repeats on its own ($VAULTCMP_BENCH_RUNS).
func BenchmarkRender(b *testing.B) {
	runs := 7
	if v := os.Getenv(envBenchRuns); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err, envBenchRuns)
		runs = max(n, 1)
	}
	avp := os.Getenv(envBenchAVP)
	profDir := os.Getenv(envBenchProfile)
	bin := vaultcmp
	if v := os.Getenv(envBenchBin); v != "" {
		bin = v
	}
	ctx := b.Context()
	roleID, secretID := setupAppRole(ctx, b)
	kv := vaultSrv.Client.KVv2("secret")
	for i := range 1000 {
		p := fmt.Sprintf("bench/p%04d", i)
		_, err := kv.Put(ctx, p, map[string]any{"user": fmt.Sprintf("u%d", i), "password": fmt.Sprintf("bench-pw-%d", i), "port": 5432})
		require.NoError(b, err)
	}
	audit := newAuditTail(b)
	floor := filepath.Join(b.TempDir(), "floor")
	out, err := exec.Command("go", "build", "-o", floor, "./cmd/floor").CombinedOutput()
	require.NoError(b, err, "%s", out)
	small := writeApp(b, map[string]string{"app.yaml": benchApp(vaultSrv.Addr, roleID, 3, 3)})

	render := func(dir string) []string {
		return []string{"render", "--delivery=inline", "--concurrency", fmt.Sprint(benchConc), dir}
	}
	cases := []benchCase{
		{name: "1,000 / 100", objects: 1000, paths: 100, args: render},
		{name: "10,000 / 1,000", objects: 10000, paths: 1000, args: render},
		{name: "start: version", args: func(string) []string { return []string{"version"} }},
		{name: "start: discover", args: func(string) []string { return []string{"discover", small} }},
	}
	var rows []benchRow
	for _, c := range cases {
		b.StopTimer()
		dir, avpDir := small, ""
		var paths []string
		if c.objects > 0 {
			dir = writeApp(b, map[string]string{"app.yaml": benchApp(vaultSrv.Addr, roleID, c.objects, c.paths)})
			for i := range c.paths {
				paths = append(paths, fmt.Sprintf("secret/data/bench/p%04d", i))
			}
			if avp != "" {
				avpDir = writeApp(b, map[string]string{"app.yaml": avpApp(c.objects, c.paths)})
			}
		}
		b.StartTimer()
		var vc, fl, av []measure
		for r := range runs {
			env := []string{"VAULTCMP_SECRET_CREDS_ID=" + secretID, "VAULTCMP_HMAC_KEY=k", "HOME=" + b.TempDir()}
			env = append(env, strings.Fields(os.Getenv(envBenchEnv))...)
			if profDir != "" && r == runs-1 {
				slug := strings.NewReplacer(" ", "", ",", "", "/", "-", ":", "").Replace(c.name)
				env = append(env, "VAULTCMP_CPUPROFILE="+filepath.Join(profDir, slug+".cpu.pprof"),
					"VAULTCMP_MEMPROFILE="+filepath.Join(profDir, slug+".heap.pprof"))
			}
			vc = append(vc, runMeasured(b, audit, bin, c.args(dir), env))
			fargs := []string{"-concurrency", fmt.Sprint(benchConc)}
			if c.objects > 0 {
				fargs = append(append(fargs, "-addr", vaultSrv.Addr, "-role-id", roleID), paths...)
			}
			fl = append(fl, runMeasured(b, audit, floor, fargs, []string{"FLOOR_SECRET_ID=" + secretID, "HOME=" + b.TempDir()}))
			if avpDir != "" {
				av = append(av, runMeasured(b, audit, avp, []string{"generate", avpDir}, []string{
					"AVP_TYPE=vault", "AVP_AUTH_TYPE=approle", "AVP_ROLE_ID=" + roleID, "AVP_SECRET_ID=" + secretID,
					"VAULT_ADDR=" + vaultSrv.Addr, "HOME=" + b.TempDir(),
				}))
			}
		}
		rows = append(rows, benchRow{name: c.name, vaultcmp: median(vc), floor: median(fl), avp: median(av), hasAVP: len(av) > 0})
	}
	b.StopTimer()
	printBenchTable(os.Stdout, rows, runs)
}

// gnuTime is GNU time (Debian's package time, hack/deps.sh): it reports
// the peak RSS of the program alone. The rusage that wait4 gives Go is no
// use for that: Go starts a child with vfork, and Linux counts the parent's
// (the test process's) resident memory as the child's peak.
const gnuTime = "/usr/bin/time"

// runMeasured runs one process to its end and measures it: wall time here,
// CPU (user + system) from wait4 (which includes the program GNU time ran),
// peak RSS from GNU time, reads and logins from the audit log.
func runMeasured(b *testing.B, audit *auditTail, bin string, args, env []string) measure {
	b.Helper()
	rssFile := filepath.Join(b.TempDir(), "rss")
	cmd := exec.CommandContext(b.Context(), gnuTime, append([]string{"-f", "%M", "-o", rssFile, bin}, args...)...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	require.NoError(b, cmd.Start())
	anon := sampleAnon(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	require.NoError(b, err, "%s %v: %s", filepath.Base(bin), args, stderr.String())
	rss, err := os.ReadFile(rssFile)
	require.NoError(b, err)
	kib, err := strconv.ParseInt(strings.TrimSpace(string(rss)), 10, 64)
	require.NoError(b, err, "GNU time's output: %q", rss)
	c := audit.next(b)
	return measure{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), rssKiB: kib,
		anonKiB: <-anon, reads: c.reads, logins: c.logins}
}

// sampleAnon samples the anonymous resident memory (RssAnon) of the
// program GNU time (pid) runs, every 2 ms until it exits, and sends the
// largest value. Peak RSS also counts the pages of the binary the program
// touched: clean file pages, shared by every process of that binary (a
// sidecar's concurrent generate processes); RssAnon is what the process
// holds of its own (heap, stacks, runtime). Sampled, it may miss a
// short-lived peak by up to 2 ms of allocation.
func sampleAnon(pid int) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		child := ""
		for {
			if child == "" {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
				if err != nil {
					break // GNU time has exited
				}
				child = strings.TrimSpace(string(b))
			}
			if child != "" {
				status, err := os.ReadFile("/proc/" + child + "/status")
				if err != nil {
					break // the program has exited
				}
				for line := range strings.Lines(string(status)) {
					if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
						kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
						peak = max(peak, kib)
					}
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		out <- peak
	}()
	return out
}

// median is the per-field median of ms (zero for none).
func median(ms []measure) measure {
	if len(ms) == 0 {
		return measure{}
	}
	pick := func(f func(measure) int64) int64 {
		v := make([]int64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return measure{
		wall:    time.Duration(pick(func(m measure) int64 { return int64(m.wall) })),
		cpu:     time.Duration(pick(func(m measure) int64 { return int64(m.cpu) })),
		rssKiB:  pick(func(m measure) int64 { return m.rssKiB }),
		anonKiB: pick(func(m measure) int64 { return m.anonKiB }),
		reads:   int(pick(func(m measure) int64 { return int64(m.reads) })),
		logins:  int(pick(func(m measure) int64 { return int64(m.logins) })),
	}
}

type benchRow struct {
	name                 string
	vaultcmp, floor, avp measure
	hasAVP               bool
}

// printBenchTable writes the one table of make bench (Markdown).
func printBenchTable(w io.Writer, rows []benchRow, runs int) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	mib := func(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
	ratio := func(a, b time.Duration) string {
		if b <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f×", float64(a)/float64(b))
	}
	hasAVP := slices.ContainsFunc(rows, func(r benchRow) bool { return r.hasAVP })
	fmt.Fprintf(w, "\nvaultcmp render benchmark: medians of %d whole-process runs; floor = cmd/floor (same login and distinct reads with vault/api; no reads for the start rows)\n\n", runs)
	head := "| case (Secrets / KV paths) | wall | CPU | peak RSS | peak anon | Vault reads | logins | floor wall | floor CPU | floor RSS | floor anon | wall / floor | CPU / floor |"
	sep := "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	if hasAVP {
		head += " AVP wall | AVP CPU | AVP RSS | AVP reads | AVP / vaultcmp (wall) |"
		sep += "---|---|---|---|---|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	for _, r := range rows {
		v, f := r.vaultcmp, r.floor
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |", r.name, ms(v.wall), ms(v.cpu), mib(v.rssKiB), mib(v.anonKiB),
			v.reads, v.logins, ms(f.wall), ms(f.cpu), mib(f.rssKiB), mib(f.anonKiB), ratio(v.wall, f.wall), ratio(v.cpu, f.cpu))
		if hasAVP {
			if r.hasAVP {
				a := r.avp
				fmt.Fprintf(w, " %s | %s | %s | %d | %s |", ms(a.wall), ms(a.cpu), mib(a.rssKiB), a.reads, ratio(a.wall, v.wall))
			} else {
				fmt.Fprint(w, " - | - | - | - | - |")
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// benchApp is an app of n VaultStaticSecrets reading paths distinct KV
// paths (secret/bench/pNNNN) with one AppRole identity.
func benchApp(addr, roleID string, n, paths int) string {
	var app strings.Builder
	fmt.Fprintf(&app, appRoleApp, addr, roleID, "    secretRef: creds")
	for i := range n {
		fmt.Fprintf(&app, "---\n%s", vss(fmt.Sprintf("s%05d", i), "kv-v2", "secret", fmt.Sprintf("bench/p%04d", i%paths),
			"  vaultAuthRef: vault-auth-approle"))
	}
	return app.String()
}

// avpApp is benchApp for argocd-vault-plugin: n Secrets with placeholders
// for the same keys of the same paths.
func avpApp(n, paths int) string {
	var app strings.Builder
	for i := range n {
		fmt.Fprintf(&app, `---
apiVersion: v1
kind: Secret
metadata:
  name: s%05d
  annotations:
    avp.kubernetes.io/path: secret/data/bench/p%04d
type: Opaque
stringData:
  user: <user>
  password: <password>
  port: <port>
`, i, i%paths)
	}
	return app.String()
}

// auditTail counts the benchmark's requests in Vault's audit log as it
// grows, reading each line once.
type auditTail struct {
	path   string
	offset int64
}

func newAuditTail(b *testing.B) *auditTail {
	p, err := vaultSrv.EnableAudit(b.Context(), fmt.Sprintf("bench%d", time.Now().UnixNano()))
	require.NoError(b, err)
	return &auditTail{path: p}
}

// next counts what was logged since the last call.
func (a *auditTail) next(b *testing.B) auditCounts {
	b.Helper()
	f, err := os.Open(a.path)
	require.NoError(b, err)
	defer f.Close()
	_, err = f.Seek(a.offset, io.SeekStart)
	require.NoError(b, err)
	c, n := countAuditLines(b, f)
	a.offset += n
	return c
}

// countAuditLines counts the complete lines of r and says how many bytes
// they took.
func countAuditLines(b *testing.B, r io.Reader) (auditCounts, int64) {
	var c auditCounts
	var n int64
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil { // an incomplete last line is counted next time
			require.ErrorIs(b, err, io.EOF)
			return c, n
		}
		n += int64(len(line))
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path      string `json:"path"`
				Operation string `json:"operation"`
			} `json:"request"`
		}
		if json.Unmarshal(line, &e) != nil || e.Type != "request" {
			continue
		}
		switch {
		case strings.HasPrefix(e.Request.Path, "secret/data/bench/") && e.Request.Operation == "read":
			c.reads++
		case e.Request.Path == "auth/approle/login":
			c.logins++
		}
	}
}
