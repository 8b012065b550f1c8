package e2e

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var leaseBench struct {
	once    sync.Once
	metrics map[string]float64
}

// BenchmarkCompanionLeases: one companion owning N real Vault leases
// (database credentials in PostgreSQL; N = $VAULTCMP_BENCH_LEASES, default
// 1,000) with a 2 min TTL renewed at 50%: peak RSS, CPU per renewal,
// renewal lateness p50/p99 (actual minus scheduled) and Vault requests per
// renewal over an 80 s window. It runs once per process, whatever b.N.
func BenchmarkCompanionLeases(b *testing.B) {
	cw := getCompanion(b)
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("VAULTCMP_BENCH_LEASES")); err == nil && v > 0 {
		n = v
	}
	leaseBench.once.Do(func() { leaseBench.metrics = runLeaseBench(b, cw, n) })
	for k, v := range leaseBench.metrics {
		b.ReportMetric(v, k)
	}
}

func runLeaseBench(b *testing.B, cw *companionWorld, n int) map[string]float64 {
	ctx := b.Context()
	require.NoError(b, cw.db.Role(ctx, "bench", 2*time.Minute, 24*time.Hour))
	files := map[string]string{}
	var app strings.Builder
	for i := range n {
		fmt.Fprintf(&app, "---\n%s", vds(fmt.Sprintf("bench-%05d", i), "creds/bench", fmt.Sprintf("bench-db-%05d", i), "  renewalPercent: 50\n"))
	}
	files["vds.yaml"] = app.String()
	audit, err := vaultSrv.EnableAudit(ctx, fmt.Sprintf("lease%d", time.Now().UnixNano()))
	require.NoError(b, err)
	start := time.Now()
	cw.deploy(b, files) // applied for real, as Argo CD's sync would
	filled := func() int {
		l, err := cw.cluster.Admin.CoreV1().Secrets("webapp-ns").List(ctx, metav1.ListOptions{LabelSelector: "vaultcmp.io/delivery=in-cluster"})
		require.NoError(b, err)
		c := 0
		for _, s := range l.Items {
			if strings.HasPrefix(s.Name, "bench-db-") && len(s.Data["password"]) > 0 {
				c++
			}
		}
		return c
	}
	for filled() < n {
		require.Less(b, time.Since(start), 10*time.Minute, "filling %d leases", n)
		time.Sleep(time.Second)
	}
	fill := time.Since(start)
	pid := cw.companion.cmd.Process.Pid
	m0, _ := cw.companion.Metrics()
	cpu0, req0 := cpuSeconds(b, pid), len(readLines(b, audit))
	time.Sleep(80 * time.Second)
	m1, _ := cw.companion.Metrics()
	cpu1, req1 := cpuSeconds(b, pid), len(readLines(b, audit))
	renewals := metricSum(m1, "vaultcmp_lease_renewal_total") - metricSum(m0, "vaultcmp_lease_renewal_total")
	require.Greater(b, renewals, 0.0, "no renewal in the window; metrics:\n%s\nlog:\n%s", grepLines(m1, "vaultcmp_"), tail([]byte(cw.companion.Log()), 3000))
	buckets := histogramDelta(m0, m1, "vaultcmp_renewal_lateness_seconds_bucket")
	out := map[string]float64{
		"leases":                 float64(n),
		"fill-s":                 fill.Seconds(),
		"renewals":               renewals,
		"peak-rss-MiB":           peakRSSMiB(b, pid),
		"cpu-ms/renewal":         (cpu1 - cpu0) * 1000 / renewals,
		"lateness-p50-s":         quantile(buckets, 0.5),
		"lateness-p99-s":         quantile(buckets, 0.99),
		"vault-requests/renewal": float64(req1-req0) / 2 / renewals, // the audit log has a request and a response line
	}
	b.Logf("companion with %d leases: %+v", n, out)
	// Revoke them all (prune), bounded.
	for i := range n {
		_ = cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(ctx, fmt.Sprintf("vaultcmp-vds.bench-%05d", i), metav1.DeleteOptions{})
	}
	return out
}

func readLines(b *testing.B, p string) []string {
	data, err := os.ReadFile(p)
	require.NoError(b, err)
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func cpuSeconds(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(b, err)
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // clock ticks
}

func peakRSSMiB(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(sc.Text())[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// metricSum adds every sample of a metric family in a scrape.
func metricSum(scrape, name string) float64 {
	sum := 0.0
	for _, l := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(l, name+"{") || strings.HasPrefix(l, name+" ") {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

type bucket struct{ le, count float64 }

// histogramDelta is the cumulative buckets of m1 minus m0.
func histogramDelta(m0, m1, name string) []bucket {
	parse := func(s string) map[float64]float64 {
		out := map[float64]float64{}
		for _, l := range strings.Split(s, "\n") {
			if !strings.HasPrefix(l, name+"{") {
				continue
			}
			i := strings.Index(l, `le="`)
			j := strings.Index(l[i+4:], `"`)
			le, _ := strconv.ParseFloat(l[i+4:i+4+j], 64)
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			out[le] = v
		}
		return out
	}
	a, c := parse(m0), parse(m1)
	var out []bucket
	for le, v := range c {
		out = append(out, bucket{le, v - a[le]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].le < out[j].le })
	return out
}

// quantile interpolates within cumulative buckets, as Prometheus does.
func quantile(bs []bucket, q float64) float64 {
	if len(bs) == 0 || bs[len(bs)-1].count == 0 {
		return 0
	}
	total := bs[len(bs)-1].count
	rank := q * total
	prevLE, prevCount := 0.0, 0.0
	for _, bk := range bs {
		if bk.count >= rank {
			if bk.le > 1e300 { // +Inf
				return prevLE
			}
			if bk.count == prevCount {
				return bk.le
			}
			return prevLE + (bk.le-prevLE)*(rank-prevCount)/(bk.count-prevCount)
		}
		prevLE, prevCount = bk.le, bk.count
	}
	return prevLE
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
