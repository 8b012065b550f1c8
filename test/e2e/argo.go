package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CMPServer is Argo CD's argocd-cmp-server serving vaultcmp's plugin.yaml,
// as in the repo-server's sidecar.
type CMPServer struct {
	SocketDir string // $ARGOCD_PLUGINSOCKFILEPATH
	cmd       *exec.Cmd
	log       *bytes.Buffer
	dir       string
}

// StartCMPServer starts the cmp-server with the repository's plugin.yaml,
// the vaultcmp binary at vaultcmpPath on PATH, and env (the sidecar's
// environment: KUBECONFIG, VAULTCMP_*).
func StartCMPServer(ctx context.Context, vaultcmpPath string, env []string) (*CMPServer, error) {
	bin, err := ArgoCMPServerBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vaultcmp-cmp-")
	if err != nil {
		return nil, err
	}
	s := &CMPServer{dir: dir, SocketDir: filepath.Join(dir, "plugins")}
	for _, d := range []string{"config", "plugins", "work", "home", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	plugin, err := os.ReadFile(filepath.Join(RepoRoot(), "plugin.yaml"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "plugin.yaml"), plugin, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config-dir-path", filepath.Join(dir, "config"), "--loglevel", "warn")
	cmd.Env = append([]string{
		"PATH=" + filepath.Dir(vaultcmpPath) + ":" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"TMPDIR=" + filepath.Join(dir, "tmp"),
		"ARGOCD_PLUGINSOCKFILEPATH=" + s.SocketDir,
		"ARGOCD_CMP_WORKDIR=" + filepath.Join(dir, "work"),
		"ARGOCD_BINARY_NAME=argocd-cmp-server",
		"ARGOCD_CMP_SERVER_LOGFORMAT=text", // v3 logs JSON by default
	}, env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting argocd-cmp-server: %w", err)
	}
	s.cmd, s.log = cmd, &log
	sock := filepath.Join(s.SocketDir, "vaultcmp-v1.sock")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return s, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Stop()
			return nil, fmt.Errorf("argocd-cmp-server did not listen on %s:\n%s", sock, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is what the cmp-server printed.
func (s *CMPServer) Log() string { return s.log.String() }

// Stop kills the server (it ignores SIGTERM).
func (s *CMPServer) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
	_ = os.RemoveAll(s.dir)
}

// GitRepo is a git repository on disk, served as file://.
type GitRepo struct {
	Dir string
	URL string
}

// NewGitRepo creates a repository holding files (path → content), committed.
func NewGitRepo(dir string, files map[string]string) (*GitRepo, error) {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", "app"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return &GitRepo{Dir: dir, URL: "file://" + dir}, nil
}

// AppRequest is the part of Argo CD's ManifestRequest a test sets.
type AppRequest struct {
	RepoURL     string
	Path        string
	AppName     string
	Namespace   string
	Project     string
	PluginName  string // "" with Plugin true: discovery
	Plugin      bool
	PluginEnv   map[string]string
	Parameters  []map[string]any // Argo CD's ApplicationSourcePluginParameter JSON
	KubeVersion string
}

func (r AppRequest) json() ([]byte, error) {
	src := map[string]any{"repoURL": r.RepoURL, "path": r.Path, "targetRevision": "HEAD"}
	if r.Plugin {
		plugin := map[string]any{}
		if r.PluginName != "" {
			plugin["name"] = r.PluginName
		}
		var env []map[string]string
		for k, v := range r.PluginEnv {
			env = append(env, map[string]string{"name": k, "value": v})
		}
		if env != nil {
			plugin["env"] = env
		}
		if r.Parameters != nil {
			plugin["parameters"] = r.Parameters
		}
		src["plugin"] = plugin
	}
	kv := r.KubeVersion
	if kv == "" {
		kv = KubeVersion
	}
	return json.Marshal(map[string]any{
		"repo":              map[string]any{"repo": r.RepoURL},
		"revision":          "HEAD",
		"appName":           r.AppName,
		"namespace":         r.Namespace,
		"projectName":       r.Project,
		"applicationSource": src,
		"kubeVersion":       kv,
		"apiVersions":       []string{"v1", "apps/v1"},
		"noCache":           true,
	})
}

// GenerateResult is what the repo-server got.
type GenerateResult struct {
	Manifests  []map[string]any
	SourceType string
	Stderr     string
	Err        error
	Duration   time.Duration // the whole client: git checkout and generation
	Generate   time.Duration // repository.GenerateManifests alone: discovery, stream, plugin
}

// Generate runs Argo CD's repo-server manifest generation for req against
// the cmp-server (discover=true: only plugin discovery).
func (s *CMPServer) Generate(ctx context.Context, req AppRequest, discover bool) GenerateResult {
	bin, err := ArgoRepoClientBinary()
	if err != nil {
		return GenerateResult{Err: err}
	}
	body, err := req.json()
	if err != nil {
		return GenerateResult{Err: err}
	}
	args := []string{}
	if discover {
		args = append(args, "-discover")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + s.dir, "TMPDIR=" + filepath.Join(s.dir, "tmp"),
		"ARGOCD_PLUGINSOCKFILEPATH=" + s.SocketDir, "GIT_CONFIG_NOSYSTEM=1",
		"ARGOCD_BINARY_NAME=argocd-repo-generate",
	}
	cmd.Stdin = bytes.NewReader(body)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	res := GenerateResult{Stderr: errb.String(), Duration: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.Err = fmt.Errorf("repo-server generation failed: %s", strings.TrimSpace(errb.String()))
		return res
	} else if err != nil {
		res.Err = err
		return res
	}
	if discover {
		return res
	}
	var parsed struct {
		Manifests       []map[string]any `json:"manifests"`
		SourceType      string           `json:"sourceType"`
		GenerateSeconds float64          `json:"generateSeconds"`
	}
	if err := json.Unmarshal(out.Bytes(), &parsed); err != nil {
		res.Err = fmt.Errorf("reading the manifests: %w\n%s", err, out.String())
		return res
	}
	res.Manifests, res.SourceType = parsed.Manifests, parsed.SourceType
	res.Generate = time.Duration(parsed.GenerateSeconds * float64(time.Second))
	return res
}

// Commit writes files (path → content; "" deletes the path) and commits
// them; it returns the new commit's hash.
func (g *GitRepo) Commit(files map[string]string, msg string) (string, error) {
	for name, content := range files {
		p := filepath.Join(g.Dir, name)
		if content == "" {
			if err := os.RemoveAll(p); err != nil {
				return "", err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	var out []byte
	for _, args := range [][]string{
		{"add", "-A"},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "--allow-empty", "-m", msg},
		{"rev-parse", "HEAD"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = g.Dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+g.Dir)
		var err error
		if out, err = cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return strings.TrimSpace(string(out)), nil
}
