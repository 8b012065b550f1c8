package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var (
	vaultSrv *VaultServer
	vaultcmp string
)

// Seeded values. Tests check that none of them ever appears on stderr.
var webappConfig = map[string]any{
	"db_user":      "webapp-user-Kp1",
	"db_pass":      "s3cr3t-db-pass-7Qx",
	"db_host":      "db.internal",
	"redis_pass":   "r3dis-pass-Zk9",
	"internal_key": "internal-key-Yy2",
	"api_key":      "api-key-Wq4",
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	ctx := context.Background()
	bin, err := os.MkdirTemp("", "vaultcmp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bin)
	if vaultcmp, err = VaultcmpBinary(bin); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	if vaultSrv, err = StartVault(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: a real Vault is required:", err)
		return 1
	}
	defer vaultSrv.Stop()
	if _, err := vaultSrv.Client.KVv2("secret").Put(ctx, "webapp/config", webappConfig); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: seeding Vault:", err)
		return 1
	}
	defer stopArgoWorld()
	defer stopCD() // before the cluster it runs on
	defer StopSharedPostgres()
	return m.Run()
}

// result is one vaultcmp run.
type result struct {
	stdout, stderr string
	code           int
}

// run runs vaultcmp with args and a clean environment plus env.
func run(t testing.TB, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), vaultcmp, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running vaultcmp: %v", err)
	}
	r := result{stdout: out.String(), stderr: errb.String(), code: code}
	assertNoSecrets(t, r.stderr)
	if code == 0 && len(args) > 0 && args[0] == "render" {
		// Every successful render is what Argo CD would apply.
		serverSideApply(t, docs(t, r.stdout), renderNamespace(args))
	}
	return r
}

// rootEnv points vaultcmp at the test Vault with the root token.
func rootEnv(extra ...string) []string {
	return append([]string{"VAULT_ADDR=" + vaultSrv.Addr, "VAULT_TOKEN=" + RootToken, "VAULTCMP_HMAC_KEY=e2e-key"}, extra...)
}

func assertNoSecrets(t testing.TB, s string) {
	t.Helper()
	for k, v := range webappConfig {
		if strings.Contains(s, v.(string)) {
			t.Errorf("the value of %q appears on stderr:\n%s", k, s)
		}
	}
}

// docs parses a multi-document YAML stream.
func docs(t testing.TB, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range strings.Split(s, "\n---\n") {
		d = strings.TrimPrefix(d, "---\n")
		if strings.TrimSpace(d) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("output is not YAML: %v\n%s", err, d)
		}
		out = append(out, m)
	}
	return out
}

// find returns the object of kind and name, or fails.
func find(t testing.TB, objs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == kind && o["metadata"].(map[string]any)["name"] == name {
			return o
		}
	}
	t.Fatalf("no %s %s in the output", kind, name)
	return nil
}

// secretData decodes a Secret's data.
func secretData(t testing.TB, s map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	data, _ := s["data"].(map[string]any)
	for k, v := range data {
		b, err := decodeB64(v.(string))
		if err != nil {
			t.Fatalf("data[%s]: %v", k, err)
		}
		out[k] = string(b)
	}
	return out
}

// writeApp writes files (name → content) into a new directory.
func writeApp(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// readsInCluster checks a generate run under the default delivery
// (in-cluster): it succeeded and printed the carrier of Secret dest with
// what generate read from Vault (the KV version, or the keyed HMAC of a
// kv-v1 secret) and no value.
func readsInCluster(t testing.TB, r Run, dest string) {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("generate failed: %s", r.String())
	}
	if strings.Contains(r.Stdout, fmt.Sprint(webappConfig["db_pass"])) {
		t.Errorf("a value in generate's output")
	}
	for _, o := range docs(t, r.Stdout) {
		md, _ := o["metadata"].(map[string]any)
		ann, _ := md["annotations"].(map[string]any)
		if o["kind"] != "Secret" || ann["vaultcmp.io/destination"] != dest {
			continue
		}
		read, _ := ann["vaultcmp.io/kv-version"].(string)
		if read == "" {
			read, _ = ann["vaultcmp.io/data-hmac"].(string)
		}
		if read == "" {
			t.Errorf("the carrier of %s holds nothing generate read from Vault", dest)
		}
		return
	}
	t.Fatalf("no carrier of Secret %s in the output:\n%s", dest, r.Stdout)
}
