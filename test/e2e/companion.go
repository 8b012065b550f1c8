package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Companion is a running `vaultcmp companion` process.
type Companion struct {
	MetricsURL string
	HealthURL  string
	cmd        *exec.Cmd
	mu         sync.Mutex
	log        bytes.Buffer
	done       chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// StartCompanion starts the real companion binary with the kubeconfig and
// extra arguments, and waits for /readyz.
func StartCompanion(ctx context.Context, bin, kubeconfig string, env []string, args ...string) (*Companion, error) {
	mp, err := FreePort()
	if err != nil {
		return nil, err
	}
	hp, err := FreePort()
	if err != nil {
		return nil, err
	}
	c := &Companion{
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", mp),
		HealthURL:  fmt.Sprintf("http://127.0.0.1:%d", hp),
		done:       make(chan struct{}),
	}
	all := append([]string{"companion", "--kubeconfig", kubeconfig,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", mp),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", hp),
		"--log-format=console", "--log-level=debug", "--max-backoff=3s"}, args...)
	c.cmd = exec.Command(bin, all...)
	c.cmd.Env = env
	w := lockedWriter{&c.mu, &c.log}
	c.cmd.Stdout, c.cmd.Stderr = w, w
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vaultcmp companion: %w", err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.HealthURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("vaultcmp companion exited:\n%s", c.Log())
		default:
		}
		if time.Now().After(deadline) {
			c.Kill()
			return nil, fmt.Errorf("vaultcmp companion not ready:\n%s", c.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log is what the companion wrote so far.
func (c *Companion) Log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// Stop ends the companion gracefully (SIGTERM), then kills it.
func (c *Companion) Stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.Kill()
	}
}

// Kill kills the companion at once (a crash).
func (c *Companion) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// Exited tells whether the process has ended.
func (c *Companion) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Metrics scrapes /metrics.
func (c *Companion) Metrics() (string, error) {
	resp, err := http.Get(c.MetricsURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// Pid is the companion process's id (its CPU: /proc/<pid>/stat).
func (c *Companion) Pid() int { return c.cmd.Process.Pid }
