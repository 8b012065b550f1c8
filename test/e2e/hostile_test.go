package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hostile-repository suite (issue 6, rows 5, 6, 7, 8, 10): each input is
// refused, with nothing on stdout, a clear error naming the limit, and the
// process bounded in time and memory.

// hostileBounds: far below what the rows cost before (3–4 GB, 76 s).
var hostileBounds = Bounds{Memory: 400 << 20, Wall: 30 * time.Second}

// runHostile runs vaultcmp under hostileBounds with a clean environment.
func runHostile(t *testing.T, env []string, args ...string) Run {
	t.Helper()
	return runHostileWith(t, hostileBounds, nil, env, args...)
}

func runHostileWith(t *testing.T, b Bounds, signal func(*os.Process), env []string, args ...string) Run {
	t.Helper()
	return runHostileIn(t, "", b, signal, env, args...)
}

// generateIn runs `vaultcmp generate` in dir as Argo CD's cmp-server would,
// with a kubeconfig whose cluster cannot be reached: what is refused here is
// refused before vaultcmp asks the cluster anything.
func generateIn(t *testing.T, dir string, env ...string) Run {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
users: [{name: u, user: {token: not-a-token}}]
`), 0o600))
	env = append([]string{"KUBECONFIG=" + kc, "ARGOCD_APP_NAME=hostile", "ARGOCD_APP_NAMESPACE=webapp-ns",
		"VAULTCMP_TOKEN_CACHE_DIR=" + t.TempDir(), "VAULTCMP_HMAC_KEY=e2e-key"}, env...)
	return runHostileIn(t, dir, hostileBounds, nil, env, "generate")
}

func runHostileIn(t *testing.T, dir string, b Bounds, signal func(*os.Process), env []string, args ...string) Run {
	t.Helper()
	cmd := exec.Command(vaultcmp, args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}, env...)
	r, err := RunBounded(t.Context(), cmd, b, signal)
	require.NoError(t, err)
	t.Logf("%s %s: exit %d in %s, peak RSS %d MiB", args[0], strings.Join(args[1:], " "), r.Code, r.Elapsed.Round(time.Millisecond), r.PeakRSS>>20)
	assertNoSecrets(t, r.Stderr)
	return r
}

// refused asserts the contract of a refusal: not killed by the harness,
// exit 1, nothing on stdout, the limit's flag and variable on stderr.
func refused(t *testing.T, r Run, limit string) {
	t.Helper()
	assert.Empty(t, r.Killed, "the harness had to kill vaultcmp:\n%s", r)
	assert.Equal(t, 1, r.Code, "%s", r)
	assert.Empty(t, r.Stdout, "a refused render must print nothing")
	if limit != "" {
		assert.Contains(t, r.Stderr, "--max-"+limit+" or VAULTCMP_MAX_"+strings.ToUpper(strings.ReplaceAll(limit, "-", "_")))
	}
}

// aliasBomb is the 597-byte YAML alias bomb of the issue (9^9 strings).
const aliasBomb = `apiVersion: v1
kind: ConfigMap
metadata:
  name: bomb
  annotations:
    note: secrets.hashicorp.com/v1beta1
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// Row 5: the alias bomb in validate, render (plain and kustomize) and
// discover; nesting and sizes too.
func TestHostileYAML(t *testing.T) {
	plain := writeApp(t, map[string]string{"bomb.yaml": aliasBomb})
	kust := writeApp(t, map[string]string{"bomb.yaml": aliasBomb, "kustomization.yaml": "resources:\n- bomb.yaml\n"})
	deep := writeApp(t, map[string]string{"deep.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: " +
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"})
	big := writeApp(t, map[string]string{"big.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  x: \"" +
		strings.Repeat("x", 9<<20) + "\"\n"})
	env := rootEnv()
	for _, tc := range []struct {
		name  string
		args  []string
		limit string
	}{
		{"render plain", []string{"render", plain}, "yaml-alias-nodes"},
		{"render offline", []string{"render", "--offline", plain}, "yaml-alias-nodes"},
		{"render kustomize", []string{"render", kust}, "yaml-alias-nodes"},
		{"render depth", []string{"render", deep}, "yaml-depth"},
		{"render file size", []string{"render", big}, "file-size"},
		{"render input size", []string{"render", "--max-input-size=300", kust}, "input-size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, runHostile(t, env, tc.args...), tc.limit)
		})
	}
	t.Run("generate", func(t *testing.T) {
		for _, dir := range []string{plain, kust} {
			refused(t, generateIn(t, dir), "yaml-alias-nodes")
		}
		refused(t, generateIn(t, big), "file-size")
	})
	t.Run("validate", func(t *testing.T) {
		for _, dir := range []string{plain, kust} {
			r := runHostile(t, env, "validate", dir)
			assert.Empty(t, r.Killed, "%s", r)
			assert.Equal(t, 1, r.Code, "%s", r)
			assert.Contains(t, r.Stdout, "--max-yaml-alias-nodes or VAULTCMP_MAX_YAML_ALIAS_NODES")
		}
	})
	t.Run("discover", func(t *testing.T) {
		for _, dir := range []string{plain, kust} {
			r := runHostile(t, env, "discover", dir)
			assert.Empty(t, r.Killed, "%s", r)
			assert.Equal(t, 0, r.Code, "%s", r) // discover never fails Argo CD's discovery
		}
		r := runHostile(t, env, "discover", big)
		assert.Empty(t, r.Stdout)
		assert.Contains(t, r.Stderr, "--max-file-size or VAULTCMP_MAX_FILE_SIZE")
	})
}

// templated is a VaultStaticSecret of secret/webapp/config with one template.
func templated(name, text string) string {
	return vss(name, "kv-v2", "secret", "webapp/config",
		"    transformation:\n      templates:\n        out:\n          text: '"+strings.ReplaceAll(text, "'", "''")+"'")
}

// Row 6: hostile templates, against the real Vault's data.
func TestHostileTemplates(t *testing.T) {
	env := rootEnv()
	for _, tc := range []struct {
		name, text, limit string
		args              []string
	}{
		{"until", `{{ range until 2000000000 }}x{{ end }}`, "template-output", nil},
		{"repeat", `{{ repeat 2000000000 "abcdefgh" }}`, "template-output", nil},
		{"doubling", `{{ $s := "ab" }}{{ range until 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ $s }}`, "template-output", nil},
		{"exponential template", `{{ define "a" }}{{ template "b" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "c" }}{{ template "c" }}{{ end }}{{ define "c" }}{{ range 20000000000 }}{{ end }}{{ end }}{{ template "a" }}`,
			"template-time", []string{"--max-template-time=2s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeApp(t, map[string]string{"t.yaml": templated("hostile", tc.text)})
			r := runHostile(t, env, append(append([]string{"render", "--delivery=inline"}, tc.args...), dir)...)
			refused(t, r, tc.limit)
			assert.Less(t, r.Elapsed, 10*time.Second)
		})
	}
}

// Row 6: a Helm chart's own template functions are Helm's (no bound of
// vaultcmp's applies inside them): the memory limit ends the render.
func TestHostileHelmTemplate(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: hb\nversion: 0.1.0\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n" +
			"  {{- range $i := until 200000000 }}\n  k{{ $i }}: v\n  {{- end }}\n",
	})
	r := runHostileIn(t, "", Bounds{Memory: 1 << 30, Wall: 30 * time.Second}, nil, rootEnv(), "render", dir)
	refused(t, r, "memory")
	assert.Less(t, r.Elapsed, 15*time.Second)
}

// Row 6: SIGTERM during template execution ends vaultcmp at once, with a
// clear message and nothing on stdout.
func TestHostileSIGTERM(t *testing.T) {
	dir := writeApp(t, map[string]string{"t.yaml": templated("spin", `{{ range 20000000000 }}{{ end }}`)})
	var sent time.Time
	r := runHostileWith(t, hostileBounds, func(p *os.Process) {
		time.Sleep(1500 * time.Millisecond)
		sent = time.Now()
		_ = p.Signal(syscall.SIGTERM)
	}, rootEnv("VAULTCMP_MAX_TEMPLATE_TIME=10m", "VAULTCMP_MAX_DEADLINE=10m"), "render", "--delivery=inline", dir)
	exited := time.Now()
	refused(t, r, "")
	assert.Contains(t, r.Stderr, "terminated signal received: nothing rendered; 1 object was still waiting for Vault or templates: t.yaml: VaultStaticSecret spin")
	assert.Less(t, exited.Sub(sent), 2*time.Second, "vaultcmp took too long to honour SIGTERM")
}

// Row 6: a Vault whose answer never ends.
func TestHostileEndlessVault(t *testing.T) {
	srv, err := StartCapture(EndlessBody)
	require.NoError(t, err)
	defer srv.Close()
	r := runHostile(t, []string{"VAULT_ADDR=" + srv.Addr, "VAULT_TOKEN=x"}, "render", examples("webapp"))
	refused(t, r, "vault-response")
	assert.Less(t, r.Elapsed, 10*time.Second)
}

// Row 7: Vault down, 320 objects: one clear error within seconds.
func TestHostileVaultDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	files := map[string]string{}
	for i := range 320 {
		files[fmt.Sprintf("s%03d.yaml", i)] = vss(fmt.Sprintf("s%03d", i), "kv-v2", "secret", fmt.Sprintf("app/%d", i))
	}
	dir := writeApp(t, files)
	r := runHostile(t, []string{"VAULT_ADDR=" + addr, "VAULT_TOKEN=x"}, "render", "--delivery=inline", dir)
	refused(t, r, "")
	assert.Less(t, r.Elapsed, 5*time.Second)
	assert.Contains(t, r.Stderr, "1 problem, nothing rendered")
	assert.Contains(t, r.Stderr, "319 other objects need Vault at "+addr)
	assert.Equal(t, 1, strings.Count(r.Stderr, "unreachable"), r.Stderr)
}

// Row 7: a Vault that never answers: the render's deadline names the objects
// still waiting.
func TestHostileDeadline(t *testing.T) {
	srv, err := StartCapture(Hang)
	require.NoError(t, err)
	defer srv.Close()
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("s%02d.yaml", i)] = vss(fmt.Sprintf("s%02d", i), "kv-v2", "secret", fmt.Sprintf("app/%d", i))
	}
	dir := writeApp(t, files)
	r := runHostile(t, []string{"VAULT_ADDR=" + srv.Addr, "VAULT_TOKEN=x", "VAULTCMP_MAX_DEADLINE=3s"}, "render", "--delivery=inline", dir)
	refused(t, r, "deadline")
	assert.Less(t, r.Elapsed, 6*time.Second)
	assert.Contains(t, r.Stderr, "20 objects were still waiting")
	assert.Contains(t, r.Stderr, "s00.yaml: VaultStaticSecret s00")
}

// Row 8: invalid Secret keys, a Secret over 1 MiB, a Vault answer over the
// limit, objects without identity.
func TestHostileOutput(t *testing.T) {
	ctx := t.Context()
	kv := vaultSrv.Client.KVv2("secret")
	_, err := kv.Put(ctx, "hostile/keys", map[string]any{"bad key!": "v1", "../escape": "v2", "": "v3", "ok": "v4"})
	require.NoError(t, err)
	_, err = kv.Put(ctx, "hostile/big", map[string]any{"big": strings.Repeat("b", 1500<<10)})
	require.NoError(t, err)
	_, err = kv.Put(ctx, "hostile/huge", map[string]any{"huge": strings.Repeat("h", 20<<20)})
	require.NoError(t, err)
	env := rootEnv()

	t.Run("keys", func(t *testing.T) {
		dir := writeApp(t, map[string]string{"k.yaml": vss("keys", "kv-v2", "secret", "hostile/keys")})
		r := runHostile(t, env, "render", "--delivery=inline", dir)
		refused(t, r, "")
		for _, k := range []string{`invalid Secret key bad key!`, `invalid Secret key ../escape`, `invalid Secret key :`} {
			assert.Contains(t, r.Stderr, k)
		}
		assert.NotContains(t, r.Stderr, "v1")
	})
	t.Run("size", func(t *testing.T) {
		dir := writeApp(t, map[string]string{"b.yaml": vss("big", "kv-v2", "secret", "hostile/big")})
		r := runHostile(t, env, "render", "--delivery=inline", dir)
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "more than the kube-apiserver's limit of 1048576 (1MiB)")
	})
	t.Run("vault response", func(t *testing.T) {
		dir := writeApp(t, map[string]string{"h.yaml": vss("huge", "kv-v2", "secret", "hostile/huge")})
		r := runHostile(t, env, "render", "--delivery=inline", dir)
		refused(t, r, "vault-response")
	})
	t.Run("identity", func(t *testing.T) {
		dir := writeApp(t, map[string]string{
			"a.yaml": "kind: ConfigMap\nmetadata:\n  name: no-api-version\n",
			"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n",
			"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Not_A_Name\n",
		})
		r := runHostile(t, env, "render", "--offline", dir)
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "missing apiVersion")
		assert.Contains(t, r.Stderr, "missing metadata.name")
		assert.Contains(t, r.Stderr, "invalid name Not_A_Name")
		v := runHostile(t, env, "validate", dir)
		assert.Equal(t, 1, v.Code, "%s", v)
		assert.Contains(t, v.Stdout, "missing metadata.name")
		g := generateIn(t, dir)
		refused(t, g, "")
		assert.Contains(t, g.Stderr, "missing apiVersion")
	})
}

// Row 10: control characters in file names and Vault error bodies are
// escaped; remote bodies are cut.
func TestHostileStderr(t *testing.T) {
	evil := "evil\n\x1b[31merror: forged.yaml"
	dir := writeApp(t, map[string]string{evil: "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata:\n  name: x\nspec: {}\n"})
	r := runHostile(t, rootEnv(), "render", dir)
	refused(t, r, "")
	clean(t, r.Stderr)
	assert.Contains(t, r.Stderr, `"evil\n\x1b[31merror: forged.yaml"`)
	g := generateIn(t, dir)
	refused(t, g, "")
	clean(t, g.Stderr)
	assert.Contains(t, g.Stderr, `"evil\n\x1b[31merror: forged.yaml"`)

	srv, err := StartCapture(Status)
	require.NoError(t, err)
	defer srv.Close()
	srv.SetStatus(500, []byte("bad\n\x1b[31merror: forged by the server "+strings.Repeat("z", 10000)))
	r = runHostile(t, []string{"VAULT_ADDR=" + srv.Addr, "VAULT_TOKEN=x"}, "render", examples("webapp"))
	refused(t, r, "")
	clean(t, r.Stderr)
	assert.Contains(t, r.Stderr, `bad\n\x1b[31merror: forged by the server`)
	assert.Contains(t, r.Stderr, "bytes cut)")
	assert.Less(t, len(r.Stderr), 4000)
}

// clean asserts that no control character but newline reached stderr, and
// no line was forged.
func clean(t *testing.T, s string) {
	t.Helper()
	assert.NotContains(t, s, "\x1b")
	for _, line := range strings.Split(s, "\n") {
		assert.False(t, strings.HasPrefix(line, "error: forged"), "forged line: %q", line)
	}
}
