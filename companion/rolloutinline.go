package companion

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Rollouts of an inline VaultStaticSecret, as VSO has them. Argo CD writes
// the Secret; the workloads of the app's output carry the checksum
// annotation of its data (contract.ChecksumAnnotation) and roll with the
// same sync. The other targets — an argo.Rollout (VSO sets its
// spec.restartAt, not a new template) and workloads outside the app's
// output — are the companion's: generate gives such an object a carrier
// (delivery inline, even without refreshAfter), and the companion restarts
// them once each time the data of the Secret in the cluster changes. The
// change id is the keyed HMAC of that data, recorded in the carrier's
// state before the restart (Reconcile): the first sight of the Secret, a
// companion restart or a leader change restart nothing.

// inlineRolloutPoll is how often the companion looks at the destination of
// an inline carrier with rollout targets: Argo CD applies the Secret and
// the carrier in one sync but in no set order, so the change may land
// after the carrier's own reconcile.
const inlineRolloutPoll = 10 * time.Second

// inlineRollouts tells whether c is an inline carrier whose rollout targets
// the companion restarts (none without hmacSecretData, as in VSO).
func inlineRollouts(c *contract.V1) bool {
	s := c.Object.Static
	return c.Delivery == contract.DeliveryInline && s != nil && len(c.RolloutTargets) > 0 &&
		(s.HMACSecretData == nil || *s.HMACSecretData)
}

// inlineMessage is an inline carrier's status message: what it watches.
func inlineMessage(c *contract.V1) string {
	switch vault := c.Object.Static.RefreshAfter != ""; {
	case vault && inlineRollouts(c):
		return "Watching Vault for Argo CD, and the Secret for rollouts"
	case vault:
		return "Watching Vault for Argo CD"
	}
	return "Watching the Secret for rollouts"
}

// inline is an inline carrier's reconcile: the Vault watch of refreshAfter
// (inlineRefresh), then the rollout watch of the destination
// (observeInline).
// Vault is read at refreshAfter (and when the contract changed), not at
// each look at the destination.
func (r *Reconciler) inline(ctx context.Context, carrier *corev1.Secret, c *contract.V1, id *vault.Identity, st State) (outcome, error) {
	out := outcome{state: st}
	if st.VaultAt.IsZero() || !r.now().Before(st.VaultAt) || st.Contract != digest(carrier) {
		var err error
		if out, err = r.inlineRefresh(ctx, carrier, c, id, st); err != nil {
			return out, err
		}
		out.state.VaultAt = out.state.NextAt
	} else {
		out.state.NextAt = st.VaultAt
	}
	return out, r.observeInline(ctx, carrier, c, &out)
}

// observeInline records the data of an inline carrier's destination as it
// is in the cluster: a change since the last sight is a change to roll out
// (st.Change); the first sight is not.
func (r *Reconciler) observeInline(ctx context.Context, carrier *corev1.Secret, c *contract.V1, out *outcome) error {
	if !inlineRollouts(c) {
		return nil
	}
	st := &out.state
	if next := r.now().Add(inlineRolloutPoll); st.NextAt.IsZero() || next.Before(st.NextAt) {
		st.NextAt = next
	}
	data, ok, err := readDestination(ctx, r.Kube, carrier.Namespace, c)
	if err != nil || !ok {
		return err // not applied yet: looked at again at NextAt
	}
	if noteInlineData(st, r.mac(data)) {
		out.reason = "Argo CD applied new data to Secret " + c.Object.Destination().Name
	}
	return nil
}

// noteInlineData records h, the keyed HMAC of the destination's data as
// seen now (pure): true when it is a change to roll out. The first sight
// is not one (Rolled = Change), nor the same data seen again, whatever
// happened in between (a renewal, a companion restart: nothing changes h).
func noteInlineData(st *State, h string) bool {
	switch {
	case st.Change == "":
		st.Change, st.Rolled = h, h
		return false
	case h != st.Change:
		st.Change = h
		return true
	}
	return false
}

// leftToArgo tells whether an inline carrier's target t rolls with Argo
// CD's sync by itself: a Deployment, StatefulSet or DaemonSet whose pod
// template carries the checksum annotation of the destination (it is in
// the app's output). An argo.Rollout never is (VSO's spec.restartAt); a
// target that cannot be read is not (the patch then reports why).
func (r *Reconciler) leftToArgo(ctx context.Context, t v1beta1.RolloutRestartTarget, gvr schema.GroupVersionResource, ns, secret string) bool {
	if t.Kind == v1beta1.RolloutKindArgoRollout {
		return false
	}
	obj, err := r.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	ann, _, _ := unstructured.NestedStringMap(obj.Object, "spec", "template", "metadata", "annotations")
	_, ok := ann[contract.ChecksumAnnotation(secret)]
	return ok
}
