package plugin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// render prints what generate prints by default: carriers, no Secret;
// --delivery inline prints the Secret (offline: its placeholders), for
// kubectl without the companion; any other value is a usage error.
func TestRenderDelivery(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: default, namespace: apps}
spec: {method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app}}
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: s, namespace: apps}
spec: {type: kv-v2, mount: secret, path: app/config, destination: {name: s-secret, create: true}}
`), 0o644))
	for _, tc := range []struct {
		name        string
		args        []string
		code        int
		in, notIn   []string
		errContains string
	}{
		{"default: a carrier in an early wave", []string{"render", "--offline", dir}, ExitOK,
			[]string{"name: vaultcmp-vss.s", "vaultcmp.io/delivery: in-cluster", `argocd.argoproj.io/sync-wave: "-1"`},
			[]string{"name: s-secret\n", "stringData"}, ""},
		{"inline on request", []string{"render", "--offline", "--delivery", "inline", dir}, ExitOK,
			[]string{"name: s-secret\n", "stringData", "vaultcmp.io/delivery: inline"}, []string{"vaultcmp-vss.s", "sync-wave"}, ""},
		{"in-cluster by name", []string{"render", "--offline", "--delivery=in-cluster", dir}, ExitOK,
			[]string{"name: vaultcmp-vss.s"}, []string{"stringData"}, ""},
		{"anything else", []string{"render", "--offline", "--delivery", "sometimes", dir}, ExitUsage, nil, nil, `--delivery "sometimes"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, out, errb := testEnv(map[string]string{EnvHMACKey: "k"})
			require.Equal(t, tc.code, Run(t.Context(), tc.args, env), errb.String())
			for _, s := range tc.in {
				assert.Contains(t, out.String(), s)
			}
			for _, s := range tc.notIn {
				assert.NotContains(t, out.String(), s)
			}
			assert.Contains(t, errb.String(), tc.errContains)
		})
	}
}
