package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Companion is a running `vaultcmp companion` process.
type Companion struct {
	// MetricsURL is /metrics: HTTPS (a self-signed certificate), answered
	// only for a bearer token the apiserver authenticates and allows to get
	// /metrics.
	MetricsURL string
	// MetricsToken is the bearer token Metrics sends (a service account
	// bound to the shipped vaultcmp-companion-metrics-reader).
	MetricsToken string
	HealthURL    string
	cmd          *exec.Cmd
	mu           sync.Mutex
	log          bytes.Buffer
	done         chan struct{}
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
		MetricsURL: fmt.Sprintf("https://127.0.0.1:%d/metrics", mp),
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
			if resp.StatusCode == http.StatusOK && c.metricsListening() {
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

// metricsListening tells whether /metrics accepts connections: it starts
// with /readyz, but its self-signed certificate (RSA keys) may take a while
// on a loaded machine.
func (c *Companion) metricsListening() bool {
	conn, err := net.DialTimeout("tcp", strings.TrimSuffix(strings.TrimPrefix(c.MetricsURL, "https://"), "/metrics"), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
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

// Metrics scrapes /metrics with MetricsToken; anything but 200 is an error.
func (c *Companion) Metrics() (string, error) {
	code, body, err := c.Scrape(c.MetricsToken)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("scraping %s: HTTP %d: %s", c.MetricsURL, code, body)
	}
	return body, nil
}

// Scrape GETs /metrics with token as a bearer token ("": none) and returns
// the status and body. The companion's certificate is self-signed (as
// shipped), so it is not verified: the test is on 127.0.0.1.
func (c *Companion) Scrape(token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, c.MetricsURL, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := scrapeClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

var scrapeClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the companion's self-signed certificate, on 127.0.0.1
}

// Pid is the companion's process id (its CPU: /proc/<pid>/stat).
func (c *Companion) Pid() int { return c.cmd.Process.Pid }

// Memory is the companion's resident set now (VmRSS) and at its peak
// (VmHWM), in bytes, from /proc/<pid>/status.
func (c *Companion) Memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Pid()))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the companion's memory: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("reading the companion's %s %q: %w", k, v, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak, nil
}
