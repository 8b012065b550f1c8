package companion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/transform"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Retries of a failing carrier.
//
// A failed reconcile records in the carrier's state when the next attempt
// may run (State.RetryAt) and for which input (State.FailedInput, a digest
// of the carrier without the companion's own writes). Until then a
// reconcile of the same input does nothing but wait: a watch event, a
// resync, a token-loop nudge, a restart or a leader change do not bring the
// retry forward, and the companion's own writes (its state, status and
// message annotations) do not even reach the queue (ownWritesIgnored). A
// change of the carrier (its contract, seal, labels, …: the owner's fix) is
// acted on at once.
//
// The wait depends on what failed:
//
//   - transient (Vault away, sealed, 5xx, 429, a redirect, a credential not
//     there yet, Kubernetes errors, the identity limit): 5 s × 1.5ⁿ⁻¹ after
//     the n-th failure in a row, at most MaxBackoff (VSO's backoff);
//   - permanent (Vault's 4xx that a retry cannot fix — a missing role or
//     path, a refused login, a denied policy —, a contract the identity
//     plan refuses, a template that fails): at once MaxBackoff, and on every
//     change of the carrier. Waiting only for a change of the carrier would
//     never see the fix when it is made in Vault (the role created, the
//     policy granted), which no carrier event reports; one attempt per
//     MaxBackoff per carrier is the slow retry that notices it at a bounded
//     cost (at the default one minute: one login a minute per broken
//     carrier).
//
// A carrier whose contract cannot be read at all is not retried: it waits
// for a change (Reconcile's ContractError path).

// retryClass is how a failure is retried.
type retryClass uint8

const (
	retryTransient retryClass = iota
	retryPermanent
)

// classify tells how err is retried (see above).
func classify(err error) retryClass {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return retryTransient // interrupted, not refused
	}
	var verr *vault.Error
	if errors.As(err, &verr) {
		if vault.Retryable(err) {
			return retryTransient
		}
		return retryPermanent
	}
	var ferr *identity.FieldError
	if errors.As(err, &ferr) {
		var serr *apierrors.StatusError
		if errors.As(err, &serr) {
			return retryTransient // a Secret or service account not there yet
		}
		return retryPermanent
	}
	var rerr *transform.RenderError
	var eerr *transform.EncodeError
	if errors.As(err, &rerr) || errors.As(err, &eerr) || errors.Is(err, errNoData) ||
		errors.Is(err, transform.ErrRawNotPermitted) || errors.Is(err, identity.ErrNoAuth) {
		return retryPermanent
	}
	return retryTransient
}

// retryDelay is the wait after the n-th failure in a row (n ≥ 1).
func retryDelay(class retryClass, n int, maxBackoff time.Duration) time.Duration {
	if maxBackoff <= 0 {
		maxBackoff = time.Minute
	}
	if class == retryPermanent {
		return maxBackoff
	}
	d := float64(backoffInitial) * math.Pow(backoffFactor, float64(max(n, 1)-1))
	if d >= float64(maxBackoff) {
		return maxBackoff
	}
	return time.Duration(d)
}

// failedState records a failure in st: one more retry, when the next may
// run, for which input.
func failedState(st State, err error, input string, now time.Time, maxBackoff time.Duration) State {
	st.Retries++
	st.RetryAt = now.Add(retryDelay(classify(err), st.Retries, maxBackoff))
	st.FailedInput = input
	return st
}

// succeededState clears the failure record.
func succeededState(st State) State {
	st.Retries, st.RetryAt, st.FailedInput = 0, time.Time{}, ""
	return st
}

// retryGate tells whether a reconcile of a carrier with input digest input
// must wait (and how long) because of an earlier failure.
func retryGate(st State, input string, now time.Time) (wait time.Duration, hold bool) {
	if st.Retries == 0 || st.RetryAt.IsZero() || st.FailedInput != input || !now.Before(st.RetryAt) {
		return 0, false
	}
	return st.RetryAt.Sub(now), true
}

// carrierInput is the carrier as its owner wrote it: without what the
// companion writes (its annotations, the finalizer) and the bookkeeping the
// apiserver changes on every write.
func carrierInput(s *corev1.Secret) *corev1.Secret {
	c := s.DeepCopy()
	c.ResourceVersion, c.ManagedFields, c.Generation, c.Finalizers = "", nil, 0, nil
	for k := range c.Annotations {
		if ownAnnotation(k) {
			delete(c.Annotations, k)
		}
	}
	if len(c.Annotations) == 0 {
		c.Annotations = nil
	}
	return c
}

// ownAnnotation tells whether the companion writes annotation k on a
// carrier: vaultcmp.io/state (and its seal, vaultcmp.io/state…),
// vaultcmp.io/status and vaultcmp.io/message.
func ownAnnotation(k string) bool {
	return k == AnnotationStatus || k == AnnotationMessage || strings.HasPrefix(k, AnnotationState)
}

// inputDigest identifies carrierInput(s).
func inputDigest(s *corev1.Secret) string {
	c := carrierInput(s)
	b, _ := json.Marshal(struct {
		UID         string
		Labels      map[string]string
		Annotations map[string]string
		Type        corev1.SecretType
		Data        map[string][]byte
		Deleting    bool
	}{string(c.UID), c.Labels, c.Annotations, c.Type, c.Data, c.DeletionTimestamp != nil})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// failed records a failed reconcile (Event, state, status) and schedules
// its retry.
func (r *Reconciler) failed(ctx context.Context, carrier *corev1.Secret, kind string, st State, err error) ctrl.Result {
	now := r.now()
	st = failedState(st, err, inputDigest(carrier), now, r.MaxBackoff)
	r.report(ctx, carrier, kind, err, errorReason(err))
	if perr := r.saveState(ctx, carrier, st, StatusError, errorMessage(err)); perr != nil {
		log.FromContext(ctx).Error(perr, "saving state")
	}
	return ctrl.Result{RequeueAfter: st.RetryAt.Sub(now)}
}
