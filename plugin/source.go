package plugin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/renderer"
)

// sourceFlags say how to build the app directory.
type sourceFlags struct {
	namespace       string
	helmReleaseName string
	helmValuesFiles []string
	helmSet         []string
	kubeVersion     string
	apiVersions     []string
	repoRoot        string        // the repository's root; found from dir when empty
	allowRemote     bool          // kustomize may fetch remote resources (the operator's opt-in)
	limits          limits.Limits // set by the command before load
}

func (f *sourceFlags) register(cmd *cobra.Command, env Env) {
	fl := cmd.Flags()
	fl.StringVarP(&f.namespace, "namespace", "n", env.get(EnvNamespace),
		"namespace of objects that have none (Argo CD's destination namespace) [$"+EnvNamespace+"]")
	fl.StringVar(&f.helmReleaseName, "helm-release-name", "", "release name of a Helm chart (default: the directory's name)")
	fl.StringArrayVar(&f.helmValuesFiles, "helm-values", nil, "Helm values file, relative to the chart (repeatable)")
	fl.StringArrayVar(&f.helmSet, "helm-set", nil, "Helm value key=value (repeatable)")
	f.registerRemote(cmd, env)
}

func (f *sourceFlags) registerRemote(cmd *cobra.Command, env Env) {
	cmd.Flags().BoolVar(&f.allowRemote, "kustomize-allow-remote", envBool(env, renderer.EnvKustomizeAllowRemote),
		"let kustomize fetch remote resources (http, git); off: a kustomization is built from the repository alone [$"+renderer.EnvKustomizeAllowRemote+"]")
}

func envBool(env Env, k string) bool {
	b, _ := strconv.ParseBool(env.get(k))
	return b
}

// guard refuses an app that reaches outside its repository: dir or a
// symlink under it leading out, and kustomize references that are remote or
// outside. Every command calls it before reading dir; it returns how dir
// is built (renderer.Detect), detected once for the run.
func (f *sourceFlags) guard(dir string) (renderer.SourceType, error) {
	if f.repoRoot == "" {
		f.repoRoot = findRepoRoot(dir)
	}
	if err := renderer.CheckTree(f.repoRoot, dir); err != nil {
		return "", err
	}
	remoteGuard(f.allowRemote)
	src := renderer.Detect(dir)
	if src == renderer.SourceKustomize {
		return src, renderer.CheckKustomization(f.repoRoot, dir, f.allowRemote)
	}
	return src, nil
}

// findRepoRoot is the closest directory at or above dir holding .git, else dir.
func findRepoRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return abs
		}
	}
}

// remoteGuard sets what Go's default HTTP transport (the one kustomize's
// remote loader uses) may do: nothing, unless the operator allowed remote
// resources, and then with timeouts. vaultcmp's own clients (Vault,
// Kubernetes) have transports of their own.
func remoteGuard(allow bool) {
	if !allow {
		http.DefaultTransport = refuseTransport{}
		return
	}
	http.DefaultTransport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
	}
}

type refuseTransport struct{}

func (refuseTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, fmt.Errorf("vaultcmp fetches nothing from the network while building an app (the operator may allow remote kustomize resources: --kustomize-allow-remote, $%s)", renderer.EnvKustomizeAllowRemote)
}

// load reads the app in dir: a Helm chart, a kustomization or a directory.
func (f sourceFlags) load(ctx context.Context, dir, namespace string) ([]*renderer.Object, error) {
	src, err := f.guard(dir)
	if err != nil {
		return nil, err
	}
	ld := renderer.NewLoader(f.limits)
	if src != renderer.SourceHelm {
		return ld.Load(dir)
	}
	set := map[string]string{}
	for _, kv := range f.helmSet {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--helm-set %q: want key=value", kv)
		}
		set[k] = v
	}
	name := f.helmReleaseName
	if name == "" {
		name = baseName(dir)
	}
	return renderer.LoadHelm(ctx, dir, renderer.HelmOptions{
		ReleaseName: name, Namespace: namespace, ValuesFiles: f.helmValuesFiles, Set: set,
		Root: f.repoRoot, KubeVersion: f.kubeVersion, APIVersions: f.apiVersions, Loader: ld,
	})
}
