package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// auditCounts are the benchmark's requests in Vault's audit log.
type auditCounts struct{ reads, logins int }

// countLogins counts login requests to path in a file audit log.
func countLogins(t testing.TB, audit, path string) int {
	t.Helper()
	return countAudit(t, audit, func(p string) bool { return p == path })
}

// countAudit counts the requests in the audit log audit whose path matches.
func countAudit(t testing.TB, audit string, match func(path string) bool) int {
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
		if json.Unmarshal([]byte(line), &e) == nil && e.Type == "request" && match(e.Request.Path) {
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
