package plugin

import (
	"errors"
	"time"

	"github.com/go-logr/zerologr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vaultcmp/vaultcmp/companion"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

func newCompanionCommand(env Env) *cobra.Command {
	var (
		kubeconfig, metricsAddr, healthAddr, leNS, argoNS, hmacFile, logLevel, logFormat string
		metricsCertDir                                                                   string
		leaderElect, metricsSecure                                                       bool
		allowed                                                                          []string
		concurrency, maxIdentities                                                       int
		maxBackoff                                                                       time.Duration
		floors                                                                           limitFlags
		templates                                                                        companionTemplates
		instanceLabelKey                                                                 string
	)
	cmd := &cobra.Command{
		Use:   "companion",
		Short: "Run the in-cluster companion: fills and renews the Secrets generate leaves to it",
		Long: `Runs a controller (leader election, /healthz, /readyz, /metrics) that watches
vaultcmp's carriers (Secrets of type vaultcmp.io/contract-v1) and fills their
destination Secrets from Vault: dynamic credentials with lease renewal, PKI
certificates re-issued before expiry, in-cluster static secrets; rollout
restarts after each change; Argo CD hard refreshes when a static secret with
refreshAfter changed in Vault (inline: so Argo CD applies it; in-cluster:
so Argo CD shows the carrier's diff, with no value). Credentials go only to the Vault addresses allowed by
--allowed-vault-address / ` + vault.EnvAllowedVaultAddresses + ` (required).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lg, err := newLogger(env, logLevel, logFormat)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			list, err := vault.ParseAllowList(append([]string{env.get(vault.EnvAllowedVaultAddresses)}, allowed...)...)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			var cfg *rest.Config
			if kubeconfig != "" {
				cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
			} else {
				cfg, err = rest.InClusterConfig()
				if errors.Is(err, rest.ErrNotInCluster) {
					err = errors.New("not in a cluster: set --kubeconfig")
				}
			}
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			key, err := loadHMACKey(env, hmacFile)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			lim, err := floors.limits()
			if err != nil {
				return err
			}
			opts := companion.Options{
				Config: cfg, MetricsAddress: metricsAddr, MetricsInsecure: !metricsSecure, MetricsCertDir: metricsCertDir, HealthAddress: healthAddr,
				LeaderElect: leaderElect, LeaderElectionNamespace: leNS, ArgoNamespace: argoNS,
				AllowList: list, HMACKey: key, Concurrency: concurrency, MaxBackoff: maxBackoff, Limits: lim,
				MaxVaultIdentities: maxIdentities,
				Logger:             zerologr.New(&lg),
			}
			if opts.InstanceLabelKey, err = instanceLabel(env, instanceLabelKey); err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if err := templates.options(&opts); err != nil {
				return err
			}
			err = companion.Run(cmd.Context(), opts)
			if errors.Is(err, companion.ErrNoAllowList) {
				return &exitError{code: ExitUsage, err: err}
			}
			if err != nil {
				return &exitError{code: ExitProblems, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: the in-cluster config)")
	f.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of /metrics (\"0\" disables)")
	f.BoolVar(&metricsSecure, "metrics-secure", true, "serve /metrics over HTTPS to clients the apiserver authenticates (TokenReview) and authorizes (get on /metrics); false: plain HTTP to anyone, for local use only")
	f.StringVar(&metricsCertDir, "metrics-cert-dir", "", "directory with tls.crt and tls.key for /metrics (default: a self-signed certificate made at start)")
	f.StringVar(&healthAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.BoolVar(&leaderElect, "leader-elect", false, "elect a leader on a Lease, so several replicas can run")
	f.StringVar(&leNS, "leader-election-namespace", "", "namespace of the Lease (default: the pod's)")
	f.StringVar(&argoNS, "argocd-namespace", "argocd", "namespace of Argo CD's Applications (hard refresh when a static secret changed in Vault)")
	f.StringVar(&instanceLabelKey, "argocd-instance-label-key", "", "Argo CD's application.instanceLabelKey when argocd-cm sets one (also "+contract.EnvInstanceLabelKey+"): never copied onto a Secret the companion writes")
	f.StringArrayVar(&allowed, "allowed-vault-address", nil, "a Vault address credentials may be sent to (repeatable; also "+vault.EnvAllowedVaultAddresses+")")
	f.StringVar(&hmacFile, "hmac-key-file", "", "the installation's HMAC key, the sidecar's (or "+EnvHMACKey+")")
	f.IntVar(&concurrency, "concurrency", 16, "carriers reconciled at once")
	f.DurationVar(&maxBackoff, "max-backoff", time.Minute, "longest wait between retries of a failing carrier (a permanent error is retried at this interval)")
	f.IntVar(&maxIdentities, "max-vault-identities", vault.DefaultMaxClients, "Vault identities (logged-in clients) kept; one holding leases is never dropped, so at the limit a new identity is refused (its carriers say so)")
	floors.registerFloors(cmd, env)
	templates.register(cmd, env)
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "json", "console or json (stderr)")
	return cmd
}
