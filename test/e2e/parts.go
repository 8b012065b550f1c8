package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Versions of the real parts (see each parts/<name>/go.mod).
const (
	VaultVersion = "1.17.6"
	EtcdVersion  = "3.6.16"
	KubeVersion  = "1.37.2"
	HelmVersion  = "4.3.2"       // the helm of Argo CD 3.6.2 (its hack/tool-versions.sh)
	ArgoVersion  = Argo34Version // the cmp-server of the tests that drive it directly (argo_test.go)
)

// Argo CD versions the tests run: the current line (3.6, the whole suite)
// and the oldest line Argo CD still supports (3.4, a smoke subset). 2.14 is
// out of support since November 2025 and no longer tested.
const (
	Argo36Version = "3.6.2"
	Argo34Version = "3.4.14"
)

// ArgoPart is one Argo CD release built as Argo CD's own multi-call binary
// (parts/argocd34: 3.4, parts/argocd3: 3.6); ARGOCD_BINARY_NAME picks the
// component.
type ArgoPart struct {
	Version string // e.g. "3.6.2"
	Major   int    // 3
	Minor   int    // 4 or 6
	module  string // directory under parts/
	goMod   string // Argo CD's Go module path
	env     []string
}

// Argo36 and Argo34 are the Argo CD releases under test. Argo CD 3.6's
// module needs Go 1.27: only its build runs with GOTOOLCHAIN=go1.27.3;
// 3.4's builds with the machine's Go 1.26.
var (
	Argo36 = ArgoPart{Version: Argo36Version, Major: 3, Minor: 6, module: "argocd3", goMod: "github.com/argoproj/argo-cd/v3", env: []string{"GOTOOLCHAIN=go1.27.3"}}
	Argo34 = ArgoPart{Version: Argo34Version, Major: 3, Minor: 4, module: "argocd34", goMod: "github.com/argoproj/argo-cd/v3"}
)

// AtLeast reports whether the release is major.minor or later: what a test
// expects of Argo CD depends on it (3.6 added the refresh-timestamp
// annotation, for one).
func (a ArgoPart) AtLeast(major, minor int) bool {
	return a.Major > major || a.Major == major && a.Minor >= minor
}

// Binary returns the cached multi-call binary, building it if needed (about
// 8 minutes cold, 2–3 GB of RAM to link).
func (a ArgoPart) Binary() (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "argocd-"+a.Version)
	return bin, buildOnce(bin, filepath.Join(RepoRoot(), "test", "e2e", "parts", a.module), ".", a.env, "-ldflags=-s -w")
}

// SourceDir is Argo CD's module in the module cache (its manifests/crds,
// manifests/base/config and hack/git-verify-wrapper.sh).
func (a ArgoPart) SourceDir() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", a.goMod)
	cmd.Dir = filepath.Join(RepoRoot(), "test", "e2e", "parts", a.module)
	cmd.Env = append(os.Environ(), a.env...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("finding Argo CD %s's module: %w", a.Version, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// RepoRoot is the vaultcmp repository root.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinDir is where built parts are cached.
func BinDir() (string, error) {
	if d := os.Getenv("VAULTCMP_E2E_BIN"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOCACHE: %w", err)
	}
	d := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "vaultcmp-e2e-bin")
	return d, os.MkdirAll(d, 0o755)
}

var buildMu sync.Mutex

// VaultBinary returns the cached Vault server binary, building it first if
// needed (6–15 minutes cold).
func VaultBinary() (string, error) {
	return partBinary("vault", "vault-"+VaultVersion, ".", "-ldflags=-s -w")
}

// EtcdBinary returns the cached etcd server binary, building it if needed.
func EtcdBinary() (string, error) {
	return partBinary("etcd", "etcd-"+EtcdVersion, ".", "-ldflags=-s -w")
}

// KubeAPIServerBinary returns the cached kube-apiserver binary, building it
// if needed (about 10 minutes cold).
func KubeAPIServerBinary() (string, error) {
	ld := "-s -w"
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld += fmt.Sprintf(" -X %s.gitVersion=v%s -X %s.gitMajor=1 -X %s.gitMinor=37", pkg, KubeVersion, pkg, pkg)
	}
	return partBinary("kube-apiserver", "kube-apiserver-"+KubeVersion, ".", "-ldflags="+ld)
}

// KubeControllerManagerBinary returns the cached kube-controller-manager
// binary (same module as kube-apiserver), building it if needed.
func KubeControllerManagerBinary() (string, error) {
	ld := "-s -w"
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		ld += fmt.Sprintf(" -X %s.gitVersion=v%s -X %s.gitMajor=1 -X %s.gitMinor=37", pkg, KubeVersion, pkg, pkg)
	}
	return partBinary("kube-apiserver", "kube-controller-manager-"+KubeVersion, "./kube-controller-manager", "-ldflags="+ld)
}

// HelmBinary returns the cached Helm CLI of Argo CD 3.6.2's repo-server,
// building it if needed (a few minutes cold): Helm's own cmd/helm, with the
// version its release binary reports (`helm version`,
// .Capabilities.HelmVersion).
func HelmBinary() (string, error) {
	const v = "helm.sh/helm/v4/internal/version"
	return partBinary("helm", "helm-"+HelmVersion, "helm.sh/helm/v4/cmd/helm",
		fmt.Sprintf("-ldflags=-s -w -X %s.version=v%s -X %s.gitTreeState=clean", v, HelmVersion, v))
}

// ArgoCMPServerBinary returns the Argo CD 3.4 multi-call binary; run it
// with ARGOCD_BINARY_NAME=argocd-cmp-server. 3.4 rather than 3.6: the
// binary also carries our argocd-repo-generate, it builds with the
// machine's Go, and the oldest supported line's cmp-server is then under
// test in every run (the protocol is the same across 3.x).
func ArgoCMPServerBinary() (string, error) { return Argo34.Binary() }

// ArgoRepoClientBinary returns the same binary; run with
// ARGOCD_BINARY_NAME=argocd-repo-generate it generates manifests the way
// Argo CD's repo-server does (parts/argocd34/repogen).
func ArgoRepoClientBinary() (string, error) { return Argo34.Binary() }

// AllParts builds every part, one after another (each build needs GBs of RAM).
func AllParts() ([]string, error) {
	var out []string
	for _, f := range []func() (string, error){VaultBinary, EtcdBinary, KubeAPIServerBinary, KubeControllerManagerBinary, Argo34.Binary, Argo36.Binary, HelmBinary} {
		p, err := f()
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}

func partBinary(module, name, pkg string, flags ...string) (string, error) {
	dir, err := BinDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	return bin, buildOnce(bin, filepath.Join(RepoRoot(), "test", "e2e", "parts", module), pkg, nil, flags...)
}

// VaultcmpBinary builds vaultcmp from the repository into dir, as the
// sidecar image does (sidecar/Dockerfile: CGO_ENABLED=0, -trimpath). With
// cgo, kustomize's import of Go's plugin package makes a dynamically linked
// binary exporting every symbol: 20 MiB more resident at start.
func VaultcmpBinary(dir string) (string, error) {
	bin := filepath.Join(dir, "vaultcmp")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building vaultcmp: %w\n%s", err, out)
	}
	return bin, nil
}

// buildOnce builds pkg of moduleDir into bin unless it is there, with env
// added to the build's environment, and reports the build's duration and
// peak memory (the largest process: usually the linker) on stderr.
func buildOnce(bin, moduleDir, pkg string, env []string, flags ...string) error {
	buildMu.Lock()
	defer buildMu.Unlock()
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return nil
	}
	// Other processes (another test binary, `make parts`) may build the same
	// part: one builds, the others wait for it.
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("locking the build of %s: %w", filepath.Base(bin), err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking the build of %s: %w", filepath.Base(bin), err)
	}
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return nil
	}
	tmp := bin + ".tmp"
	args := append([]string{"build", "-trimpath", "-o", tmp}, flags...)
	args = append(args, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleDir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "building %s (first run only; this takes minutes)\n", filepath.Base(bin))
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s in %s: %w", filepath.Base(bin), moduleDir, err)
	}
	peak := int64(0)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = ru.Maxrss / 1024 // KiB → MiB; wait4 reports the largest process of the build
	}
	fmt.Fprintf(os.Stderr, "built %s in %s, peak RSS %d MiB\n", filepath.Base(bin), time.Since(start).Round(time.Second), peak)
	return os.Rename(tmp, bin)
}
