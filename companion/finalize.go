package companion

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/vaultcmp/vaultcmp/vault"
)

// finalize revokes what the carrier's object holds, then lets it go (and
// the private key its destination kept for the revocation: keep.go). It
// works from the sealed state alone (its Issuer names the identity that
// issued each lease or certificate), so a carrier whose contract was
// edited to garbage, or unsealed, is still revoked for; a state that does
// not verify revokes nothing. Only clearing a PKI destination (clear: true)
// reads the contract, and only a sealed one.
func (r *Reconciler) finalize(ctx context.Context, carrier *corev1.Secret) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(carrier, Finalizer) {
		return ctrl.Result{}, nil
	}
	st := r.loadState(ctx, carrier)
	keys := keptKeys(st) // read before revoking clears st
	var errs []error
	if st.Old != nil {
		if _, err := r.revokeHeld(ctx, carrier, st.Old.LeaseID, st.Old.Serial, &st.Old.Issuer); err != nil {
			errs = append(errs, err)
		} else {
			st.Old = nil
		}
	}
	if is := st.Issuer; is != nil {
		reason, err := r.revokeHeld(ctx, carrier, st.LeaseID, st.Serial, is)
		switch {
		case err != nil:
			errs = append(errs, err)
		case reason == "LeaseRevoked":
			r.Recorder.Event(carrier, corev1.EventTypeNormal, reason, "revoked the lease of the deleted object")
			st.LeaseID = ""
		case reason == "CertificateRevoked":
			r.Recorder.Event(carrier, corev1.EventTypeNormal, reason, "revoked serial "+st.Serial)
			st.Serial = ""
		}
	}
	c, cerr := r.sealedContract(carrier)
	if cerr == nil && c.Object.PKI != nil && c.Object.PKI.Clear && !c.Object.PKI.Destination.Create {
		if err := clearDestination(ctx, r.Kube, carrier, c, r.InstanceLabelKey); err != nil {
			errs = append(errs, err)
		}
	}
	if cerr == nil && keepsKey(c) {
		keys = append(keys, c.Object.Destination().Name)
	}
	err := errors.Join(errs...)
	if err != nil && vault.Retryable(err) && st.Retries < 5 {
		// Vault is away: wait a little, bounded, then let the object go.
		st.Retries++
		r.report(ctx, carrier, "", fmt.Errorf("revoking before delete: %w", err), "RevokeError")
		_ = r.saveState(ctx, carrier, st, StatusError, errorMessage(err))
		return ctrl.Result{RequeueAfter: r.backoff(st.Retries)}, nil
	}
	if err != nil {
		r.report(ctx, carrier, "", fmt.Errorf("revoking before delete (giving up): %w", err), "RevokeError")
	}
	// Revoked, or given up: the destination's key may go (keep.go).
	for _, name := range keys {
		if err := releaseKey(ctx, r.Kube, carrier.Namespace, name, carrier); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.removeFinalizer(ctx, carrier); err != nil {
		return ctrl.Result{}, err
	}
	r.Metrics.forget(carrier.Namespace, carrier.Name)
	r.holders.forget(client.ObjectKeyFromObject(carrier))
	return ctrl.Result{}, nil
}

// removeFinalizer removes Finalizer from the carrier, and only it: a JSON
// patch that tests the entry it removes (the garbage collector changes the
// finalizers of a carrier deleted in the foreground: a merge patch of the
// whole list from an older copy put its foregroundDeletion back, which the
// apiserver refuses, and finalize ran again, the key already let go). A
// refused patch reads the carrier again.
func (r *Reconciler) removeFinalizer(ctx context.Context, carrier *corev1.Secret) error {
	var err error
	for range 5 {
		i := slices.Index(carrier.Finalizers, Finalizer)
		if i < 0 {
			return nil
		}
		p := fmt.Sprintf(`[{"op":"test","path":"/metadata/finalizers/%d","value":%q},{"op":"remove","path":"/metadata/finalizers/%d"}]`, i, Finalizer, i)
		err = r.Client.Patch(ctx, carrier, client.RawPatch(types.JSONPatchType, []byte(p)))
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		got, gerr := r.Kube.CoreV1().Secrets(carrier.Namespace).Get(ctx, carrier.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			return nil
		}
		if gerr != nil {
			return fmt.Errorf("reading carrier %s/%s: %w", carrier.Namespace, carrier.Name, gerr)
		}
		_, _ = stripCarrier(got)
		*carrier = *got
	}
	return fmt.Errorf("removing finalizer %s from %s/%s: %w", Finalizer, carrier.Namespace, carrier.Name, err)
}

// keptKeys are the destinations whose KeyFinalizer finalize removes once
// it has revoked: those of the state's certificates (sealed, so names the
// companion wrote); releaseKey touches only a Secret the carrier owns.
func keptKeys(st State) []string {
	var out []string
	for _, is := range []*Issuer{st.Issuer, oldIssuer(st.Old)} {
		if is != nil && is.Destination != "" && !slices.Contains(out, is.Destination) {
			out = append(out, is.Destination)
		}
	}
	return out
}

func oldIssuer(h *Held) *Issuer {
	if h == nil {
		return nil
	}
	return &h.Issuer
}
