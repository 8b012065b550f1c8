package companion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Backoff of failed reconciles: 5 s × 1.5ⁿ, at most MaxBackoff (VSO's).
const (
	backoffInitial = 5 * time.Second
	backoffFactor  = 1.5
)

// Reconciler fills and refreshes the destination of one carrier per call.
type Reconciler struct {
	Client        client.Client        // patches of carriers (the watch is a label-selected cache)
	Kube          kubernetes.Interface // destination Secrets, tokens, workloads (uncached)
	Dynamic       dynamic.Interface    // Argo CD Applications and Rollouts
	Vault         *vault.Lifecycle
	Recorder      record.EventRecorder
	Metrics       *Metrics
	HMACKey       []byte // the installation's key (rollout ids, kv-v1 HMACs)
	ArgoNamespace string // where Argo CD's Applications live
	MaxBackoff    time.Duration
	Now           func() time.Time
	Rand          func() float64 // [0,1), for jitter
	// Limits holds the floors on schedules (zero: limits.Default()).
	Limits limits.Limits
	// Runtime identifies this process (state written by another process
	// names tokens this one does not know).
	Runtime string
	// Templates runs the builds (nil: in this process, default bounds).
	Templates *TemplateRunner
	// InstanceLabelKey is the installation's custom Argo CD instance label
	// key (argocd-cm application.instanceLabelKey; "": the default only),
	// never copied onto a destination and read as tracking (tracking hygiene).
	InstanceLabelKey string

	holders leaseHolders // carriers holding leases, by identity (tokenwatch.go)
}

// outcome is what one kind's handler decided.
type outcome struct {
	state   State
	changed bool   // new data written (a rotation)
	reason  string // why, for the Event
	// warning, when set, is a schedule the companion had to bound (floors.go):
	// status Error with this message, the data kept.
	warning string
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	lg := log.FromContext(ctx)
	// Read from the apiserver, not the cache: the cache may not have our
	// last state write yet, and acting on an older state would issue twice.
	got, err := r.Kube.CoreV1().Secrets(req.Namespace).Get(ctx, req.Name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forget(req.Namespace, req.Name)
			r.holders.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	carrier := *got
	_, _ = stripCarrier(&carrier) // a carrier has no data; one written by hand is not copied around (cache.go)
	if carrier.Labels[contract.LabelContract] == "" {
		return ctrl.Result{}, nil
	}
	if !carrier.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &carrier) // from the sealed state only
	}
	// The seal first: before the finalizer, any Kubernetes or Vault call.
	c, perr := r.sealedContract(&carrier)
	if perr != nil {
		// Final until the carrier changes: no retry.
		r.refuse(ctx, &carrier, perr)
		return ctrl.Result{}, nil
	}
	if ferr := contractFloors(c, r.floors()); ferr != nil {
		// Below a floor: refused as generate refuses it, until it changes.
		r.report(ctx, &carrier, c.Object.Kind, ferr, "ContractError")
		return ctrl.Result{}, nil
	}
	kind := c.Object.Kind
	st := r.loadState(ctx, &carrier)
	if c.Delivery == contract.DeliveryInCluster && (c.Object.Dynamic != nil || c.Object.PKI != nil) && !controllerutil.ContainsFinalizer(&carrier, Finalizer) {
		base := carrier.DeepCopy()
		controllerutil.AddFinalizer(&carrier, Finalizer)
		if err := r.Client.Patch(ctx, &carrier, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer to %s/%s: %w", carrier.Namespace, carrier.Name, err)
		}
	}
	now := r.now()
	if wait, hold := retryGate(st, inputDigest(&carrier), now); hold {
		// Failed before and not changed since: wait out the backoff.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if err := r.heldTokenHealth(req.NamespacedName, &st); err != nil {
		return r.failed(ctx, &carrier, kind, st, err), nil
	}
	d := digest(&carrier) // the contract the data is (to be) made for
	if !st.NextAt.IsZero() && now.Before(st.NextAt) && st.Contract == d && st.Retries == 0 && st.Old == nil && r.destinationPresent(ctx, &carrier, c) {
		// Nothing due yet (a restart, a leader change, our own write).
		r.observe(&carrier, c, st, now)
		return ctrl.Result{RequeueAfter: st.NextAt.Sub(now)}, nil
	}
	err = supersede(&st, d)
	if err == nil {
		// Before any token or Vault request: a destination that belongs to
		// something else is refused (ownership.go).
		err = checkDestination(ctx, r.Kube, &carrier, c, r.InstanceLabelKey)
	}
	var id *vault.Identity
	if err == nil {
		id, err = nsCredentials{kube: r.Kube}.identity(ctx, carrier.Namespace, c)
	}
	var out outcome
	if err == nil {
		switch {
		case c.Delivery == contract.DeliveryInline:
			out, err = r.inline(ctx, &carrier, c, id, st)
		case c.Object.Dynamic != nil:
			out, err = r.dynamic(ctx, &carrier, c, id, st)
		case c.Object.PKI != nil:
			out, err = r.pki(ctx, &carrier, c, id, st)
		case c.Object.Static != nil:
			out, err = r.static(ctx, &carrier, c, id, st)
		}
	}
	if err != nil {
		return r.failed(ctx, &carrier, kind, st, err), nil
	}
	st = succeededState(out.state)
	st.Contract = d
	recordIssuer(&st, c, d)
	r.holders.note(req.NamespacedName, id, st.LeaseID != "")
	r.Metrics.SyncTotal.WithLabelValues(kind, carrier.Namespace).Inc()
	if out.changed {
		lg.Info("wrote new data", "kind", kind, "object", c.Object.Name, "reason", out.reason)
		r.Recorder.Event(&carrier, corev1.EventTypeNormal, "SecretSynced", out.reason)
	}
	msg := "Filled by the vaultcmp companion"
	if c.Delivery == contract.DeliveryInline {
		msg = inlineMessage(c) // rolloutinline.go
	}
	status := StatusSynced
	if out.warning != "" {
		status, msg = StatusError, out.warning
		r.Recorder.Event(&carrier, corev1.EventTypeWarning, "ScheduleFloor", out.warning)
	}
	if err := r.saveState(ctx, &carrier, st, status, msg); err != nil {
		return ctrl.Result{}, err
	}
	// The new lease is written and recorded: revoke the superseded one.
	if r.revokeOld(ctx, &carrier, &st) {
		if err := r.saveState(ctx, &carrier, st, status, msg); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Rollouts after the state that records the change is saved, so a
	// restart never restarts the workloads twice for one change; at most
	// one per rolloutMinInterval.
	wait := time.Duration(0)
	if st.Change != st.Rolled && (c.Delivery == contract.DeliveryInCluster || inlineRollouts(c)) {
		if wait = rolloutWait(st, r.now()); wait == 0 {
			r.rollout(ctx, &carrier, c, out.reason)
			st.Rolled, st.RolledAt = st.Change, r.now()
			if err := r.saveState(ctx, &carrier, st, status, msg); err != nil {
				return ctrl.Result{}, err
			}
		}
	}
	r.observe(&carrier, c, st, now)
	return ctrl.Result{RequeueAfter: r.requeue(st, wait)}, nil
}

// reasonFirst is the reason of a first fill: it restarts nothing (handlers
// then set Rolled = Change).
const reasonFirst = "first fill"

func (r *Reconciler) destinationPresent(ctx context.Context, carrier *corev1.Secret, c *contract.V1) bool {
	if c.Delivery == contract.DeliveryInline {
		return true
	}
	_, ok, err := readDestination(ctx, r.Kube, carrier.Namespace, c)
	return err != nil || ok // on a read error, keep the schedule
}

// report makes an error visible: Event on the carrier, log line, metric.
func (r *Reconciler) report(ctx context.Context, carrier *corev1.Secret, kind string, err error, reason string) {
	msg := errorMessage(err)
	log.FromContext(ctx).Info("sync failed", "carrier", carrier.Namespace+"/"+carrier.Name, "reason", reason, "error", msg)
	r.Recorder.Event(carrier, corev1.EventTypeWarning, reason, msg)
	if kind == "" {
		kind = "unknown"
	}
	r.Metrics.SyncErrors.WithLabelValues(kind, carrier.Namespace).Inc()
	if reason == "ContractError" {
		st := r.loadState(ctx, carrier) // kept: a lease it names must not be forgotten
		_ = r.saveState(ctx, carrier, st, StatusError, msg)
	}
}

// errorMessage is an error for people; vault.Error and our own errors
// never hold a secret value, and it is bounded in length.
func errorMessage(err error) string {
	s := err.Error()
	if len(s) > 1024 {
		s = s[:1024] + "…"
	}
	return s
}

// saveState patches the state and status annotations when they changed.
func (r *Reconciler) saveState(ctx context.Context, carrier *corev1.Secret, st State, status, msg string) error {
	enc := st.encode()
	want := map[string]string{AnnotationState: enc, AnnotationStateSeal: r.stateSeal(carrier, enc), AnnotationStatus: status, AnnotationMessage: msg}
	same := true
	for k, v := range want {
		if carrier.Annotations[k] != v {
			same = false
		}
	}
	if same {
		return nil
	}
	base := carrier.DeepCopy()
	if carrier.Annotations == nil {
		carrier.Annotations = map[string]string{}
	}
	for k, v := range want {
		carrier.Annotations[k] = v
	}
	if err := r.Client.Patch(ctx, carrier, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("saving the state of %s/%s: %w", carrier.Namespace, carrier.Name, err)
	}
	return nil
}

func (r *Reconciler) backoff(n int) time.Duration {
	return retryDelay(retryTransient, n, r.MaxBackoff)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) rand() float64 {
	if r.Rand != nil {
		return r.Rand()
	}
	return rand.Float64()
}

// digest identifies the contract the data was made for.
func digest(carrier *corev1.Secret) string {
	sum := sha256.Sum256([]byte(carrier.Annotations[contract.AnnotationContract]))
	return hex.EncodeToString(sum[:8])
}

// horizon is VSO's computeDynamicHorizonWithJitter: uniformly in
// (p%, p%+10%] of the lease duration.
func (r *Reconciler) horizon(lease time.Duration, percent int) time.Duration {
	base := time.Duration(float64(lease) * float64(percent) / 100)
	tenth := float64(lease) / 10
	return base + time.Duration(tenth-r.rand()*tenth)
}

var errNoData = errors.New("Vault returned no data")
