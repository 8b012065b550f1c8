package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Argo CD's Source Hydrator in the control plane: the commit-server (the
// same multi-call binary, ARGOCD_BINARY_NAME=argocd-commit-server) and the
// controller and API server with the hydrator on. A real install sets
// hydrator.enabled: "true" in argocd-cmd-params-cm, which Argo CD's
// manifests (*-install-with-hydrator.yaml) turn into the env
// ARGOCD_HYDRATOR_ENABLED of both and ARGOCD_APPLICATION_CONTROLLER_COMMIT_SERVER
// of the controller; the harness starts the processes itself, so it sets
// those directly.

// hydratorSetup is what startComponents adds to the controller and the API
// server when the hydrator is on.
type hydratorSetup struct {
	controllerArgs []string
	env            []string // controller and API server
}

// startHydrator starts the commit-server when o.Hydrator is set; the zero
// setup otherwise.
func (a *ArgoCD) startHydrator(ctx context.Context, o ArgoCDOptions) (hydratorSetup, error) {
	if !o.Hydrator {
		return hydratorSetup{}, nil
	}
	if o.Part.Major < 3 {
		return hydratorSetup{}, fmt.Errorf("Argo CD %s: the harness runs the Source Hydrator on 3.x only", o.Part.Version)
	}
	start := time.Now()
	port, err := FreePort()
	if err != nil {
		return hydratorSetup{}, err
	}
	metrics, err := FreePort()
	if err != nil {
		return hydratorSetup{}, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := append(a.base("argocd-commit-server"), "ARGOCD_COMMIT_SERVER_LOGFORMAT=text")
	p, err := a.start("argocd-commit-server", env, "--address", "127.0.0.1", fmt.Sprintf("--port=%d", port),
		"--metrics-address", "127.0.0.1", fmt.Sprintf("--metrics-port=%d", metrics), "--loglevel", "info")
	if err != nil {
		return hydratorSetup{}, err
	}
	if err := waitFor(ctx, 60*time.Second, p, func() bool { return dialable(addr) }); err != nil {
		return hydratorSetup{}, err
	}
	a.Hydrator = time.Since(start)
	return hydratorSetup{
		controllerArgs: []string{"--commit-server", addr},
		env:            []string{"ARGOCD_HYDRATOR_ENABLED=true"},
	}, nil
}

// BareRepo is a bare git repository (file://), the hydrator's destination.
type BareRepo struct {
	Dir string
	URL string
}

// NewBareRepo makes a bare repository at dir with one commit on main (a
// README), as a hosted repository starts.
func NewBareRepo(dir string) (*BareRepo, error) {
	seed, err := NewGitRepo(dir+".seed", map[string]string{"README.md": "hydrated manifests\n"})
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(seed.Dir)
	if _, err := gitOut("", "clone", "-q", "--bare", seed.Dir, dir); err != nil {
		return nil, err
	}
	return &BareRepo{Dir: dir, URL: "file://" + dir}, nil
}

// Git runs git in the repository and returns its output.
func (r *BareRepo) Git(args ...string) ([]byte, error) { return gitOut(r.Dir, args...) }

// Refs lists the repository's refs (branches, notes, tags).
func (r *BareRepo) Refs() ([]string, error) {
	out, err := r.Git("for-each-ref", "--format=%(refname)")
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(out)), nil
}

// Everything is every byte the repository can give back: every object in
// its database (all commits, trees, blobs of every file of every commit,
// git notes), `git log -p` of every ref, and the tip's files of each
// branch, so that a value anywhere in its history is found.
func (r *BareRepo) Everything() (map[string][]byte, error) {
	out := map[string][]byte{}
	objs, err := r.Git("cat-file", "--batch-all-objects", "--batch", "--unordered")
	if err != nil {
		return nil, err
	}
	out["cat-file --batch-all-objects"] = objs
	refs, err := r.Refs()
	if err != nil {
		return nil, err
	}
	for _, ref := range refs {
		log, err := r.Git("log", "-p", "--format=fuller", "--notes=*", ref)
		if err != nil {
			return nil, err
		}
		out["log -p "+ref] = log
		if !strings.HasPrefix(ref, "refs/heads/") {
			continue
		}
		files, err := r.Git("ls-tree", "-r", "--name-only", ref)
		if err != nil {
			return nil, err
		}
		for _, f := range strings.Fields(string(files)) {
			b, err := r.Git("show", ref+":"+f)
			if err != nil {
				return nil, err
			}
			out[ref+":"+f] = b
		}
	}
	return out, nil
}

func gitOut(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	home := dir
	if home == "" {
		home = os.TempDir()
	}
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+filepath.Clean(home))
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		return nil, fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, stderr)
	}
	return out, nil
}
