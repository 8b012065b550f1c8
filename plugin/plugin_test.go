package plugin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testEnv(vars map[string]string) (Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return Env{
		Stdout: &out, Stderr: &errb,
		LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		Getwd:     os.Getwd,
	}, &out, &errb
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644))
	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, "s.yaml"), []byte("apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: x}\nspec: {}\n"), 0o644))
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		inStderr string
	}{
		{"plain objects render without Vault", []string{"render", dir}, ExitOK, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", "rendered"},
		{"unknown flag", []string{"render", "--nope", dir}, ExitUsage, "", "unknown flag"},
		{"bad log format", []string{"render", "--log-format", "xml", dir}, ExitUsage, "", "--log-format"},
		{"missing directory", []string{"render", filepath.Join(dir, "missing")}, ExitProblems, "", "no such file"},
		{"invalid object", []string{"render", bad}, ExitProblems, "", "spec.mount: Required value"},
		{"version", []string{"version"}, ExitOK, "devel\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, out, errb := testEnv(map[string]string{EnvHMACKey: "k"})
			code := Run(t.Context(), tc.args, env)
			assert.Equal(t, tc.code, code, errb.String())
			assert.Equal(t, tc.stdout, out.String())
			assert.Contains(t, errb.String(), tc.inStderr)
		})
	}
}

func TestHMACKey(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	env, _, _ := testEnv(nil)
	k1, err := loadHMACKey(env, "")
	require.NoError(t, err)
	assert.Len(t, k1, 64)
	k2, err := loadHMACKey(env, "")
	require.NoError(t, err)
	assert.Equal(t, k1, k2, "the per-installation key is stable")
	dir, _ := os.UserConfigDir()
	st, err := os.Stat(filepath.Join(dir, "vaultcmp", "hmac-key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	f := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(f, []byte("from-file\n"), 0o600))
	k, err := loadHMACKey(env, f)
	require.NoError(t, err)
	assert.Equal(t, "from-file", string(k))

	env, _, _ = testEnv(map[string]string{EnvHMACKey: "from-env"})
	k, err = loadHMACKey(env, f)
	require.NoError(t, err)
	assert.Equal(t, "from-env", string(k))
}

// writeCounter is a stdout that records every Write.
type writeCounter struct{ writes, bytes int }

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes++
	w.bytes += len(p)
	return len(p), nil
}

func TestNothingPrintedOnLateFailure(t *testing.T) {
	// Enough documents to fill the stdout buffer several times: an output
	// one byte over the limit fails only at its last document.
	dir := t.TempDir()
	var app strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&app, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm%04d}\ndata: {k: value-%04d}\n", i, i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(app.String()), 0o644))
	env, out, errb := testEnv(map[string]string{EnvHMACKey: "k"})
	require.Equal(t, ExitOK, Run(t.Context(), []string{"render", dir}, env), errb.String())
	full := out.Len()
	require.Greater(t, full, 4*(64<<10), "the output spans several buffered writes")

	for _, tc := range []struct {
		name  string
		limit int
		code  int
	}{
		{"one byte over the limit", full - 1, ExitProblems},
		{"at the limit", full, ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, errb := testEnv(map[string]string{EnvHMACKey: "k"})
			var stdout writeCounter
			env.Stdout = &stdout
			code := Run(t.Context(), []string{"render", fmt.Sprintf("--max-output-size=%d", tc.limit), dir}, env)
			assert.Equal(t, tc.code, code, errb.String())
			if tc.code != ExitOK {
				assert.Zero(t, stdout.writes, "nothing on stdout")
				assert.Contains(t, errb.String(), "the output is larger than the limit")
				return
			}
			assert.Equal(t, full, stdout.bytes)
			assert.Less(t, stdout.writes, 5000/10, "stdout is written through a buffer, not once per document")
		})
	}
}

// TestHelmReleaseName: the release name of Argo CD's Helm source, so a
// chart's names agree between vaultcmp and Argo CD.
func TestHelmReleaseName(t *testing.T) {
	for _, tc := range []struct{ param, app, want string }{
		{"", "web", "web"},
		{"", "team-a_web", "web"}, // an app outside Argo CD's namespace
		{"rel", "team-a_web", "rel"},
		{"", "", ""},
	} {
		assert.Equal(t, tc.want, helmReleaseName(tc.param, tc.app), "%q %q", tc.param, tc.app)
	}
}
