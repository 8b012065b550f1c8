package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Redis is Debian's redis-server on 127.0.0.1, without persistence: Argo
// CD's cache.
type Redis struct {
	Addr string // 127.0.0.1:PORT
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// StartRedis starts redis-server (hack/deps.sh installs it) in dir.
func StartRedis(ctx context.Context, dir string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is required (Debian package redis-server; hack/deps.sh installs it): %w", err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), log: &bytes.Buffer{}}
	r.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "no", "--loglevel", "warning")
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if out, err := r.Do(ctx, "PING"); err == nil && len(out) == 1 && out[0] == "PONG" {
			return r, nil
		}
		if time.Now().After(deadline) {
			r.Stop()
			return nil, fmt.Errorf("redis-server on %s did not answer: %s", r.Addr, r.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server.
func (r *Redis) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// Do sends one command (RESP) and returns the reply flattened to strings:
// a bulk or simple string as one element, an array as its elements.
func (r *Redis) Do(ctx context.Context, args ...string) ([]string, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return nil, err
	}
	return readRESP(bufio.NewReader(c))
}

func readRESP(br *bufio.Reader) ([]string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, fmt.Errorf("empty RESP reply")
	}
	switch line[0] {
	case '+', ':':
		return []string{line[1:]}, nil
	case '-':
		return nil, fmt.Errorf("redis: %s", line[1:])
	case '$':
		var n int
		if _, err := fmt.Sscan(line[1:], &n); err != nil {
			return nil, err
		}
		if n < 0 {
			return []string{}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, err
		}
		return []string{string(buf[:n])}, nil
	case '*':
		var n int
		if _, err := fmt.Sscan(line[1:], &n); err != nil {
			return nil, err
		}
		var out []string
		for range n {
			e, err := readRESP(br)
			if err != nil {
				return nil, err
			}
			out = append(out, e...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected RESP reply %q", line)
}

// Dump reads every key (SCAN, so the whole keyspace) and its value:
// strings as they are, hashes, lists, sets and sorted sets as all their
// elements. A gzip value (Argo CD's --redis-compress, gzip by default) is
// decompressed; the count says how many were.
func (r *Redis) Dump(ctx context.Context) (map[string][]byte, int, error) {
	out := map[string][]byte{}
	gzipped := 0
	cursor := "0"
	for range 10000 { // bounded: a few hundred keys here
		reply, err := r.Do(ctx, "SCAN", cursor, "COUNT", "500")
		if err != nil {
			return nil, 0, fmt.Errorf("SCAN %s: %w", cursor, err)
		}
		if len(reply) == 0 {
			return nil, 0, fmt.Errorf("SCAN %s: empty reply", cursor)
		}
		for _, key := range reply[1:] {
			typ, err := r.Do(ctx, "TYPE", key)
			if err != nil || len(typ) != 1 {
				return nil, 0, fmt.Errorf("TYPE %q: %w", key, err)
			}
			var cmd []string
			switch typ[0] {
			case "string":
				cmd = []string{"GET", key}
			case "hash":
				cmd = []string{"HGETALL", key}
			case "list":
				cmd = []string{"LRANGE", key, "0", "-1"}
			case "set":
				cmd = []string{"SMEMBERS", key}
			case "zset":
				cmd = []string{"ZRANGE", key, "0", "-1"}
			case "none":
				continue // expired since SCAN
			default:
				return nil, 0, fmt.Errorf("key %q: type %s not read", key, typ[0])
			}
			vals, err := r.Do(ctx, cmd...)
			if err != nil {
				return nil, 0, fmt.Errorf("%s %q: %w", cmd[0], key, err)
			}
			var b bytes.Buffer
			for _, v := range vals {
				plain, ok, err := gunzip([]byte(v))
				if err != nil {
					return nil, 0, fmt.Errorf("key %q: %w", key, err)
				}
				if ok {
					gzipped++
				}
				b.Write(plain)
				b.WriteByte('\n')
			}
			out[key] = b.Bytes()
		}
		if cursor = reply[0]; cursor == "0" {
			return out, gzipped, nil
		}
	}
	return nil, 0, fmt.Errorf("SCAN did not finish")
}

// gunzip decompresses b when it is gzip (bounded to 64 MiB).
func gunzip(b []byte) ([]byte, bool, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, false, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, false, fmt.Errorf("gzip: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return nil, false, fmt.Errorf("gunzip: %w", err)
	}
	return plain, true, nil
}
