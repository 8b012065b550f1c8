package plugin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/vaultcmp/vaultcmp/cmp"
	"github.com/vaultcmp/vaultcmp/kube"
	"github.com/vaultcmp/vaultcmp/renderer"
	"github.com/vaultcmp/vaultcmp/vault"
)

func newGenerateCommand(env Env) *cobra.Command {
	var f commonFlags
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Argo CD's generate: render the app in the current directory for the cmp-server",
		Long: `generate is what Argo CD's cmp-server runs (see plugin.yaml). It renders the
app in the current directory for the Application described by the build
environment (ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE, ARGOCD_APP_PARAMETERS, ...),
logging in to Vault as the app's own service accounts (a TokenRequest in the
destination namespace). VAULT_ADDR and VAULT_TOKEN are ignored: one identity
for all apps is what vaultcmp avoids. Vault tokens are cached in
$VAULTCMP_TOKEN_CACHE_DIR (default: the user cache directory) until they near
expiry. Credentials go only to the Vault addresses in
$VAULTCMP_ALLOWED_VAULT_ADDRESSES (or --allowed-vault-address): unset, none
leaves. When the output would hold a value (an inline object), generate reads
the Application (ARGOCD_APP_NAME, in $VAULTCMP_ARGOCD_NAMESPACE or the
sidecar's own namespace) and refuses if Argo CD's Source Hydrator renders it
(its output is committed to git) or if it cannot be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			be, err := cmp.FromEnviron(env.LookupEnv)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if be.Namespace == "" {
				return &exitError{code: ExitUsage, err: errors.New("ARGOCD_APP_NAMESPACE is not set: generate runs under Argo CD's cmp-server (use `vaultcmp render` elsewhere)")}
			}
			dir, err := env.Getwd()
			if err != nil {
				return &exitError{code: ExitProblems, err: err}
			}
			// client-go's own log lines (throttling, retries) would reach
			// Argo CD's UI through stderr: generate reports what matters.
			klog.SetLogger(logr.Discard())
			creds, err := kube.New()
			if err != nil {
				return &exitError{code: ExitProblems, err: err}
			}
			cacheDir := env.get(EnvTokenCacheDir)
			if cacheDir == "" {
				base, err := os.UserCacheDir()
				if err != nil {
					return &exitError{code: ExitProblems, err: errors.New("no cache directory for Vault tokens: set " + EnvTokenCacheDir)}
				}
				cacheDir = filepath.Join(base, "vaultcmp", "tokens")
			}
			release := helmReleaseName(be.Params.HelmReleaseName, be.AppName)
			return runApp(cmd, env, appRun{
				flags: &f,
				dir:   dir,
				source: sourceFlags{
					namespace: be.Namespace, helmReleaseName: release, helmValuesFiles: be.Params.HelmValuesFiles,
					helmSet: setList(be.Params.HelmParameters), kubeVersion: be.KubeVersion, apiVersions: be.APIVersions,
					repoRoot: repoRoot(dir, be.SourcePath), allowRemote: envBool(env, renderer.EnvKustomizeAllowRemote),
				},
				opts: renderer.Options{
					Namespace:           be.Namespace,
					Application:         be.AppName,
					DefaultVaultAddress: f.defaultVaultAddress,
					Credentials:         creds,
					Delivery:            be.Params.Delivery,
					InlineCheck:         hydratorCheck(env, be, creds),
					Tenancy:             true,
				},
				cache:            &vault.FileTokenCache{Dir: cacheDir},
				requireAllowList: true,
			})
		},
	}
	f.register(cmd, env, "warn")
	return cmd
}

// helmReleaseName is the release name Argo CD's Helm source uses: the
// parameter, else the app's name without the "<namespace>_" that Argo CD
// puts before the name of an app outside its own namespace.
func helmReleaseName(param, app string) string {
	if param != "" {
		return param
	}
	if _, name, ok := strings.Cut(app, "_"); ok && name != "" {
		return name
	}
	return app
}

// hydratorCheck refuses inline values for an Application that Argo CD's
// Source Hydrator renders (its output is committed to git): it reads the
// Application only when the output would hold a value (cmp.CheckInline).
func hydratorCheck(env Env, be *cmp.BuildEnv, creds *kube.Credentials) func(context.Context, []string) error {
	return func(ctx context.Context, inline []string) error {
		return cmp.CheckInline(inline, lookupApplication(ctx, env, be.AppName, creds), be.KubeVersion)
	}
}

// lookupApplication reads the Application that ARGOCD_APP_NAME names.
func lookupApplication(ctx context.Context, env Env, appName string, creds *kube.Credentials) cmp.AppLookup {
	controlNS := env.get(EnvArgoCDNamespace)
	if controlNS == "" && !strings.ContainsAny(appName, "/_") {
		ns, err := kube.Namespace()
		if err != nil {
			return cmp.AppLookup{Err: err}
		}
		controlNS = ns
	}
	ref, err := cmp.ParseAppName(appName, controlNS)
	if err != nil {
		return cmp.AppLookup{Err: err}
	}
	app, found, err := creds.Application(ctx, ref.Namespace, ref.Name)
	switch {
	case err != nil:
		return cmp.AppLookup{App: ref, Err: err}
	case !found:
		return cmp.AppLookup{App: ref, State: cmp.AppNotFound}
	case app.SourceHydrator:
		return cmp.AppLookup{App: ref, State: cmp.AppHydrated}
	default:
		return cmp.AppLookup{App: ref, State: cmp.AppPlain}
	}
}

func setList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// repoRoot is the checkout's root: dir minus the app's path in the repository.
func repoRoot(dir, sourcePath string) string {
	root, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for p := filepath.Clean(sourcePath); p != "." && p != "/" && p != ""; p = filepath.Dir(p) {
		root = filepath.Dir(root)
	}
	return root
}

func baseName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "release"
	}
	return filepath.Base(abs)
}
