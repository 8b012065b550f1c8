// Package e2e runs vaultcmp against real parts started on 127.0.0.1 by the
// tests themselves, never stand-ins: a part that cannot be built or started
// fails the run; nothing is skipped. It is its own Go module, so the parts'
// heavy dependencies stay out of the product's go.mod.
//
// # Parts
//
// Each real part is built from its own module under parts/ (cmd/parts builds
// them all; `make parts`) and cached under $(go env GOCACHE)/../vaultcmp-e2e-bin
// (or $VAULTCMP_E2E_BIN), rebuilt only when its version changes (parts.go).
// The files that start and drive them:
//
//   - vaultserver.go: a Vault dev server (parts/vault); vaultengines.go: its
//     database engine (on postgres.go's throwaway PostgreSQL, Debian's
//     postgresql) and PKI engine.
//   - cluster.go: etcd + kube-apiserver (parts/etcd, parts/kube-apiserver),
//     kube-controller-manager on demand; certs.go: their certificates.
//   - argo.go: Argo CD's cmp-server alone (CMPServer) reading plugin.yaml, and
//     a git repository (GitRepo) for Argo CD's repo-server code (parts/argocd34's
//     repogen); "argo" in a name means this cmp-server.
//   - argocd.go: a whole Argo CD control plane (ArgoCD: Redis, repo-server,
//     cmp-server, application controller, API server, the argocd CLI), from
//     parts/argocd3 (3.6) or parts/argocd34 (3.4); "argocd"/"cd" in a name means
//     this control plane. shipped.go: its install.yaml built from
//     sidecar/kustomize; redis.go: Redis's keys, read back.
//   - companion.go: the real `vaultcmp companion` process.
//   - awssts.go: a stand-in STS that checks SigV4 and the apiserver's tokens
//     (Vault's aws auth); proxy.go: a TCP proxy whose Down() is an outage;
//     hostile.go: vaultcmp run under bounds, and a capture server standing
//     for the attacker's host; seed.go: the seed document's data.
//
// # Worlds
//
// TestMain (main_test.go) builds the vaultcmp binary and starts one Vault
// seeded with the webapp's data; tests that need no cluster use it alone.
// Larger worlds start once per test binary, on first use, and stop at its end:
//
//   - getArgo (argoenv_test.go): argoWorld, a cluster with Vault's kubernetes
//     auth against it and the cmp-server running vaultcmp with the sidecar's
//     RBAC.
//   - getCD (argocdworld_test.go): cdWorld, the whole Argo CD control plane
//     on argoWorld's cluster; VAULTCMP_E2E_ARGOCD picks 3.6 (default) or 3.4.
//   - getCompanion (companion_test.go): companionWorld, argoWorld plus
//     PostgreSQL, the database and PKI engines and the real companion (the
//     installation's HMAC key is companionHMACKey; carriers written by hand
//     are sealed with it).
//   - newLifeWorld (lifecycle_test.go): lifeWorld, a vault.Lifecycle against
//     the real Vault's database and PKI engines, per test.
//
// # Suites
//
//   - static_test.go, transform_test.go, errors_test.go, auth_test.go: the
//     vaultcmp binary against Vault (render and its errors).
//   - argo_test.go, apply_test.go (server-side apply of what is printed),
//     hostile_creds_test.go: generate through the cmp-server.
//   - argocd_test.go, argocd_seed_test.go, argocd_companion_test.go,
//     argocd_tracking_test.go: through the whole Argo CD control plane.
//   - companion_test.go, auth_cloud_test.go (aws auth): the companion in the
//     cluster (appcrd_test.go installs the Application CRD and the shipped
//     companion RBAC for it).
//   - lifecycle_test.go: package vault's Lifecycle against the real engines.
//   - hostile_test.go, hostile_creds_test.go: hostile manifests and
//     environments for render and generate.
//   - hostile_carrier_*_test.go: hostile carriers (issue 15) against the real
//     companion: seal (unsealed, copied, forged state, contract changes),
//     serve (/metrics auth, memory, takeovers), template (templates, their
//     memory), sched (schedule floors, revocation), queue (identity limit,
//     backoff, fairness, token trouble).
//   - bench_render_test.go (BenchmarkRender), argocd_bench_test.go,
//     bench_test.go, companion_bench_test.go, and lifecycle_test.go's
//     BenchmarkLifecycleRenewLease: benchmarks.
//
// # Make targets
//
//   - make test-e2e: every test here against Argo CD 3.6, then the
//     ARGO34_SMOKE subset with VAULTCMP_E2E_ARGOCD=3.4 (the oldest line
//     Argo CD supports).
//   - make bench: BenchmarkRender (with cmd/floor's floor and, when given,
//     argocd-vault-plugin), then BenchmarkArgoCDFleetHardRefresh.
//   - make bench-more: BenchmarkArgoGenerate, BenchmarkCompanion*,
//     BenchmarkLifecycle*.
//   - make demo: cmd/demo (render, then the companion in a real cluster).
//   - make parts: cmd/parts.
//
// One test: cd test/e2e && go test -count=1 -run '^TestX$' -timeout 20m .
package e2e
