package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	benchObjects = 1000
	benchPaths   = 100
	benchConc    = 16
)

// BenchmarkRender1000 renders an app with 1,000 VaultStaticSecrets reading
// 100 distinct KV paths with one AppRole identity, and compares it with the
// floor: the same login and 100 reads made directly with vault/api at the
// same concurrency (cmd/floor). Both run as processes.
func BenchmarkRender1000(b *testing.B) {
	ctx := b.Context()
	roleID, secretID := setupAppRole(ctx, b)
	kv := vaultSrv.Client.KVv2("secret")
	var paths []string
	for i := range benchPaths {
		p := fmt.Sprintf("bench/p%03d", i)
		_, err := kv.Put(ctx, p, map[string]any{"user": fmt.Sprintf("u%d", i), "password": fmt.Sprintf("bench-pw-%d", i), "port": 5432})
		require.NoError(b, err)
		paths = append(paths, "secret/data/"+p)
	}
	var app strings.Builder
	fmt.Fprintf(&app, appRoleApp, vaultSrv.Addr, roleID, "    secretRef: creds")
	for i := range benchObjects {
		fmt.Fprintf(&app, "---\n%s", vss(fmt.Sprintf("s%04d", i), "kv-v2", "secret", fmt.Sprintf("bench/p%03d", i%benchPaths),
			"  vaultAuthRef: vault-auth-approle"))
	}
	dir := writeApp(b, map[string]string{"app.yaml": app.String()})
	audit, err := vaultSrv.EnableAudit(ctx, fmt.Sprintf("bench%d", time.Now().UnixNano()))
	require.NoError(b, err)
	floor := filepath.Join(b.TempDir(), "floor")
	out, err := exec.Command("go", "build", "-o", floor, "./cmd/floor").CombinedOutput()
	require.NoError(b, err, "%s", out)

	var vcTime, floorTime time.Duration
	var peakRSS int64
	var reads, logins int
	var phases string
	var goSys float64
	b.ResetTimer()
	for range b.N {
		before := countAudit(b, audit)
		start := time.Now()
		cmd := exec.CommandContext(ctx, vaultcmp, "render", "--log-level", "debug", "--concurrency", fmt.Sprint(benchConc), dir)
		cmd.Env = []string{"VAULTCMP_CPUPROFILE=" + os.Getenv("VAULTCMP_CPUPROFILE"), "VAULTCMP_SECRET_CREDS_ID=" + secretID, "VAULTCMP_HMAC_KEY=k", "HOME=" + b.TempDir()}
		cmd.Stdout = nil
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(b, cmd.Run(), stderr.String())
		vcTime += time.Since(start)
		phases = stderr.String()
		if _, v, ok := strings.Cut(phases, "go_sys_bytes="); ok {
			var n float64
			_, _ = fmt.Sscan(strings.Fields(v)[0], &n) // absent or malformed: 0
			goSys = max(goSys, n)
		}
		peakRSS = max(peakRSS, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		after := countAudit(b, audit)
		reads += after.reads - before.reads
		logins += after.logins - before.logins

		start = time.Now()
		fc := exec.CommandContext(ctx, floor, append([]string{"-addr", vaultSrv.Addr, "-role-id", roleID, "-concurrency", fmt.Sprint(benchConc)}, paths...)...)
		fc.Env = []string{"FLOOR_SECRET_ID=" + secretID, "HOME=" + b.TempDir()}
		out, err := fc.CombinedOutput()
		require.NoError(b, err, "%s", out)
		floorTime += time.Since(start)
	}
	b.StopTimer()
	b.Log(phases)
	n := float64(b.N)
	b.ReportMetric(float64(vcTime.Milliseconds())/n, "vaultcmp-ms/op")
	b.ReportMetric(float64(floorTime.Milliseconds())/n, "floor-ms/op")
	b.ReportMetric(float64(vcTime)/float64(floorTime), "ratio")
	b.ReportMetric(float64(peakRSS)/1024, "peak-RSS-MB")
	b.ReportMetric(goSys/(1<<20), "go-runtime-MB")
	b.ReportMetric(float64(reads)/n, "vault-reads/op")
	b.ReportMetric(float64(logins)/n, "logins/op")
}

type auditCounts struct{ reads, logins int }

// countAudit counts the requests of vaultcmp's kind in a file audit log.
func countAudit(b *testing.B, path string) auditCounts {
	b.Helper()
	f, err := os.Open(path)
	require.NoError(b, err)
	defer f.Close()
	var c auditCounts
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path      string `json:"path"`
				Operation string `json:"operation"`
			} `json:"request"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Type != "request" {
			continue
		}
		switch {
		case strings.HasPrefix(e.Request.Path, "secret/data/bench/") && e.Request.Operation == "read":
			c.reads++
		case e.Request.Path == "auth/approle/login":
			c.logins++
		}
	}
	require.NoError(b, sc.Err())
	return c
}

// countLogins counts login requests to path in a file audit log.
func countLogins(t testing.TB, audit, path string) int {
	t.Helper()
	b, err := os.ReadFile(audit)
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		var e struct {
			Type    string `json:"type"`
			Request struct {
				Path string `json:"path"`
			} `json:"request"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Type == "request" && e.Request.Path == path {
			n++
		}
	}
	return n
}

// BenchmarkArgoGenerate is one manifest generation of the seed's webapp as
// Argo CD's repo-server does it (git checkout, discovery of the sidecar
// plugin, streaming the app to argocd-cmp-server, vaultcmp generate with a
// Kubernetes-auth login), with a cold and a warm token cache.
func BenchmarkArgoGenerate(b *testing.B) {
	w := getArgo(b)
	for _, mode := range []string{"cold", "warm"} {
		b.Run(mode, func(b *testing.B) {
			req := w.app("apps/webapp", "webapp-ns")
			if mode == "warm" {
				res := w.cmp.Generate(b.Context(), req, false)
				require.NoError(b, res.Err)
			}
			logins0, reads0 := countLogins(b, w.audit, "auth/kubernetes/login"), countLogins(b, w.audit, "secret/data/webapp/config")
			var total, gen time.Duration
			b.ResetTimer()
			for range b.N {
				if mode == "cold" {
					b.StopTimer()
					require.NoError(b, os.RemoveAll(w.cacheDir))
					b.StartTimer()
				}
				res := w.cmp.Generate(b.Context(), req, false)
				require.NoError(b, res.Err)
				total += res.Duration
				gen += res.Generate
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(total.Milliseconds())/n, "roundtrip-ms/op")
			b.ReportMetric(float64(gen.Microseconds())/1000/n, "generate-ms/op")
			b.ReportMetric(float64(countLogins(b, w.audit, "auth/kubernetes/login")-logins0)/n, "logins/op")
			b.ReportMetric(float64(countLogins(b, w.audit, "secret/data/webapp/config")-reads0)/n, "vault-reads/op")
		})
	}
}
