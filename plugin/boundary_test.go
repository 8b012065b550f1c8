package plugin

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outsider is a file outside the repository that the sidecar holds (another
// team's cached token, the service-account token).
const outsiderContent = "hvs.another-teams-token"

// writeTree writes files (path → content; content "->target" makes a
// symlink) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		if target, ok := strings.CutPrefix(c, "->"); ok {
			require.NoError(t, os.Symlink(target, full))
			continue
		}
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
}

const chartYAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"

// TestRepositoryStaysInsideItself: no source type (directory, kustomize,
// Helm) lets a repository read a file outside itself, in any command.
func TestRepositoryStaysInsideItself(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "token")
	require.NoError(t, os.WriteFile(secret, []byte(outsiderContent), 0o600))
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"

	var hits atomic.Int64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: remote}\n"))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	remote := "http://" + l.Addr().String() + "/cm.yaml"

	tests := []struct {
		name  string
		files map[string]string
		args  []string // after the command; "APP" stands for the app dir
		want  string
	}{
		{"plain directory: symlinked file", map[string]string{".git/HEAD": "", "app/cm.yaml": cm, "app/token.yaml": "->" + secret},
			nil, "leads outside the repository"},
		{"plain directory: symlinked directory", map[string]string{".git/HEAD": "", "app/cm.yaml": cm, "app/etc": "->" + outside},
			nil, "leads outside the repository"},
		{"app directory itself", map[string]string{".git/HEAD": "", "elsewhere": "->" + outside},
			[]string{"elsewhere"}, "leads outside the repository"},
		{"Helm .Files.Get on a symlink", map[string]string{".git/HEAD": "", "app/Chart.yaml": chartYAML,
			"app/files/token":       "->" + secret,
			"app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {t: {{ .Files.Get \"files/token\" | quote }}}\n"},
			nil, "leads outside the repository"},
		{"Helm .Files.Glob through a symlinked directory", map[string]string{".git/HEAD": "", "app/Chart.yaml": chartYAML,
			"app/files":             "->" + outside,
			"app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {{ (.Files.Glob \"files/*\").AsConfig | nindent 2 }}\n"},
			nil, "leads outside the repository"},
		{"Helm values file symlinked out", map[string]string{".git/HEAD": "", "app/Chart.yaml": chartYAML, "app/v.yaml": "->" + secret,
			"app/templates/cm.yaml": cm},
			[]string{"--helm-values", "v.yaml"}, "leads outside the repository"},
		{"Helm values file outside", map[string]string{".git/HEAD": "", "app/Chart.yaml": chartYAML, "app/templates/cm.yaml": cm},
			[]string{"--helm-values", "OUTSIDE"}, "leads outside the repository"},
		{"kustomize http resource", map[string]string{".git/HEAD": "", "app/kustomization.yaml": "resources: [" + remote + "]\n"},
			nil, "is remote"},
		{"kustomize git resource", map[string]string{".git/HEAD": "", "app/kustomization.yaml": "resources: ['github.com/org/repo//deploy?ref=v1']\n"},
			nil, "is remote"},
		{"kustomize resource that does not exist", map[string]string{".git/HEAD": "", "app/kustomization.yaml": "resources: [example.com/org/repo]\n"},
			nil, "is not a file or directory of the repository"},
		{"kustomize file:// repository", map[string]string{".git/HEAD": "", "app/kustomization.yaml": "resources: ['file://" + outside + "']\n"},
			nil, "is remote"},
		{"kustomize resource directory outside", map[string]string{".git/HEAD": "", "app/kustomization.yaml": "resources: ['" + outside + "']\n"},
			nil, "leads outside the repository"},
		{"kustomize base symlinked out", map[string]string{".git/HEAD": "", "app/kustomization.yaml": "resources: [base]\n", "app/base": "->" + outside},
			nil, "leads outside the repository"},
		{"kustomize configMapGenerator from a URL", map[string]string{".git/HEAD": "", "app/kustomization.yaml": "configMapGenerator: [{name: x, files: ['k=" + remote + "']}]\n"},
			nil, "is remote"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			writeTree(t, repo, tc.files)
			app := filepath.Join(repo, "app")
			args := tc.args
			if len(args) == 1 && args[0] == "elsewhere" {
				app, args = filepath.Join(repo, "elsewhere"), nil
			}
			if len(args) == 2 && args[1] == "OUTSIDE" {
				rel, err := filepath.Rel(app, secret)
				require.NoError(t, err)
				args = []string{args[0], rel}
			}
			for _, cmd := range []string{"render", "validate"} {
				env, out, errb := testEnv(map[string]string{EnvHMACKey: "k"})
				code := Run(t.Context(), append(append([]string{cmd}, args...), app), env)
				assert.Equal(t, ExitProblems, code, "%s: %s", cmd, errb.String())
				if cmd == "render" {
					assert.Empty(t, out.String(), cmd)
				} // validate reports on stdout
				assert.Contains(t, errb.String()+out.String(), tc.want, cmd)
				assert.NotContains(t, errb.String()+out.String(), outsiderContent, cmd)
			}
			env, out, _ := testEnv(nil)
			assert.Equal(t, ExitOK, Run(t.Context(), []string{"discover", app}, env))
			assert.NotContains(t, out.String(), outsiderContent)
		})
	}
	assert.Zero(t, hits.Load(), "the remote server was reached")
}

// TestSymlinksInsideTheRepository: links that stay inside keep working.
func TestSymlinksInsideTheRepository(t *testing.T) {
	repo := t.TempDir()
	writeTree(t, repo, map[string]string{
		".git/HEAD":                  "",
		"shared/values.yaml":         "name: fromshared\n",
		"app/Chart.yaml":             chartYAML,
		"app/v.yaml":                 "->../shared/values.yaml",
		"app/templates/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Values.name }}}\n",
		"base/cm.yaml":               "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\n",
		"base/kustomization.yaml":    "resources: [cm.yaml]\n",
		"overlay/kustomization.yaml": "resources: [../base]\n",
	})
	env, out, errb := testEnv(map[string]string{EnvHMACKey: "k"})
	require.Equal(t, ExitOK, Run(t.Context(), []string{"render", "--helm-values", "v.yaml", filepath.Join(repo, "app")}, env), errb.String())
	assert.Contains(t, out.String(), "fromshared")
	env, out, errb = testEnv(map[string]string{EnvHMACKey: "k"})
	require.Equal(t, ExitOK, Run(t.Context(), []string{"render", filepath.Join(repo, "overlay")}, env), errb.String())
	assert.Contains(t, out.String(), "name: k")
}

// TestDiscoverFindsTheRepositoryRoot: the cmp-server runs discover in the
// app's directory ("."), with the app's path in ARGOCD_APP_SOURCE_PATH; a
// base elsewhere in the repository is inside it.
func TestDiscoverFindsTheRepositoryRoot(t *testing.T) {
	repo := t.TempDir()
	writeTree(t, repo, map[string]string{
		"apps/kustomize/kustomization.yaml": "resources: [../kbase]\n",
		"apps/kbase/kustomization.yaml":     "resources: [s.yaml]\n",
		"apps/kbase/s.yaml":                 "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: x}\nspec: {type: kv-v2, mount: secret, path: a, destination: {name: x, create: true}}\n",
	})
	t.Chdir(filepath.Join(repo, "apps", "kustomize"))
	env, out, errb := testEnv(map[string]string{"ARGOCD_APP_SOURCE_PATH": "apps/kustomize"})
	require.Equal(t, ExitOK, Run(t.Context(), []string{"discover"}, env))
	assert.Equal(t, "kustomization\n", out.String(), errb.String())
}
