package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// Versions of the real parts (see each parts/<name>/go.mod).
const (
	VaultVersion = "1.17.6"
	EtcdVersion  = "3.6.16"
	KubeVersion  = "1.37.2"
	ArgoVersion  = "2.14.21"
)

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

// ArgoCMPServerBinary returns the cached argocd-cmp-server binary.
func ArgoCMPServerBinary() (string, error) {
	return partBinary("argocd-cmp-server", "argocd-cmp-server-"+ArgoVersion, ".", "-ldflags=-s -w")
}

// ArgoRepoClientBinary returns the cached client that generates manifests
// the way Argo CD's repo-server does (parts/argocd-cmp-server/reposerver).
func ArgoRepoClientBinary() (string, error) {
	return partBinary("argocd-cmp-server", "argocd-repo-generate-"+ArgoVersion, "./reposerver", "-ldflags=-s -w")
}

// AllParts builds every part, one after another (each build needs GBs of RAM).
func AllParts() ([]string, error) {
	var out []string
	for _, f := range []func() (string, error){VaultBinary, EtcdBinary, KubeAPIServerBinary, KubeControllerManagerBinary, ArgoCMPServerBinary, ArgoRepoClientBinary} {
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
	return bin, buildOnce(bin, filepath.Join(RepoRoot(), "test", "e2e", "parts", module), pkg, flags...)
}

// VaultcmpBinary builds vaultcmp from the repository into dir.
func VaultcmpBinary(dir string) (string, error) {
	bin := filepath.Join(dir, "vaultcmp")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building vaultcmp: %w\n%s", err, out)
	}
	return bin, nil
}

func buildOnce(bin, moduleDir, pkg string, flags ...string) error {
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
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	fmt.Fprintf(os.Stderr, "building %s (first run only; this takes minutes)\n", filepath.Base(bin))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s in %s: %w", filepath.Base(bin), moduleDir, err)
	}
	return os.Rename(tmp, bin)
}
