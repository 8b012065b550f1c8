package plugin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/renderer"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Environment variables read by render and generate.
const (
	EnvVaultAddr           = "VAULT_ADDR"
	EnvVaultToken          = "VAULT_TOKEN"
	EnvDefaultVaultAddress = "VAULTCMP_DEFAULT_VAULT_ADDRESS"
	EnvNamespace           = "VAULTCMP_NAMESPACE"
	EnvHMACKey             = "VAULTCMP_HMAC_KEY"
	EnvHMACKeyFile         = "VAULTCMP_HMAC_KEY_FILE"
	EnvTokenCacheDir       = "VAULTCMP_TOKEN_CACHE_DIR"
	// EnvArgoCDNamespace is Argo CD's namespace, where an Application that
	// ARGOCD_APP_NAME names without a namespace lives (generate); default:
	// the sidecar's own namespace.
	EnvArgoCDNamespace = "VAULTCMP_ARGOCD_NAMESPACE"
	EnvVaultCACert     = "VAULT_CACERT"
)

// commonFlags are the settings render and generate share.
type commonFlags struct {
	limits              limitFlags
	defaultVaultAddress string
	concurrency         int
	hmacKeyFile         string
	logLevel            string
	logFormat           string
	allowedAddresses    []string
	vaultCACert         string
	platform            platformFlags
}

func (f *commonFlags) register(cmd *cobra.Command, env Env, logLevel string) {
	fl := cmd.Flags()
	fl.StringVar(&f.defaultVaultAddress, "default-vault-address", env.get(EnvDefaultVaultAddress),
		"Vault address when no VaultConnection applies (like VSO's defaultVaultConnection) [$"+EnvDefaultVaultAddress+"]")
	fl.IntVar(&f.concurrency, "concurrency", 16, "Vault requests in flight at most")
	fl.StringVar(&f.hmacKeyFile, "hmac-key-file", env.get(EnvHMACKeyFile),
		"file with the installation's key, of the rollout checksums and the carriers' seals [$"+EnvHMACKeyFile+"; or the key itself in $"+EnvHMACKey+"]")
	fl.StringArrayVar(&f.allowedAddresses, "allowed-vault-address", nil,
		"a Vault address (scheme://host[:port]) credentials may be sent to; repeatable, added to $"+vault.EnvAllowedVaultAddresses+" (comma-separated)")
	fl.StringVar(&f.vaultCACert, "vault-cacert", env.get(EnvVaultCACert),
		"PEM file with the CA of Vault's TLS certificate, for VaultConnections without caCertSecretRef [$"+EnvVaultCACert+"]")
	fl.StringVar(&f.logLevel, "log-level", logLevel, "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "console", "log format on stderr: console or json")
	f.limits.register(cmd, env)
	f.platform.register(cmd, env)
}

// renderFlags are render's own settings.
type renderFlags struct {
	commonFlags
	source      sourceFlags
	offline     bool
	application string
	delivery    string
}

func newRenderCommand(env Env) *cobra.Command {
	var f renderFlags
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Render an app's manifests with Secrets from Vault, to stdout",
		Long: `render reads DIR (default: the current directory) -- a plain directory of
YAML/JSON manifests, a kustomization or a Helm chart -- and prints it with
every Vault object replaced by what Argo CD would apply (generate's output).

Delivery (--delivery), as in Argo CD:
  in-cluster (default): no value is printed. Each Vault object becomes a
           carrier (its contract with the vaultcmp companion, and for
           static secrets the KV version or a keyed HMAC, never a value);
           the companion in the cluster writes the Secret. Deploy the output
           with kubectl to a cluster that runs the companion.
  inline:  VaultStaticSecrets become Secrets with their values, read from
           Vault now (dynamic and PKI secrets stay carriers). For CI jobs
           that deploy with kubectl and no companion. The values are on
           stdout: whatever keeps the output (CI logs, artifacts, git)
           keeps them.

Where Vault is and who you are:
  address: $VAULT_ADDR, else the VaultConnection of the VaultAuth,
           else --default-vault-address
  login:   $VAULT_TOKEN (only with $VAULT_ADDR), else the VaultAuth
           (appRole/jwt: secretRef read from $VAULTCMP_SECRET_<NAME>_<KEY>)
  CA:      caCertSecretRef read from $VAULTCMP_SECRET_<NAME>_CA_CRT, else
           --vault-cacert / $VAULT_CACERT
  refs:    the app's own objects, then --platform-dir's (VSO's platform
           objects; empty refs: "default" of --platform-namespace)
With $VAULTCMP_ALLOWED_VAULT_ADDRESSES (or --allowed-vault-address) set,
credentials go to no other Vault address. A manifest never makes render
read a local file.

With --offline, no Vault is needed: inline Secrets hold placeholders, and
carriers no KV version.
Nothing is printed on stdout unless every object renders.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			var token string
			if !f.offline {
				token = env.get(EnvVaultToken)
			}
			if f.delivery != contract.DeliveryInCluster && f.delivery != contract.DeliveryInline {
				return &exitError{code: ExitUsage, err: fmt.Errorf("--delivery %q: want %s (the default) or %s", f.delivery, contract.DeliveryInCluster, contract.DeliveryInline)}
			}
			if token != "" && env.get(EnvVaultAddr) == "" {
				return &exitError{code: ExitUsage, err: errors.New("VAULT_TOKEN is set but VAULT_ADDR is not: the token would go to whatever address the manifests name; set VAULT_ADDR to your Vault")}
			}
			return runApp(cmd, env, appRun{
				flags: &f.commonFlags, source: f.source, dir: dir,
				opts: renderer.Options{
					Namespace:           f.source.namespace,
					DefaultVaultAddress: f.defaultVaultAddress,
					VaultAddress:        env.get(EnvVaultAddr),
					VaultToken:          token,
					Credentials:         credentials.Env{LookupEnv: env.LookupEnv},
					Offline:             f.offline,
					Application:         f.application,
					Delivery:            f.delivery,
				},
			})
		},
	}
	f.register(cmd, env, "info")
	f.source.register(cmd, env)
	cmd.Flags().BoolVar(&f.offline, "offline", false, "no Vault: Secrets hold placeholders (for CI lint and diff)")
	cmd.Flags().StringVar(&f.delivery, "delivery", contract.DeliveryInCluster,
		"where static secrets' values are written: in-cluster (carriers, the companion writes the Secrets; no value printed) or inline (Secrets with their values on stdout, for kubectl without the companion; whatever keeps the output keeps the values); an object's vaultcmp.io/delivery annotation wins")
	cmd.Flags().StringVar(&f.application, "application", "",
		"the Argo CD Application that will own the carriers (generate: $ARGOCD_APP_NAME), sealed into them: the only one the companion refreshes")
	return cmd
}

// appRun is one render of an app, by render or generate.
type appRun struct {
	flags  *commonFlags
	source sourceFlags
	dir    string
	opts   renderer.Options
	cache  vault.TokenCache
	// requireAllowList: no allow-list means no credential leaves (generate).
	requireAllowList bool
}

// allowList is the operator's allow-list from $VAULTCMP_ALLOWED_VAULT_ADDRESSES
// and --allowed-vault-address. Unset gives nil (nothing enforced) unless
// required, when it gives the empty list (nothing allowed).
func (f *commonFlags) allowList(env Env, required bool) (*vault.AllowList, error) {
	v, set := env.LookupEnv(vault.EnvAllowedVaultAddresses)
	if !set && len(f.allowedAddresses) == 0 && !required {
		return nil, nil
	}
	l, err := vault.ParseAllowList(append([]string{v}, f.allowedAddresses...)...)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// maxCACertBytes bounds the CA bundle read from --vault-cacert.
const maxCACertBytes = 1 << 20

// caCert reads the CA bundle the person running vaultcmp named.
func (f *commonFlags) caCert() ([]byte, error) {
	if f.vaultCACert == "" {
		return nil, nil
	}
	b, err := readBounded(f.vaultCACert, maxCACertBytes)
	if err != nil {
		return nil, fmt.Errorf("--vault-cacert / $%s: %w", EnvVaultCACert, err)
	}
	return b, nil
}

// runApp renders within the limits: the deadline, and SIGTERM, end it at any
// point with nothing on stdout (see interruptible).
func runApp(cmd *cobra.Command, env Env, a appRun) error {
	lim, err := a.flags.limits.limits()
	if err != nil {
		return err
	}
	ctx, cancel := withDeadline(cmd.Context(), lim)
	defer cancel()
	return interruptible(ctx, func(c *committer) error { return renderApp(ctx, env, a, lim, c) })
}

// writeOutput streams the encoded output to stdout through a buffer.
func writeOutput(stdout io.Writer, out *renderer.Output) error {
	bw := bufio.NewWriterSize(stdout, 64<<10)
	if _, err := out.WriteTo(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the output: %w", err)
	}
	return nil
}

func renderApp(ctx context.Context, env Env, a appRun, lim limits.Limits, c *committer) error {
	log, err := newLogger(env, a.flags.logLevel, a.flags.logFormat)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	stopProfiles, err := startProfiles(env)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	defer stopProfiles()
	start := time.Now()
	a.source.limits = lim
	objs, err := a.source.load(ctx, a.dir, a.opts.Namespace)
	if err != nil {
		return &exitError{code: ExitProblems, err: err}
	}
	key, keyErr := loadHMACKey(env, a.flags.hmacKeyFile)
	if keyErr != nil {
		log.Debug().Err(keyErr).Msg("no HMAC key; rollout targets and the token cache need one")
	}
	allow, err := a.flags.allowList(env, a.requireAllowList)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if a.opts.CACert, err = a.flags.caCert(); err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	if a.opts.Platform, err = a.flags.platform.load(lim); err != nil {
		return err
	}
	session := vault.NewSession(vault.Options{Concurrency: a.flags.concurrency, TokenCache: a.cache, CacheKeyHMAC: key,
		AllowList: allow, MaxResponse: orNoLimit(lim.VaultResponse)})
	a.opts.Vault, a.opts.HMACKey, a.opts.Limits = session, key, lim
	res, err := renderer.Render(ctx, objs, a.opts)
	st := session.Stats()
	summary := func(e *zerolog.Event) *zerolog.Event {
		return e.Int("objects", len(objs)).Int64("vault_reads", st.Reads).Int64("logins", st.Logins).
			Int64("cached_tokens", st.CachedTokens).Int64("cache_hits", st.CacheHits).
			Str("duration", time.Since(start).Round(time.Millisecond).String())
	}
	if err != nil {
		var probs renderer.Problems
		if errors.As(err, &probs) {
			// Info: generate (level warn) leaves Argo CD only the problems themselves.
			summary(log.Info()).Int("problems", len(probs)).Msg("render failed")
			return &exitError{code: ExitProblems, err: err}
		}
		if keyErr != nil {
			err = fmt.Errorf("%w (%w)", err, keyErr)
		}
		return &exitError{code: ExitProblems, err: err}
	}
	for _, w := range res.Warnings {
		log.Warn().Msg(w)
	}
	t0 := time.Now()
	out, err := res.Encode() // the whole output, before anything is printed
	if err != nil {
		return &exitError{code: ExitProblems, err: err}
	}
	if lim.OutputSize > 0 && out.Len() > lim.OutputSize {
		return &exitError{code: ExitProblems, err: limits.Exceeded(limits.OutputSize, lim.OutputSize, "the output")}
	}
	if e := log.Debug(); e.Enabled() { // ReadMemStats stops the world: only when asked
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		e.Dur("decode", res.Stats.Decode).Dur("plan", res.Stats.Plan).Dur("fetch", res.Stats.Fetch).
			Dur("emit", res.Stats.Emit).Dur("write", time.Since(t0)).Uint64("go_sys_bytes", ms.Sys).Msg("phases")
	}
	if !c.commit() {
		return &exitError{code: ExitProblems, err: interruptedError(ctx)}
	}
	err = writeOutput(env.Stdout, out)
	c.done()
	if err != nil {
		return &exitError{code: ExitProblems, err: err}
	}
	summary(log.Info()).Int("secrets", res.Stats.StaticSecrets).Int("in_cluster", res.Stats.InCluster).
		Int("output", res.Stats.Output).Msg("rendered")
	return nil
}
