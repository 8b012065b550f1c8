package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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

// The hostile-repository harness: a bounded runner, so that a regression
// (a process that grows without end, or never returns) fails its test instead
// of the machine, and a capture server that stands for the attacker's host.

// Bounds caps one run of a process.
type Bounds struct {
	// Memory is the resident set size above which the process is killed
	// (VmRSS, polled every 20 ms). Default 512 MiB.
	Memory int64
	// Wall is the time after which the process is killed. Default 60 s.
	Wall time.Duration
}

// Run is one bounded run.
type Run struct {
	Stdout, Stderr string
	Code           int           // exit code; -1 when killed
	PeakRSS        int64         // bytes, as last polled
	Elapsed        time.Duration // from start to exit
	// Killed says why the harness killed the process ("" if it exited by
	// itself): "memory" or "wall".
	Killed string
}

func (r Run) String() string {
	return fmt.Sprintf("exit %d in %s, peak RSS %d MiB, killed=%q\nstdout:\n%s\nstderr:\n%s",
		r.Code, r.Elapsed.Round(time.Millisecond), r.PeakRSS>>20, r.Killed, r.Stdout, r.Stderr)
}

// RunBounded starts cmd and kills it when it goes above b. signal, when
// non-nil, runs in its own goroutine once the process has started (a test
// sends SIGTERM from it). cmd's Stdout and Stderr must be unset.
func RunBounded(ctx context.Context, cmd *exec.Cmd, b Bounds, signal func(p *os.Process)) (Run, error) {
	if b.Memory == 0 {
		b.Memory = 512 << 20
	}
	if b.Wall == 0 {
		b.Wall = 60 * time.Second
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Run{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if signal != nil {
		go signal(cmd.Process)
	}
	var r Run
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	wall := time.NewTimer(b.Wall)
	defer wall.Stop()
	var err error
loop:
	for {
		select {
		case err = <-done:
			break loop
		case <-ctx.Done():
			r.Killed = "context"
			_ = cmd.Process.Kill()
		case <-wall.C:
			r.Killed = "wall"
			_ = cmd.Process.Kill()
		case <-tick.C:
			if rss := vmRSS(cmd.Process.Pid); rss > 0 {
				r.PeakRSS = max(r.PeakRSS, rss)
				if rss > b.Memory && r.Killed == "" {
					r.Killed = "memory"
					_ = cmd.Process.Kill()
				}
			}
		}
	}
	r.Elapsed = time.Since(start)
	r.Stdout, r.Stderr = out.String(), errb.String()
	r.Code = cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.Code = -1
	}
	if exitErr := (*exec.ExitError)(nil); err != nil && !errors.As(err, &exitErr) {
		return r, err
	}
	return r, nil
}

// vmRSS reads the resident set size of pid from /proc (0 if unknown).
func vmRSS(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// CaptureMode is how the capture server answers.
type CaptureMode int

// The capture server's modes.
const (
	// Echo answers 400 with the request (headers and body) as the body, as
	// a server that wants what it receives printed would.
	Echo CaptureMode = iota
	// Hang never answers (until the server is closed).
	Hang
	// EndlessBody answers 200 with a JSON body that never ends.
	EndlessBody
	// Redirect answers 307 to RedirectTo plus the request's path.
	Redirect
	// Status answers with StatusCode and Body.
	Status
)

// Captured is one request the capture server received.
type Captured struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// CaptureServer stands for an attacker's host on 127.0.0.1: it records every
// request, so that a test can assert that nothing (no token) reached it.
type CaptureServer struct {
	Addr string // http://127.0.0.1:PORT

	mu         sync.Mutex
	mode       CaptureMode
	redirectTo string
	status     int
	body       []byte
	requests   []Captured
	srv        *http.Server
	stop       chan struct{}
}

// StartCapture starts a capture server in mode.
func StartCapture(mode CaptureMode) (*CaptureServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &CaptureServer{Addr: "http://" + l.Addr().String(), mode: mode, stop: make(chan struct{})}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(l) }()
	return c, nil
}

// SetRedirect makes the server answer 307 to addr.
func (c *CaptureServer) SetRedirect(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mode, c.redirectTo = Redirect, addr
}

// SetStatus makes the server answer status with body.
func (c *CaptureServer) SetStatus(status int, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mode, c.status, c.body = Status, status, body
}

// Requests returns what the server received so far.
func (c *CaptureServer) Requests() []Captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Captured(nil), c.requests...)
}

// Close stops the server (and every hanging or endless answer).
func (c *CaptureServer) Close() {
	close(c.stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
	_ = c.srv.Close()
}

func (c *CaptureServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c.mu.Lock()
	c.requests = append(c.requests, Captured{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	mode, to, status, answer := c.mode, c.redirectTo, c.status, c.body
	c.mu.Unlock()
	switch mode {
	case Echo:
		var b bytes.Buffer
		_ = r.Header.Write(&b)
		b.Write(body)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(b.Bytes())
	case Hang:
		select {
		case <-c.stop:
		case <-r.Context().Done():
		}
	case EndlessBody:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"data":{"data":{"k":"`)
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		for {
			select {
			case <-c.stop:
				return
			case <-r.Context().Done():
				return
			default:
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case Redirect:
		http.Redirect(w, r, to+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	case Status:
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	}
}
