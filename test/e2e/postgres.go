package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PostgresAdmin and PostgresAdminPassword are the superuser of a throwaway
// cluster: Vault's database engine connects as it.
const (
	PostgresAdmin         = "vaultadmin"
	PostgresAdminPassword = "vaultadmin-e2e-pass"
	PostgresDB            = "postgres"
)

// Postgres is a throwaway PostgreSQL cluster (Debian's `postgresql`
// package, installed by hack/deps.sh) listening on 127.0.0.1 only, with its
// data in a temporary directory. Start it with [StartPostgres]; Stop removes
// everything.
type Postgres struct {
	Host string // 127.0.0.1
	Port int
	Bin  string // the directory holding initdb, pg_ctl, postgres, psql

	dir  string
	user string // the OS user the server runs as ("" = the current user)
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// PostgresBinDir finds the directory of PostgreSQL's server programs:
// $VAULTCMP_PG_BIN, else the newest /usr/lib/postgresql/<ver>/bin, else the
// directory of `initdb` on PATH (/usr/local/bin holds symlinks on some
// machines; they are resolved).
func PostgresBinDir() (string, error) {
	if d := os.Getenv("VAULTCMP_PG_BIN"); d != "" {
		return d, nil
	}
	vers, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(vers, func(i, j int) bool { return pgVersion(vers[i]) > pgVersion(vers[j]) })
	if len(vers) > 0 {
		return filepath.Dir(vers[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), nil
	}
	return "", errors.New("PostgreSQL's initdb was not found (install Debian's postgresql package: make deps, or set VAULTCMP_PG_BIN)")
}

func pgVersion(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// StartPostgres initializes a cluster in a new temporary directory and
// starts it on a free loopback port, with password (scram) authentication
// for PostgresAdmin over TCP. PostgreSQL refuses to run as root: when the
// test runs as root, the server runs as the `postgres` user that Debian's
// package creates (or $VAULTCMP_PG_USER).
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"initdb", "postgres", "psql"} {
		if _, err := os.Stat(filepath.Join(bin, p)); err != nil {
			if _, lerr := exec.LookPath(p); lerr != nil || p != "psql" {
				return nil, fmt.Errorf("PostgreSQL's %s: %w", p, err)
			}
		}
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vaultcmp-pg-")
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Host: "127.0.0.1", Port: port, Bin: bin, dir: dir, log: &bytes.Buffer{}}
	var uid, gid int
	if os.Geteuid() == 0 {
		pg.user = os.Getenv("VAULTCMP_PG_USER")
		if pg.user == "" {
			pg.user = "postgres"
		}
		u, err := user.Lookup(pg.user)
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("PostgreSQL does not run as root and user %q is missing (Debian's postgresql package creates it): %w", pg.user, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(PostgresAdminPassword+"\n"), 0o600); err != nil {
		pg.Stop()
		return nil, err
	}
	if pg.user != "" {
		for _, p := range []string{dir, pwfile} {
			if err := os.Chown(p, uid, gid); err != nil {
				pg.Stop()
				return nil, err
			}
		}
	}
	initdb := pg.command(ctx, uid, gid, filepath.Join(bin, "initdb"), "-D", data, "-U", PostgresAdmin,
		"--pwfile="+pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		pg.Stop()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	pg.cmd = pg.command(context.Background(), uid, gid, filepath.Join(bin, "postgres"), "-D", data,
		"-h", pg.Host, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=32MB", "-c", "log_min_messages=warning")
	pg.cmd.Stdout, pg.cmd.Stderr = pg.log, pg.log
	pg.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := pg.cmd.Start(); err != nil {
		pg.Stop()
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = pg.cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := pg.SQL(ctx, "SELECT 1")
		if err == nil {
			return pg, nil
		}
		select {
		case <-exited:
			pg.cmd = nil
			pg.Stop()
			return nil, fmt.Errorf("postgres exited: %s", pg.log.String())
		default:
		}
		if time.Now().After(deadline) {
			pg.Stop()
			return nil, fmt.Errorf("postgres on %s:%d did not become ready: %w\n%s", pg.Host, port, err, pg.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// command runs name as the server's user.
func (pg *Postgres) command(ctx context.Context, uid, gid int, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C", "LC_ALL=C", "HOME=" + pg.dir}
	cmd.Dir = pg.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if pg.user != "" {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return cmd
}

// ConnectionURL is the URL Vault's postgresql-database-plugin uses, with
// the {{username}}/{{password}} placeholders Vault fills in.
func (pg *Postgres) ConnectionURL() string {
	return fmt.Sprintf("postgresql://{{username}}:{{password}}@%s:%d/%s?sslmode=disable", pg.Host, pg.Port, PostgresDB)
}

// SQL runs query with psql as PostgresAdmin over TCP and returns the rows,
// unaligned, one per line, columns separated by '|'.
func (pg *Postgres) SQL(ctx context.Context, query string) (string, error) {
	return pg.SQLAs(ctx, PostgresAdmin, PostgresAdminPassword, query)
}

// SQLAs runs query as user with password over TCP (so the login itself is
// tested: a dynamic user that cannot log in fails here).
func (pg *Postgres) SQLAs(ctx context.Context, user, password, query string) (string, error) {
	psql := filepath.Join(pg.Bin, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", pg.Host, "-p", strconv.Itoa(pg.Port), "-U", user, "-d", PostgresDB, "-c", query)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=5", "LANG=C"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		// psql's messages name the user, never the password.
		return "", fmt.Errorf("psql as %s: %w: %s", user, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// RoleExists tells whether name is in pg_roles.
func (pg *Postgres) RoleExists(ctx context.Context, name string) (bool, error) {
	out, err := pg.SQL(ctx, fmt.Sprintf("SELECT count(*) FROM pg_roles WHERE rolname = '%s'", strings.ReplaceAll(name, "'", "''")))
	if err != nil {
		return false, err
	}
	return out == "1", nil
}

// Stop stops the server and removes its data directory.
func (pg *Postgres) Stop() {
	if pg.cmd != nil && pg.cmd.Process != nil {
		_ = pg.cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown
		done := make(chan struct{})
		go func() {
			for i := 0; i < 50; i++ {
				if err := pg.cmd.Process.Signal(syscall.Signal(0)); err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			close(done)
		}()
		<-done
		_ = pg.cmd.Process.Kill()
	}
	_ = os.RemoveAll(pg.dir)
}

var shared struct {
	sync.Mutex
	pg *Postgres
}

// SharedPostgres returns the test binary's one PostgreSQL, starting it on
// first use. TestMain stops it with [StopSharedPostgres]. Tests that share
// it use role names of their own.
func SharedPostgres(ctx context.Context) (*Postgres, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.pg != nil {
		return shared.pg, nil
	}
	pg, err := StartPostgres(ctx)
	if err != nil {
		return nil, err
	}
	shared.pg = pg
	return pg, nil
}

// StopSharedPostgres stops the shared PostgreSQL, if it was started.
func StopSharedPostgres() {
	shared.Lock()
	defer shared.Unlock()
	if shared.pg != nil {
		shared.pg.Stop()
		shared.pg = nil
	}
}
