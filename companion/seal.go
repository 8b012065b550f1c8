package companion

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vaultcmp/vaultcmp/contract"
)

// sealedContract is the carrier's contract, only if generate wrote it for
// this place: its seal verifies with the installation's key over the
// carrier's namespace, name and contract (before the contract is even
// parsed), the contract passes contract.Validate (generate's rules), and it
// describes an object of the carrier's namespace whose carrier has this
// name. Nothing else about the carrier is trusted.
func (r *Reconciler) sealedContract(carrier *corev1.Secret) (*contract.V1, error) {
	body := []byte(carrier.Annotations[contract.AnnotationContract])
	if err := contract.CheckSeal(r.HMACKey, carrier.Namespace, carrier.Name, body, carrier.Annotations[contract.AnnotationSeal]); err != nil {
		return nil, err
	}
	c, err := contract.Parse(string(carrier.Type), body)
	if err != nil {
		return nil, err
	}
	if c.Object.Namespace != carrier.Namespace || contract.CarrierName(c.Object.Kind, c.Object.Name) != carrier.Name {
		return nil, fmt.Errorf("the contract is for %s %s/%s, whose carrier is %s/%s, not this one",
			c.Object.Kind, c.Object.Namespace, c.Object.Name, c.Object.Namespace, contract.CarrierName(c.Object.Kind, c.Object.Name))
	}
	return c, nil
}

// refuse leaves a carrier the companion does not act on as it is, but for
// its status (Error) and message saying why, and one Event when they change:
// no state is read or written, nothing is retried until the carrier changes.
func (r *Reconciler) refuse(ctx context.Context, carrier *corev1.Secret, err error) {
	msg := "not acted on: " + errorMessage(err)
	r.Metrics.SyncErrors.WithLabelValues("unknown", carrier.Namespace).Inc()
	if carrier.Annotations[AnnotationStatus] == StatusError && carrier.Annotations[AnnotationMessage] == msg {
		return
	}
	log.FromContext(ctx).Info("carrier refused", "carrier", carrier.Namespace+"/"+carrier.Name, "error", msg)
	r.Recorder.Event(carrier, corev1.EventTypeWarning, "ContractError", msg)
	base := carrier.DeepCopy()
	if carrier.Annotations == nil {
		carrier.Annotations = map[string]string{}
	}
	carrier.Annotations[AnnotationStatus], carrier.Annotations[AnnotationMessage] = StatusError, msg
	if perr := r.Client.Patch(ctx, carrier, client.MergeFrom(base)); perr != nil {
		log.FromContext(ctx).Error(perr, "saving the status of a refused carrier")
	}
}

// stateSeal is the seal of a state's JSON on this carrier.
func (r *Reconciler) stateSeal(carrier *corev1.Secret, raw string) string {
	return contract.SealState(r.HMACKey, carrier.Namespace, carrier.Name, string(carrier.UID), []byte(raw))
}

// loadState is the companion's state on the carrier, if its seal verifies
// (this installation's companion wrote it for this carrier). Any other
// state is ignored — logged, and an Event "state not ours, ignored" — so a
// lease id or serial written by hand or copied from another carrier is
// never renewed or revoked.
func (r *Reconciler) loadState(ctx context.Context, carrier *corev1.Secret) State {
	st, err := r.verifiedState(carrier)
	if err != nil {
		log.FromContext(ctx).Info("state not ours, ignored", "carrier", carrier.Namespace+"/"+carrier.Name, "error", err.Error())
		r.Recorder.Event(carrier, corev1.EventTypeWarning, "StateIgnored", "state not ours, ignored: "+errorMessage(err))
		return State{}
	}
	return st
}

// verifiedState reads the state if its seal verifies; no state is State{}.
func (r *Reconciler) verifiedState(carrier *corev1.Secret) (State, error) {
	raw := carrier.Annotations[AnnotationState]
	if raw == "" {
		return State{}, nil
	}
	if err := contract.CheckStateSeal(r.HMACKey, carrier.Namespace, carrier.Name, string(carrier.UID), []byte(raw), carrier.Annotations[AnnotationStateSeal]); err != nil {
		return State{}, fmt.Errorf("annotation %s: %w", AnnotationState, err)
	}
	var st State
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return State{}, fmt.Errorf("reading annotation %s: %w", AnnotationState, err)
	}
	return st, nil
}
