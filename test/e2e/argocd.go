package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// ArgoNamespace is where the control plane's own objects and its
// Applications live. Not "argocd": the companion's tests put stand-in
// Applications there that this controller must not reconcile. The sidecar
// keeps the shipped identity (argocd/argocd-repo-server, bound by the
// shipped ClusterRoleBinding).
const ArgoNamespace = "argocd-e2e"

// ArgoCD is a whole Argo CD control plane on 127.0.0.1 against a Cluster:
// Redis, argocd-repo-server, argocd-cmp-server (vaultcmp's plugin.yaml,
// vaultcmp on its PATH, as the repo-server's sidecar), the
// argocd-application-controller and argocd-server (insecure), and the
// `argocd` CLI logged in to it. Its configuration (argocd-cm with the
// health check, the sidecar's RBAC) is the shipped install: Argo CD's
// install.yaml with sidecar/kustomize.
type ArgoCD struct {
	Part      ArgoPart
	Server    string // argocd-server's host:port
	Redis     *Redis
	Shipped   *ShippedInstall
	CMPPID    func() int // the cmp-server's process id (sidecar memory)
	bin       string
	dir       string
	cliEnv    []string
	procs     []*argoProc
	cmpServer *argoProc

	// Hydrator is the commit-server's start-up time, 0 when the Source
	// Hydrator is off (hydrator.go).
	Hydrator time.Duration
}

// ArgoCDOptions are the settings of StartArgoCD.
type ArgoCDOptions struct {
	Part     ArgoPart
	Cluster  *Cluster
	Vaultcmp string // the vaultcmp binary, put on the cmp-server's PATH
	// SidecarToken is the argocd-repo-server service account's token: the
	// sidecar's Kubernetes credentials.
	SidecarToken string
	// SidecarEnv is the sidecar's environment (VAULTCMP_*), added to the
	// shipped container's literal env.
	SidecarEnv []string
	// ReconcileEvery is the controller's resync period (Argo CD's default
	// is 180 s).
	ReconcileEvery time.Duration
	// Hydrator turns Argo CD's Source Hydrator on: a commit-server, and the
	// controller and API server with the hydrator enabled (hydrator.go).
	Hydrator bool
}

// argoProc is one running component; its output is kept for failures.
type argoProc struct {
	name string
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{} // closed when the process has exited
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 4<<20 { // bounded: keep the start and drop the middle
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const argoAdminPassword = "vaultcmp-e2e-admin"

// StartArgoCD installs Argo CD into the cluster and starts its components.
func StartArgoCD(ctx context.Context, o ArgoCDOptions) (*ArgoCD, error) {
	bin, err := o.Part.Binary()
	if err != nil {
		return nil, err
	}
	src, err := o.Part.SourceDir()
	if err != nil {
		return nil, err
	}
	// Short: the plugin sockets' paths must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "acd")
	if err != nil {
		return nil, err
	}
	a := &ArgoCD{Part: o.Part, bin: bin, dir: dir}
	fail := func(err error) (*ArgoCD, error) {
		a.Stop()
		return nil, err
	}
	for _, d := range []string{"p", "bin", "cmp/config", "cmp/work", "cmp/home", "tmp", "tls", "ssh", "gpg", "cli", "redis", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fail(err)
		}
	}
	// The repo-server of v3 needs git-verify-wrapper.sh on PATH even with
	// GPG off; the module cache's copy is not executable.
	if w, err := os.ReadFile(filepath.Join(src, "hack", "git-verify-wrapper.sh")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "bin", "git-verify-wrapper.sh"), w, 0o755); err != nil {
			return fail(err)
		}
	}
	if err := os.Symlink(o.Vaultcmp, filepath.Join(dir, "bin", "vaultcmp")); err != nil {
		return fail(err)
	}
	if a.Shipped, err = BuildShippedInstall(filepath.Join(src, "manifests", "install.yaml")); err != nil {
		return fail(err)
	}
	if err := a.install(ctx, o.Cluster, src); err != nil {
		return fail(fmt.Errorf("installing Argo CD %s: %w", o.Part.Version, err))
	}
	if a.Redis, err = StartRedis(ctx, filepath.Join(dir, "redis")); err != nil {
		return fail(err)
	}
	if err := a.startComponents(ctx, o); err != nil {
		return fail(err)
	}
	if err := a.login(ctx); err != nil {
		return fail(err)
	}
	return a, nil
}

// PutOnPath makes bin the components' command name: the repo-server runs
// `helm` from its PATH for an Application's Helm source (HelmBinary: Argo
// CD 3.6.2's Helm 4.3.2). Looked up at each run, so it may come after start.
func (a *ArgoCD) PutOnPath(name, bin string) error {
	link := filepath.Join(a.dir, "bin", name)
	if old, err := os.Readlink(link); err == nil && old == bin {
		return nil
	}
	return os.Symlink(bin, link)
}

// base is every component's environment.
func (a *ArgoCD) base(component string) []string {
	return []string{
		"PATH=" + filepath.Join(a.dir, "bin") + ":" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(a.dir, "home"),
		"TMPDIR=" + filepath.Join(a.dir, "tmp"),
		"ARGOCD_BINARY_NAME=" + component,
		"ARGOCD_GPG_ENABLED=false",
		"ARGOCD_TLS_DATA_PATH=" + filepath.Join(a.dir, "tls"),
		"ARGOCD_SSH_DATA_PATH=" + filepath.Join(a.dir, "ssh"),
		"ARGOCD_GNUPGHOME=" + filepath.Join(a.dir, "gpg"),
		"ARGOCD_LOGFORMAT=text", "ARGOCD_CMP_SERVER_LOGFORMAT=text",
		"ARGOCD_REPO_SERVER_LOGFORMAT=text", "ARGOCD_APPLICATION_CONTROLLER_LOGFORMAT=text", "ARGOCD_SERVER_LOGFORMAT=text",
		"GIT_CONFIG_NOSYSTEM=1",
	}
}

func (a *ArgoCD) start(name string, env []string, args ...string) (*argoProc, error) {
	cmd := exec.Command(a.bin, args...)
	cmd.Env = env
	cmd.Dir = a.dir
	p := &argoProc{name: name, cmd: cmd, log: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	a.procs = append(a.procs, p)
	return p, nil
}

func (a *ArgoCD) startComponents(ctx context.Context, o ArgoCDOptions) error {
	ports := map[string]int{}
	for _, n := range []string{"repo", "repo-metrics", "server", "server-metrics", "controller-metrics"} {
		p, err := FreePort()
		if err != nil {
			return err
		}
		ports[n] = p
	}
	sockets := filepath.Join(a.dir, "p")
	kubeconfig, err := o.Cluster.WriteKubeconfig("argocd-admin", AdminToken)
	if err != nil {
		return err
	}
	sidecarKube, err := o.Cluster.WriteKubeconfig("argocd-repo-server", o.SidecarToken)
	if err != nil {
		return err
	}

	// The sidecar: the repository's plugin.yaml, the shipped container's env.
	plugin, err := os.ReadFile(filepath.Join(RepoRoot(), "plugin.yaml"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(a.dir, "cmp", "config", "plugin.yaml"), plugin, 0o644); err != nil {
		return err
	}
	shippedEnv, err := a.Shipped.ContainerEnv("argocd-repo-server", "vaultcmp")
	if err != nil {
		return err
	}
	env := a.base("argocd-cmp-server")
	env = append(env, "ARGOCD_PLUGINSOCKFILEPATH="+sockets, "ARGOCD_CMP_WORKDIR="+filepath.Join(a.dir, "cmp", "work"),
		"KUBECONFIG="+sidecarKube, "HOME="+filepath.Join(a.dir, "cmp", "home"),
		// The pod's namespace in a cluster; here, where the Applications are.
		"VAULTCMP_ARGOCD_NAMESPACE="+ArgoNamespace)
	for k, v := range shippedEnv {
		if strings.HasPrefix(v, "/") { // pod paths (token cache, Helm homes) move under the run's directory
			v = filepath.Join(a.dir, "cmp", v)
		}
		if k == "VAULTCMP_PLATFORM_DIR" { // the optional ConfigMap's mount: there, and empty
			if err := os.MkdirAll(v, 0o755); err != nil {
				return err
			}
		}
		env = append(env, k+"="+v)
	}
	env = append(env, o.SidecarEnv...)
	if a.cmpServer, err = a.start("argocd-cmp-server", env, "--config-dir-path", filepath.Join(a.dir, "cmp", "config"), "--loglevel", "info"); err != nil {
		return err
	}
	cmp := a.cmpServer
	a.CMPPID = func() int { return cmp.cmd.Process.Pid }
	if err := waitFor(ctx, 60*time.Second, cmp, func() bool {
		_, err := os.Stat(filepath.Join(sockets, "vaultcmp-v1.sock"))
		return err == nil
	}); err != nil {
		return err
	}

	redis := "--redis=" + a.Redis.Addr
	repoAddr := fmt.Sprintf("127.0.0.1:%d", ports["repo"])
	env = append(a.base("argocd-repo-server"), "ARGOCD_PLUGINSOCKFILEPATH="+sockets, "ARGOCD_ASK_PASS_SOCK="+filepath.Join(a.dir, "askpass.sock"))
	repo, err := a.start("argocd-repo-server", env, "--address", "127.0.0.1", fmt.Sprintf("--port=%d", ports["repo"]),
		"--metrics-address", "127.0.0.1", fmt.Sprintf("--metrics-port=%d", ports["repo-metrics"]), redis, "--loglevel", "info")
	if err != nil {
		return err
	}
	if err := waitFor(ctx, 60*time.Second, repo, func() bool { return dialable(repoAddr) }); err != nil {
		return err
	}

	hyd, err := a.startHydrator(ctx, o)
	if err != nil {
		return err
	}
	inCluster := append([]string{"ARGOCD_FAKE_IN_CLUSTER=true", "KUBECONFIG=" + kubeconfig}, hyd.env...)
	every := o.ReconcileEvery
	if every == 0 {
		every = 180 * time.Second
	}
	env = append(append(a.base("argocd-application-controller"), inCluster...), fmt.Sprintf("ARGOCD_RECONCILIATION_TIMEOUT=%ds", int(every.Seconds())))
	args := append([]string{"--namespace", ArgoNamespace, redis, "--repo-server", repoAddr,
		fmt.Sprintf("--metrics-port=%d", ports["controller-metrics"]), "--loglevel", "info",
		fmt.Sprintf("--app-resync=%d", int(every.Seconds())), "--self-heal-timeout-seconds=2"}, hyd.controllerArgs...)
	if _, err := a.start("argocd-application-controller", env, args...); err != nil {
		return err
	}

	a.Server = fmt.Sprintf("127.0.0.1:%d", ports["server"])
	env = append(a.base("argocd-server"), inCluster...)
	srv, err := a.start("argocd-server", env, "--namespace", ArgoNamespace, "--insecure", "--address", "127.0.0.1",
		fmt.Sprintf("--port=%d", ports["server"]), fmt.Sprintf("--metrics-port=%d", ports["server-metrics"]),
		redis, "--repo-server", repoAddr, "--staticassets", filepath.Join(a.dir, "tmp"), "--loglevel", "info")
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	return waitFor(ctx, 60*time.Second, srv, func() bool {
		resp, err := hc.Get("http://" + a.Server + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitFor polls ok until it holds, p exits or the time is up.
func waitFor(ctx context.Context, limit time.Duration, p *argoProc, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited:\n%s", p.name, tailString(p.log.String(), 4000))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s:\n%s", p.name, limit, tailString(p.log.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// install applies Argo CD's CRDs and the shipped configuration.
func (a *ArgoCD) install(ctx context.Context, c *Cluster, src string) error {
	dyn, err := dynamic.NewForConfig(c.RestConfig(AdminToken))
	if err != nil {
		return err
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, f := range []string{"application-crd.yaml", "applicationset-crd.yaml", "appproject-crd.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, "manifests", "crds", f))
		if err != nil {
			return err
		}
		var obj map[string]any
		if err := yaml.Unmarshal(b, &obj); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		u := &unstructured.Unstructured{Object: obj}
		// Server-side: the ApplicationSet CRD is too big for the last-applied annotation.
		if _, err := dyn.Resource(crdGVR).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "vaultcmp-e2e", Force: true}); err != nil {
			return fmt.Errorf("applying %s: %w", f, err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, name := range []string{"applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io"} {
		for {
			u, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil && established(u) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established: %w", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if _, err := c.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ArgoNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// The shipped configuration: Argo CD's ConfigMaps (argocd-cm with
	// vaultcmp's health check merged in by the component), argocd-secret,
	// and vaultcmp's RBAC.
	objs := a.Shipped.Select(func(u *unstructured.Unstructured) bool {
		switch u.GetKind() {
		case "ConfigMap":
			return strings.HasPrefix(u.GetName(), "argocd-") || strings.HasPrefix(u.GetName(), "vaultcmp-")
		case "Secret":
			return u.GetName() == "argocd-secret"
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
			return u.GetLabels()["app.kubernetes.io/name"] == "vaultcmp"
		}
		return false
	})
	hash, err := a.cli(ctx, "account", "bcrypt", "--password", argoAdminPassword)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.GetKind() == "Secret" && o.GetName() == "argocd-secret" {
			o = o.DeepCopy()
			data := map[string]string{}
			for k, v := range map[string]string{
				"server.secretkey":    "vaultcmp-e2e-server-key",
				"admin.password":      strings.TrimSpace(hash),
				"admin.passwordMtime": time.Now().UTC().Format(time.RFC3339),
			} {
				data[k] = base64.StdEncoding.EncodeToString([]byte(v))
			}
			_ = unstructured.SetNestedStringMap(o.Object, data, "data")
		}
		if err := applyObject(ctx, c, dyn, o); err != nil {
			return err
		}
	}
	project := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "default", "namespace": ArgoNamespace},
		"spec": map[string]any{
			"sourceRepos":              []any{"*"},
			"destinations":             []any{map[string]any{"server": "*", "namespace": "*"}},
			"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
		},
	}}
	return applyObject(ctx, c, dyn, project)
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// applyObject server-side-applies one object (namespaced ones into their
// namespace, argocd by default).
func applyObject(ctx context.Context, c *Cluster, dyn dynamic.Interface, o *unstructured.Unstructured) error {
	groups, err := restmapper.GetAPIGroupResources(c.Admin.Discovery())
	if err != nil {
		return err
	}
	gvk := o.GroupVersionKind()
	m, err := restmapper.NewDiscoveryRESTMapper(groups).RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("mapping %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		o = o.DeepCopy()
		o.SetNamespace(ArgoNamespace)
		ri = dyn.Resource(m.Resource).Namespace(ArgoNamespace)
	}
	if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "vaultcmp-e2e", Force: true}); err != nil {
		return fmt.Errorf("applying %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

func (a *ArgoCD) login(ctx context.Context) error {
	a.cliEnv = []string{"ARGOCD_CONFIG_DIR=" + filepath.Join(a.dir, "cli")}
	var err error
	for i := 0; i < 50; i++ {
		if _, err = a.cli(ctx, "login", a.Server, "--plaintext", "--username", "admin", "--password", argoAdminPassword); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("argocd login: %w", err)
}

// CLIError is a failed `argocd` command: its exit code and output.
type CLIError struct {
	Args   []string
	Code   int
	Output string
}

func (e *CLIError) Error() string {
	return fmt.Sprintf("argocd %s: exit %d: %s", strings.Join(e.Args, " "), e.Code, e.Output)
}

// CLI runs the logged-in `argocd` CLI; stdout is returned, a failure is a
// *CLIError holding stdout and stderr.
func (a *ArgoCD) CLI(ctx context.Context, args ...string) (string, error) { return a.cli(ctx, args...) }

func (a *ArgoCD) cli(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, a.bin, args...)
	cmd.Env = append(append(a.base("argocd"), a.cliEnv...), "ARGOCD_OPTS=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), &CLIError{Args: args, Code: ee.ExitCode(), Output: out.String() + errb.String()}
	}
	if err != nil {
		return "", err
	}
	return out.String(), nil
}

// App is the part of an Application the tests read.
type App struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Status struct {
		Sync struct {
			Status   string `json:"status"`
			Revision string `json:"revision"`
		} `json:"sync"`
		Health struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"health"`
		Conditions []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"conditions"`
		OperationState *struct {
			Phase   string `json:"phase"`
			Message string `json:"message"`
		} `json:"operationState"`
		Resources []struct {
			Kind      string `json:"kind"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			Status    string `json:"status"`
			Health    *struct {
				Status  string `json:"status"`
				Message string `json:"message"`
			} `json:"health"`
		} `json:"resources"`
		History []struct {
			Revision string `json:"revision"`
		} `json:"history"`
		ReconciledAt string `json:"reconciledAt"`
	} `json:"status"`
}

// Get is `argocd app get NAME -o json` (extra: e.g. --hard-refresh).
func (a *ArgoCD) Get(ctx context.Context, name string, extra ...string) (*App, error) {
	out, err := a.cli(ctx, append([]string{"app", "get", name, "-o", "json"}, extra...)...)
	if err != nil {
		return nil, err
	}
	var app App
	if err := json.Unmarshal([]byte(out), &app); err != nil {
		return nil, fmt.Errorf("argocd app get %s: %w\n%s", name, err, out)
	}
	return &app, nil
}

// Conditions joins the Application's condition messages.
func (app *App) ConditionText() string {
	var b strings.Builder
	for _, c := range app.Status.Conditions {
		fmt.Fprintf(&b, "%s: %s\n", c.Type, c.Message)
	}
	return b.String()
}

// Logs is the output of every component, for a failed test.
func (a *ArgoCD) Logs() string {
	var b strings.Builder
	for _, p := range a.procs {
		fmt.Fprintf(&b, "==== %s\n%s\n", p.name, tailString(p.log.String(), 6000))
	}
	return b.String()
}

// CMPLog is what the cmp-server (and vaultcmp's stderr through it) printed.
func (a *ArgoCD) CMPLog() string {
	if a.cmpServer == nil {
		return ""
	}
	return a.cmpServer.log.String()
}

// Stop kills every component and Redis and removes the files.
func (a *ArgoCD) Stop() {
	for i := len(a.procs) - 1; i >= 0; i-- {
		p := a.procs[i]
		_ = p.cmd.Process.Kill() // the cmp-server ignores SIGTERM
		<-p.done
	}
	if a.Redis != nil {
		a.Redis.Stop()
	}
	_ = os.RemoveAll(a.dir)
}
