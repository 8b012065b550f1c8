package companion

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ownWritesIgnored drops the update events of a carrier that change only
// what the companion writes itself (its state, status and message
// annotations, the finalizer) or what the apiserver changes on every write
// (resourceVersion, managedFields): a reconcile's own writes never queue
// the carrier again, so an error cannot loop through its own status write.
// Creations, deletions and the owner's changes pass.
var ownWritesIgnored = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, ok := e.ObjectOld.(*corev1.Secret)
	n, ok2 := e.ObjectNew.(*corev1.Secret)
	if !ok || !ok2 {
		return true
	}
	return ownerChanged(o, n)
}}

// ownerChanged tells whether new differs from old in what the carrier's
// owner writes.
func ownerChanged(old, new *corev1.Secret) bool {
	return !equality.Semantic.DeepEqual(carrierInput(old), carrierInput(new))
}
