package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// cdWorld is a whole Argo CD control plane on the argoWorld's cluster and
// Vault, shared by the tests of one test binary run and torn down at its
// end. VAULTCMP_E2E_ARGOCD picks the release: 3.6 (default) or 3.4.
type cdWorld struct {
	*ArgoCD
	w         *argoWorld
	repo      *GitRepo // the Applications' git repository (file://)
	repoMu    sync.Mutex
	tokenDir  string
	vaultDown string // an allow-listed address where no Vault listens
}

var (
	cdOnce sync.Once
	cd     *cdWorld
	cdErr  error
)

// argoCDPart is the release under test.
func argoCDPart() (ArgoPart, error) {
	switch v := os.Getenv("VAULTCMP_E2E_ARGOCD"); v {
	case "", "3.6", Argo36Version:
		return Argo36, nil
	case "3.4", Argo34Version:
		return Argo34, nil
	default:
		return ArgoPart{}, fmt.Errorf("VAULTCMP_E2E_ARGOCD=%q: want 3.6 or 3.4", v)
	}
}

// getCD starts the control plane once; a part that cannot start fails the
// test.
func getCD(t testing.TB) *cdWorld {
	t.Helper()
	w := getArgo(t)
	cdOnce.Do(func() { cd, cdErr = startCD(context.Background(), w) })
	if cdErr != nil {
		t.Fatalf("the Argo CD control plane could not start: %v", cdErr)
	}
	return cd
}

func stopCD() {
	if cd != nil {
		cd.Stop()
	}
}

func startCD(ctx context.Context, w *argoWorld) (*cdWorld, error) {
	part, err := argoCDPart()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	tok, err := w.token(ctx, "argocd", "argocd-repo-server", nil)
	if err != nil {
		return nil, err
	}
	c := &cdWorld{w: w, vaultDown: "http://127.0.0.1:9"}
	c.tokenDir = filepath.Join(vaultSrv.Dir(), "cd-token-cache")
	c.ArgoCD, err = StartArgoCD(ctx, ArgoCDOptions{
		Part: part, Cluster: w.cluster, Vaultcmp: vaultcmp, SidecarToken: tok,
		SidecarEnv: []string{
			"VAULTCMP_HMAC_KEY=e2e-installation-key",
			"VAULTCMP_TOKEN_CACHE_DIR=" + c.tokenDir,
			"VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr + "," + c.vaultDown,
		},
		ReconcileEvery: 10 * time.Second,
		// Argo CD's Source Hydrator (argocd_hydrator_test.go): one more
		// process, started once for all tests.
		Hydrator: part.Version == Argo36Version,
	})
	if err != nil {
		return nil, err
	}
	if c.repo, err = NewGitRepo(filepath.Join(vaultSrv.Dir(), "cd-repo"), map[string]string{"README.md": "apps for Argo CD\n"}); err != nil {
		c.Stop()
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "Argo CD %s control plane up in %s (commit-server: %s)\n", part.Version, time.Since(start).Round(100*time.Millisecond),
		c.Hydrator.Round(time.Millisecond))
	return c, nil
}

// commit adds files to the Applications' repository.
func (c *cdWorld) commit(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	c.repoMu.Lock()
	defer c.repoMu.Unlock()
	rev, err := c.repo.Commit(files, msg)
	require.NoError(t, err)
	return rev
}

// tenant makes namespace ns with service account sa, and a Vault role of
// the kubernetes auth bound to them that may read paths (KV v2 data paths).
func (c *cdWorld) tenant(t testing.TB, ns, sa, role string, paths ...string) {
	t.Helper()
	c.serviceAccount(t, ns, sa)
	var policy strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&policy, "path %q { capabilities = [\"read\"] }\n", p)
	}
	v := vaultSrv.Client
	require.NoError(t, v.Sys().PutPolicyWithContext(t.Context(), role, policy.String()))
	_, err := v.Logical().WriteWithContext(t.Context(), "auth/kubernetes/role/"+role, map[string]any{
		"bound_service_account_names": []string{sa}, "bound_service_account_namespaces": []string{ns},
		"audience": "vault", "token_policies": []string{role}, "token_ttl": "10m",
	})
	require.NoError(t, err)
}

// serviceAccount makes namespace ns and service account sa in it.
func (c *cdWorld) serviceAccount(t testing.TB, ns, sa string) {
	t.Helper()
	ctx := t.Context()
	k := c.w.cluster.Admin
	if _, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	if _, err := k.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
}

// example reads examples/<name>, the seed's Vault address replaced by the
// test Vault's (nothing else changes).
func example(t testing.TB, name string, skip ...string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(examples(name))
	require.NoError(t, err)
	files := map[string]string{}
next:
	for _, e := range entries {
		for _, s := range skip {
			if e.Name() == s {
				continue next
			}
		}
		b, err := os.ReadFile(filepath.Join(examples(name), e.Name()))
		require.NoError(t, err)
		files[e.Name()] = strings.ReplaceAll(string(b), "https://vault.corp.com:8200", vaultSrv.Addr)
	}
	return files
}

// seedStatic is the seed webapp's static part (connection, auths, static
// secret, Deployment) moved to namespace ns, role and KV path kvPath, the
// Deployment with no replicas: there is no kubelet, pods never become
// available, and a sync with waves (the default delivery's carriers come
// first) is done only once its last wave is Healthy.
func seedStatic(t testing.TB, ns, role, kvPath string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, s := range example(t, "webapp", "dynamic-secret.yaml", "pki-secret.yaml") {
		s = strings.ReplaceAll(s, "namespace: webapp-ns", "namespace: "+ns)
		s = strings.ReplaceAll(s, "role: webapp-role", "role: "+role)
		s = strings.ReplaceAll(s, "path: webapp/config", "path: "+kvPath)
		s = strings.Replace(s, "  replicas: 3\n", "  replicas: 0\n", 1)
		out[name] = s
	}
	return out
}

// under prefixes every path with dir/.
func under(dir string, files map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[dir+"/"+k] = v
	}
	return out
}

// appSpec is what `argocd app create` is given.
type appSpec struct {
	name, path, namespace string
	auto                  bool              // automated: {selfHeal: true, prune: true}
	validate              bool              // false: --validate=false (errors show at sync)
	params                map[string]string // plugin parameters (spec.source.plugin.parameters)
}

// create runs `argocd app create` for the plugin vaultcmp-v1 and deletes
// the Application (cascading) when the test ends.
func (c *cdWorld) create(t testing.TB, s appSpec) {
	t.Helper()
	args := []string{"app", "create", s.name, "--repo", c.repo.URL, "--path", s.path, "--revision", "HEAD",
		"--dest-server", "https://kubernetes.default.svc", "--dest-namespace", s.namespace, "--project", "default",
		"--config-management-plugin", "vaultcmp-v1", "--sync-option", "CreateNamespace=true"}
	if s.auto {
		args = append(args, "--sync-policy", "automated", "--self-heal", "--auto-prune")
	}
	if !s.validate {
		args = append(args, "--validate=false")
	}
	if len(s.params) > 0 {
		// The CLI has no flag for plugin parameters: the Application as a
		// file, so the app never exists without them (its first generate
		// would be cached by Argo CD).
		args = []string{"app", "create", "-f", c.appFile(t, s)}
		if !s.validate {
			args = append(args, "--validate=false")
		}
	}
	_, err := c.CLI(t.Context(), args...)
	require.NoError(t, err, "%s", c.CMPLog())
	t.Cleanup(func() { c.deleteApp(t, s.name) })
}

// appFile writes the Application of s (with its plugin parameters) to a
// file for `argocd app create -f`.
func (c *cdWorld) appFile(t testing.TB, s appSpec) string {
	t.Helper()
	var ps []map[string]string
	for _, k := range slices.Sorted(maps.Keys(s.params)) {
		ps = append(ps, map[string]string{"name": k, "string": s.params[k]})
	}
	policy := map[string]any{"syncOptions": []string{"CreateNamespace=true"}}
	if s.auto {
		policy["automated"] = map[string]any{"selfHeal": true, "prune": true}
	}
	b, err := json.Marshal(map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": s.name},
		"spec": map[string]any{
			"project": "default",
			"source": map[string]any{"repoURL": c.repo.URL, "path": s.path, "targetRevision": "HEAD",
				"plugin": map[string]any{"name": "vaultcmp-v1", "parameters": ps}},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": s.namespace},
			"syncPolicy":  policy,
		},
	})
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), s.name+".json")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// deleteApp deletes an Application and its resources, and waits until it
// is gone.
func (c *cdWorld) deleteApp(t testing.TB, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := c.CLI(ctx, "app", "delete", name, "--cascade", "--propagation-policy", "background", "--yes"); err != nil {
		t.Errorf("deleting app %s: %v", name, err)
		return
	}
	// Argo CD answers "permission denied" for an app that does not exist:
	// ask the apiserver.
	dyn, err := dynamic.NewForConfig(c.w.cluster.RestConfig(AdminToken))
	if err != nil {
		t.Error(err)
		return
	}
	apps := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}).Namespace(ArgoNamespace)
	for ctx.Err() == nil {
		if _, err := apps.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Errorf("app %s still there after delete", name)
}

// sync runs `argocd app sync` (with --prune) and returns its output.
func (c *cdWorld) sync(t testing.TB, name string) (string, error) {
	t.Helper()
	return c.CLI(t.Context(), "app", "sync", name, "--prune", "--timeout", "120")
}

// waitApp polls `argocd app get` until ok holds (timeout: fail).
func (c *cdWorld) waitApp(t testing.TB, name string, limit time.Duration, what string, ok func(*App) bool) *App {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last *App
	for {
		app, err := c.Get(t.Context(), name)
		if err == nil {
			last = app
			if ok(app) {
				return app
			}
		}
		if time.Now().After(deadline) {
			desc := "<none>"
			if last != nil {
				desc = fmt.Sprintf("sync=%s health=%s conditions=%s", last.Status.Sync.Status, last.Status.Health.Status, last.ConditionText())
				for _, r := range last.Status.Resources {
					desc += fmt.Sprintf("\n  %s %s/%s %s", r.Kind, r.Namespace, r.Name, r.Status)
					if r.Health != nil {
						desc += " " + r.Health.Status + " " + r.Health.Message
					}
				}
			}
			t.Fatalf("app %s: %s not reached in %s (last: %s, err %v)\n%s", name, what, limit, desc, err, tailString(c.Logs(), 8000))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func synced(app *App) bool { return app.Status.Sync.Status == "Synced" }

// secret reads a Secret from the cluster.
func (c *cdWorld) secret(t testing.TB, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := c.w.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err, "Secret %s/%s", ns, name)
	return s
}

// hardRefresh runs `argocd app get --hard-refresh` and waits until the
// controller has reconciled the app again.
func (c *cdWorld) hardRefresh(t testing.TB, name string) *App {
	t.Helper()
	prev := c.waitApp(t, name, 10*time.Second, "readable", func(*App) bool { return true }).Status.ReconciledAt
	_, err := c.CLI(t.Context(), "app", "get", name, "--hard-refresh", "-o", "json")
	require.NoError(t, err)
	return c.waitApp(t, name, 60*time.Second, "reconciled again", func(a *App) bool { return a.Status.ReconciledAt != prev })
}

// replicaSets counts the ReplicaSets of app=<app> in ns.
func (c *cdWorld) replicaSets(t testing.TB, ns, app string) int {
	t.Helper()
	l, err := c.w.cluster.Admin.AppsV1().ReplicaSets(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	return len(l.Items)
}

// resourceHealth is the health (status, message) Argo CD reports for one
// of an app's resources; "" when it reports none.
func (app *App) resourceHealth(kind, name string) (string, string) {
	for _, r := range app.Status.Resources {
		if r.Kind == kind && r.Name == name && r.Health != nil {
			return r.Health.Status, r.Health.Message
		}
	}
	return "", ""
}
