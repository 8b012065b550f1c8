package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

const fleetApps = 100

var (
	fleetOnce sync.Once
	fleetErr  error
)

// BenchmarkArgoCDFleetHardRefresh is issue 8's fleet: 100 Applications,
// each the seed webapp's static part in its own namespace with its own
// service account, all synced; then `argocd app get --hard-refresh` for
// all of them at once. Reported: the time until every app has reconciled,
// p50/p99 of one app's hard refresh, Vault logins and reads during the
// refresh (warm token cache: 0 logins), and the sidecar's peak memory (the
// cmp-server and its vaultcmp processes).
func BenchmarkArgoCDFleetHardRefresh(b *testing.B) {
	c := getCD(b)
	fleetOnce.Do(func() { fleetErr = setupFleet(b, c) })
	require.NoError(b, fleetErr)
	audit, err := vaultSrv.EnableAudit(b.Context(), fmt.Sprintf("fleet%d", time.Now().UnixNano()))
	require.NoError(b, err)

	var total time.Duration
	var lat []time.Duration
	var logins, reads int
	var peak int64
	b.ResetTimer()
	for range b.N {
		l0, r0 := countLogins(b, audit, "auth/kubernetes/login"), countLogins(b, audit, "secret/data/webapp/config")
		stop := sampleRSS(c.CMPPID())
		start := time.Now()
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, fleetApps)
		for i := range fleetApps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				_, err := c.CLI(context.Background(), "app", "get", fleetName(i), "--hard-refresh", "-o", "json")
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		total += time.Since(start)
		if p := stop(); p > peak {
			peak = p
		}
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		logins += countLogins(b, audit, "auth/kubernetes/login") - l0
		reads += countLogins(b, audit, "secret/data/webapp/config") - r0
	}
	b.StopTimer()
	// Every app reconciled and still Synced, none with a condition.
	for i := range fleetApps {
		app, err := c.Get(b.Context(), fleetName(i))
		require.NoError(b, err)
		require.Equal(b, "Synced", app.Status.Sync.Status, fleetName(i))
		require.Empty(b, app.Status.Conditions, fleetName(i))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	b.ReportMetric(total.Seconds()/float64(b.N), "s/fleet")
	b.ReportMetric(pct(0.5).Seconds(), "p50-s/app")
	b.ReportMetric(pct(0.99).Seconds(), "p99-s/app")
	b.ReportMetric(float64(logins)/float64(b.N), "logins/fleet")
	b.ReportMetric(float64(reads)/float64(b.N), "reads/fleet")
	b.ReportMetric(float64(peak)/1024, "sidecar-peak-MiB")
	b.Logf("Argo CD %s: %d apps hard-refreshed in %s (p50 %s, p99 %s per app), %d Vault logins, %d reads per fleet refresh, sidecar peak RSS %d MiB",
		c.Part.Version, fleetApps, (total / time.Duration(b.N)).Round(time.Millisecond), pct(0.5).Round(time.Millisecond),
		pct(0.99).Round(time.Millisecond), logins/b.N, reads/b.N, peak/1024)
}

func fleetName(i int) string { return fmt.Sprintf("fleet-%03d", i) }

// setupFleet makes the 100 namespaces, service accounts, one Vault role
// bound to them, the apps in git, and the Applications (automated sync),
// and waits until all are Synced.
func setupFleet(b *testing.B, c *cdWorld) error {
	var nss []string
	files := map[string]string{}
	for i := range fleetApps {
		ns := fleetName(i)
		nss = append(nss, ns)
		for k, v := range seedStatic(b, ns, "fleet-role", "webapp/config") {
			files["apps/"+ns+"/"+k] = v
		}
	}
	for _, ns := range nss {
		c.serviceAccount(b, ns, "webapp-sa")
	}
	if err := vaultSrv.Client.Sys().PutPolicyWithContext(b.Context(), "fleet-role", `path "secret/data/webapp/*" { capabilities = ["read"] }`); err != nil {
		return err
	}
	// One role for the fleet, bound to every namespace's webapp-sa: one
	// identity (and one login) per namespace all the same.
	if _, err := vaultSrv.Client.Logical().WriteWithContext(b.Context(), "auth/kubernetes/role/fleet-role", map[string]any{
		"bound_service_account_names": []string{"webapp-sa"}, "bound_service_account_namespaces": nss,
		"audience": "vault", "token_policies": []string{"fleet-role"}, "token_ttl": "1h",
	}); err != nil {
		return err
	}
	c.commit(b, files, "the fleet")
	dyn, err := dynamic.NewForConfig(c.w.cluster.RestConfig(AdminToken))
	if err != nil {
		return err
	}
	apps := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}).Namespace(ArgoNamespace)
	for _, ns := range nss {
		app := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
			"metadata": map[string]any{"name": ns, "namespace": ArgoNamespace},
			"spec": map[string]any{
				"project": "default",
				"source": map[string]any{"repoURL": c.repo.URL, "path": "apps/" + ns, "targetRevision": "HEAD", "plugin": map[string]any{"name": "vaultcmp-v1",
					// inline: no companion here; the figures stay those of earlier rounds.
					"parameters": []any{map[string]any{"name": "delivery", "string": "inline"}}}},
				"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": ns},
				"syncPolicy":  map[string]any{"automated": map[string]any{}},
			},
		}}
		if _, err := apps.Create(b.Context(), app, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	start := time.Now()
	for _, ns := range nss {
		c.waitApp(b, ns, 10*time.Minute, "Synced", synced)
	}
	b.Logf("fleet of %d apps created and synced in %s", fleetApps, time.Since(start).Round(time.Second))
	return nil
}

// sampleRSS sums the resident memory of pid and its descendants every
// 50 ms until the returned function is called; it returns the peak in KiB.
func sampleRSS(pid int) func() int64 {
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := treeRSS(pid); v > max {
				max = v
			}
			select {
			case <-done:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(done); return <-peak }
}

// treeRSS is the VmRSS (KiB) of pid and all its descendants.
func treeRSS(pid int) int64 {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := procField(p, "PPid:"); pp > 0 {
			children[int(pp)] = append(children[int(pp)], p)
		}
	}
	var sum int64
	var walk func(int)
	walk = func(p int) {
		sum += procField(p, "VmRSS:")
		for _, ch := range children[p] {
			walk(ch)
		}
	}
	walk(pid)
	return sum
}

func procField(pid int, field string) int64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return v
		}
	}
	return 0
}
