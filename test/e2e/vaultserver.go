package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"
)

// RootToken is the dev server's root token.
const RootToken = "root"

// VaultServer is a running `vault server -dev` on 127.0.0.1.
type VaultServer struct {
	Addr   string // http://127.0.0.1:PORT
	Client *api.Client
	cmd    *exec.Cmd
	log    *bytes.Buffer
	dir    string
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// GCPCredentialsFile is the file, in the server's Dir, of its Google
// application default credentials.
const GCPCredentialsFile = "gcp-credentials.json"

// StartVault starts a dev server and waits until it is unsealed and active.
func StartVault(ctx context.Context) (*VaultServer, error) {
	bin, err := VaultBinary()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "vaultcmp-vault-")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "server", "-dev", "-dev-root-token-id="+RootToken, "-dev-no-store-token",
		"-dev-listen-address="+addr, "-log-level=warn")
	// Vault's gcp auth reads its Google credentials (application default
	// credentials) from GCPCredentialsFile, which the gcp tests write.
	cmd.Env = append(os.Environ(), "HOME="+dir, "VAULT_ADDR=", "VAULT_TOKEN=",
		"GOOGLE_APPLICATION_CREDENTIALS="+filepath.Join(dir, GCPCredentialsFile))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vault: %w", err)
	}
	v := &VaultServer{Addr: "http://" + addr, cmd: cmd, log: &log, dir: dir}
	cfg := api.DefaultConfig()
	cfg.Address = v.Addr
	c, err := api.NewClient(cfg)
	if err != nil {
		v.Stop()
		return nil, err
	}
	c.SetToken(RootToken)
	v.Client = c
	deadline := time.Now().Add(60 * time.Second)
	for {
		h, err := c.Sys().HealthWithContext(ctx)
		if err == nil && h.Initialized && !h.Sealed && !h.Standby {
			// KV v2 at secret/ is mounted by -dev; wait until it answers.
			if _, err := c.Logical().ReadWithContext(ctx, "secret/config"); err == nil {
				return v, nil
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			v.Stop()
			return nil, fmt.Errorf("vault dev server on %s did not become ready: %w\n%s", addr, err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server and removes its files.
func (v *VaultServer) Stop() {
	if v.cmd != nil && v.cmd.Process != nil {
		_ = v.cmd.Process.Kill()
		_ = v.cmd.Wait()
	}
	_ = os.RemoveAll(v.dir)
}

// Dir is a scratch directory that lives as long as the server.
func (v *VaultServer) Dir() string { return v.dir }

// EnableAudit turns on a file audit device and returns the log's path.
func (v *VaultServer) EnableAudit(ctx context.Context, name string) (string, error) {
	p := filepath.Join(v.dir, name+".log")
	err := v.Client.Sys().EnableAuditWithOptionsWithContext(ctx, name, &api.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": p},
	})
	return p, err
}
