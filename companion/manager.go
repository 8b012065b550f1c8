package companion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/transform"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Options configure the companion process.
type Options struct {
	Config                  *rest.Config
	MetricsAddress          string // "0" disables
	MetricsInsecure         bool   // plain HTTP, no authentication: local use only (serve.go)
	MetricsCertDir          string // tls.crt and tls.key of /metrics; default self-signed
	HealthAddress           string
	LeaderElect             bool
	LeaderElectionNamespace string
	LeaderElectionID        string // default "vaultcmp-companion"
	ArgoNamespace           string // default "argocd"
	AllowList               vault.AllowList
	HMACKey                 []byte
	Concurrency             int           // reconciles in parallel; default 16
	MaxBackoff              time.Duration // default 1 minute

	// Limits holds the floors on schedules (--min-*, VAULTCMP_MIN_*); the
	// zero value means limits.Default().
	Limits limits.Limits
	// Templates: see TemplateRunner. TemplateCommand defaults to this
	// executable with TemplateBuildCommand; TemplateBounds to
	// transform.DefaultBounds().
	TemplateCommand []string
	TemplateBounds  *transform.Bounds
	TemplateBuilds  int
	TemplateMemory  int64
	// MaxVaultIdentities bounds the Vault identities (logged-in clients)
	// kept; default vault.DefaultMaxClients. Identities holding leases are
	// never dropped: at the limit a new identity is refused (its carriers
	// say so), see vault/identities.go.
	MaxVaultIdentities int
	Logger             logr.Logger
	// InstanceLabelKey is Argo CD's application.instanceLabelKey when the
	// installation changed it (--argocd-instance-label-key).
	InstanceLabelKey string
}

// ErrNoAllowList is returned when no Vault address is allowed: the companion
// would send no credential anywhere, so it refuses to start.
var ErrNoAllowList = errors.New("no Vault address is allowed: set --allowed-vault-address or " + vault.EnvAllowedVaultAddresses +
	" to the Vault addresses the companion may send service-account tokens to")

// Run runs the companion until ctx ends (graceful shutdown).
func Run(ctx context.Context, opts Options) error {
	if opts.AllowList.Len() == 0 {
		return ErrNoAllowList
	}
	if len(opts.HMACKey) == 0 {
		return errors.New("no HMAC key: set VAULTCMP_HMAC_KEY or --hmac-key-file (the sidecar's key)")
	}
	if opts.ArgoNamespace == "" {
		opts.ArgoNamespace = "argocd"
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = "vaultcmp-companion"
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	ctrl.SetLogger(opts.Logger)
	// client-go's default (5 requests/s) would throttle a few hundred
	// renewals a minute; a renewal costs about four API requests.
	cfg := rest.CopyConfig(opts.Config)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 100, 200
	}
	opts.Config = cfg
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	// Only carriers are cached, without data (cache.go): memory bounded by
	// the number of carriers, not by the Secrets in the cluster.
	cacheOpts, err := carrierCacheOptions()
	if err != nil {
		return err
	}
	metricsOpts, err := metricsOptions(opts)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(opts.Config, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        opts.HealthAddress,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOpts,
	})
	if err != nil {
		return fmt.Errorf("starting the controller manager: %w", err)
	}
	kube, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(opts.Config)
	if err != nil {
		return err
	}
	r := &Reconciler{
		Client:  mgr.GetClient(),
		Kube:    kube,
		Dynamic: dyn,
		Vault: vault.NewLifecycle(vault.LifecycleOptions{AllowList: opts.AllowList, MaxClients: opts.MaxVaultIdentities,
			LimitHint: "raise the companion's --max-vault-identities"}),
		Recorder:      mgr.GetEventRecorderFor("vaultcmp-companion"), //nolint:staticcheck // core/v1 Events: what kubectl describe shows
		Metrics:       NewMetrics(metrics.Registry),
		HMACKey:       opts.HMACKey,
		ArgoNamespace: opts.ArgoNamespace,
		MaxBackoff:    opts.MaxBackoff,
		Limits:        opts.Limits,
		Runtime:       runtimeID(),
	}
	r.InstanceLabelKey = opts.InstanceLabelKey
	if r.Templates, err = opts.templateRunner(); err != nil {
		return err
	}
	if err := registerIdentityMetrics(metrics.Registry, r.Vault, opts.MaxVaultIdentities); err != nil {
		return err
	}
	isCarrier := predicate.NewPredicateFuncs(func(o client.Object) bool {
		s, ok := o.(*corev1.Secret)
		return ok && s.Labels[contract.LabelContract] != ""
	})
	nudges := make(chan event.GenericEvent)
	err = ctrl.NewControllerManagedBy(mgr).
		Named("carrier").
		For(&corev1.Secret{}, builder.WithPredicates(isCarrier, ownWritesIgnored)).
		WatchesRawSource(source.Channel(nudges, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Concurrency, NewQueue: newFairWorkqueue}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("setting up the controller: %w", err)
	}
	// Destinations being deleted that hold KeyFinalizer (keep.go): a
	// metadata-only watch of vaultcmp's Secrets, leader only.
	md, err := metadata.NewForConfig(opts.Config)
	if err != nil {
		return err
	}
	keyQueue := make(chan event.GenericEvent, 64)
	inf, err := keyInformer(md, func(ns, name string) {
		keyQueue <- event.GenericEvent{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
	})
	if err != nil {
		return err
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("destination").
		WatchesRawSource(source.Channel(keyQueue, &handler.EnqueueRequestForObject{})).
		Complete(&keyReconciler{kube: kube, nudges: nudges})
	if err != nil {
		return fmt.Errorf("setting up the destination controller: %w", err)
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		inf.Run(ctx.Done())
		return nil
	})); err != nil {
		return err
	}
	// One loop keeps the Vault tokens alive: a token that expires takes the
	// leases it created with it. Leader only, like the reconciles. Carriers
	// whose leases it finds at risk are reconciled at once (tokenwatch.go).
	nudger := &atRiskNudger{out: nudges}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		tokenLoop(ctx, r.Vault, opts.Logger, func(keys []string) { nudger.nudge(ctx, keys, &r.holders) })
		return nil
	})); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	opts.Logger.Info("vaultcmp companion starting", "allowedVaultAddresses", opts.AllowList.String(), "argocdNamespace", opts.ArgoNamespace, "leaderElect", opts.LeaderElect)
	return mgr.Start(ctx)
}

// tokenLoop renews the Lifecycle's Vault tokens when due, until ctx ends:
// at the time RenewTokens names, at least every minute, at most every second,
// and again after each new token.
func tokenLoop(ctx context.Context, l *vault.Lifecycle, lg logr.Logger, atRisk func(keys []string)) {
	var last time.Time
	for {
		if d := time.Until(last.Add(time.Second)); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		last = time.Now()
		next, err := l.RenewTokens(ctx)
		if err != nil && ctx.Err() == nil {
			lg.Info("renewing Vault tokens failed; retrying", "error", err.Error())
		}
		atRisk(l.AtRiskIdentities())
		wait := time.Minute
		if !next.IsZero() {
			wait = min(max(time.Until(next), time.Second), time.Minute)
		}
		if err != nil {
			wait = min(wait, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-l.TokenObtained(): // a new token may be due before wait
		}
	}
}

// runtimeID is a random id of this process.
func runtimeID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
