package companion

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// rollout restarts the contract's targets once, as VSO does: the pod
// template's vso.secrets.hashicorp.com/restartedAt annotation (an Argo
// Rollout: spec.restartAt). An inline carrier's targets in the app's output
// are left to Argo CD (rolloutinline.go).
// Failures are evented, not retried (VSO's behaviour): the data is written.
func (r *Reconciler) rollout(ctx context.Context, carrier *corev1.Secret, c *contract.V1, reason string) {
	now := r.now().UTC().Format(time.RFC3339)
	for _, t := range c.RolloutTargets {
		res, ok := v1beta1.RolloutResourceOf(t.Kind)
		if !ok {
			continue
		}
		gvr := schema.GroupVersionResource{Group: res.Group, Version: res.Version, Resource: res.Resource}
		if c.Delivery == contract.DeliveryInline && r.leftToArgo(ctx, t, gvr, carrier.Namespace, c.Object.Destination().Name) {
			continue // in the app's output: rolls with Argo CD's sync (rolloutinline.go)
		}
		var patch map[string]any
		if t.Kind == v1beta1.RolloutKindArgoRollout {
			patch = map[string]any{"spec": map[string]any{"restartAt": now}}
		} else {
			patch = map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
				"annotations": map[string]any{AnnotationRestartedAt: now}}}}}
		}
		body, _ := json.Marshal(patch)
		_, err := r.Dynamic.Resource(gvr).Namespace(carrier.Namespace).Patch(ctx, t.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
		if err != nil {
			msg := fmt.Sprintf("restarting %s %s: %s", t.Kind, t.Name, errorMessage(err))
			log.FromContext(ctx).Info("rollout restart failed", "carrier", carrier.Namespace+"/"+carrier.Name, "error", msg)
			r.Recorder.Event(carrier, corev1.EventTypeWarning, "RolloutRestartFailed", msg)
			continue
		}
		r.Metrics.Restarts.WithLabelValues(t.Kind, carrier.Namespace).Inc()
		r.Recorder.Event(carrier, corev1.EventTypeNormal, "RolloutRestart", fmt.Sprintf("restarted %s %s: %s", t.Kind, t.Name, reason))
	}
}
