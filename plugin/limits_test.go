package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Limits come from the flags, else from VAULTCMP_MAX_*, and each refusal
// names both; a bad variable is a usage error.
func TestLimitFlagsAndEnv(t *testing.T) {
	dir := t.TempDir()
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {k: " + strings.Repeat("v", 200) + "}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cm.yaml"), []byte(cm), 0o644))
	vss := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(vss, "vss.yaml"), []byte(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: default}
spec: {method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app}}
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: app}
spec: {type: kv-v2, mount: secret, path: app, refreshAfter: 1s, destination: {name: app, create: true}}
`), 0o644))
	for _, tc := range []struct {
		name     string
		vars     map[string]string
		args     []string
		code     int
		inStderr string
	}{
		{"within the defaults", nil, []string{"render", dir}, ExitOK, "rendered"},
		{"flag", nil, []string{"render", "--max-file-size=100", dir}, ExitProblems, "file cm.yaml is larger than the limit of 100B for one file read from the repository (raise it with --max-file-size or VAULTCMP_MAX_FILE_SIZE)"},
		{"env", map[string]string{"VAULTCMP_MAX_FILE_SIZE": "100"}, []string{"render", dir}, ExitProblems, "--max-file-size"},
		{"flag wins over env", map[string]string{"VAULTCMP_MAX_FILE_SIZE": "100"}, []string{"render", "--max-file-size=1MiB", dir}, ExitOK, ""},
		{"output size", nil, []string{"render", "--max-output-size=50", dir}, ExitProblems, "the output is larger than the limit of 50B"},
		{"bad env", map[string]string{"VAULTCMP_MAX_DEADLINE": "soon"}, []string{"render", dir}, ExitUsage, "VAULTCMP_MAX_DEADLINE"},
		{"bad flag", nil, []string{"render", "--max-input-size=lots", dir}, ExitUsage, "max-input-size"},
		{"validate", nil, []string{"validate", "--max-file-size=100", dir}, ExitProblems, ""},
		{"discover", nil, []string{"discover", "--max-file-size=100", dir}, ExitOK, "--max-file-size or VAULTCMP_MAX_FILE_SIZE"},
		{"refreshAfter below the floor", nil, []string{"render", "--offline", vss}, ExitProblems,
			"refreshAfter 1s is below the floor of 5s for refreshAfter of a VaultStaticSecret or VaultDynamicSecret (Vault reads of one object) (lower it with --min-refresh-after or VAULTCMP_MIN_REFRESH_AFTER)"},
		{"floor lowered by flag", nil, []string{"render", "--offline", "--min-refresh-after=1s", vss}, ExitOK, ""},
		{"floor lowered by env", map[string]string{"VAULTCMP_MIN_REFRESH_AFTER": "500ms"}, []string{"render", "--offline", vss}, ExitOK, ""},
		{"floor raised by env", map[string]string{"VAULTCMP_MIN_REFRESH_AFTER": "1m"}, []string{"render", "--offline", vss}, ExitProblems, "below the floor of 1m0s"},
		{"floor flag wins over env", map[string]string{"VAULTCMP_MIN_REFRESH_AFTER": "1m"}, []string{"render", "--offline", "--min-refresh-after=1s", vss}, ExitOK, ""},
		{"bad floor", map[string]string{"VAULTCMP_MIN_REISSUE_INTERVAL": "soon"}, []string{"render", vss}, ExitUsage, "VAULTCMP_MIN_REISSUE_INTERVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{EnvHMACKey: "k"}
			for k, v := range tc.vars {
				vars[k] = v
			}
			env, out, errb := testEnv(vars)
			code := Run(t.Context(), tc.args, env)
			assert.Equal(t, tc.code, code, errb.String())
			assert.Contains(t, errb.String(), tc.inStderr)
			if code != ExitOK && tc.args[0] == "render" {
				assert.Empty(t, out.String())
			}
		})
	}
}

// A run that does not return when its context ends is abandoned with
// nothing printed.
func TestInterruptible(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	printed := make(chan bool, 1)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	err := interruptible(ctx, func(c *committer) error {
		time.Sleep(3 * time.Second) // stuck, e.g. in a template
		printed <- c.commit()
		return nil
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "interrupted by a signal: nothing was printed")
	assert.Less(t, time.Since(start), 2500*time.Millisecond, "returned before the stuck work's 3 s")
	assert.False(t, <-printed, "the abandoned run must not print")
}
