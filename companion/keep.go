package companion

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/vaultcmp/vaultcmp/contract"
)

// The private key of a certificate revoked on delete is kept until it has
// been used. A VaultPKISecret with revoke: true has its certificate revoked
// by the carrier's finalizer with revoke-with-key, which needs the private
// key in the destination Secret; that Secret is owned by the carrier, and
// when the carrier is deleted with foreground propagation (Argo CD's prune)
// the garbage collector deletes it while the finalizer runs. So the
// companion puts KeyFinalizer on a destination it creates for such an
// object (in the write that creates or rewrites it), and removes it:
//
//   - in the carrier's finalize, once it has revoked (or given up);
//   - when the destination is being deleted while its carrier is alive
//     (deleted by hand): it goes, and the carrier is reconciled at once to
//     re-create it;
//   - when the destination is being deleted and its carrier is gone, is
//     another object (another UID) or no longer has its own finalizer: a
//     finalizer of the companion never holds a Secret forever.
//
// Never on a Secret the companion does not own (create: false, a shipped
// Secret): there the key is whatever the Secret's owner leaves, as before.

// keepsKey reports whether the destination of c carries KeyFinalizer: a
// Secret the companion creates (create: true, in-cluster delivery) for a
// VaultPKISecret whose certificate it revokes on delete.
func keepsKey(c *contract.V1) bool {
	return c != nil && c.Delivery == contract.DeliveryInCluster && c.Object.PKI != nil &&
		c.Object.PKI.Revoke && c.Object.PKI.Destination.Create
}

// withKeyFinalizer is fins with KeyFinalizer when keep, without it
// otherwise (the other finalizers in their order). A Secret being deleted
// never gets it (the apiserver refuses a new finalizer then).
func withKeyFinalizer(fins []string, keep, deleting bool) []string {
	has := slices.Contains(fins, KeyFinalizer)
	switch {
	case keep && !deleting && !has:
		return append(slices.Clone(fins), KeyFinalizer)
	case (!keep || deleting) && has:
		return slices.DeleteFunc(slices.Clone(fins), func(f string) bool { return f == KeyFinalizer })
	}
	return fins
}

// keyAction is what to do with a destination's KeyFinalizer.
type keyAction int

const (
	keyHold     keyAction = iota // leave it (not ours, not deleting, or the carrier's finalize will)
	keyRelease                   // remove it
	keyRecreate                  // remove it and reconcile the carrier (a live carrier's Secret deleted by hand)
)

// decideKeyRelease decides, without I/O, about a destination Secret's
// KeyFinalizer: dest is its metadata, carrier the Secret its controller
// ownerReference names as it is now (nil: not found).
func decideKeyRelease(dest *metav1.ObjectMeta, carrier *corev1.Secret) keyAction {
	if !slices.Contains(dest.Finalizers, KeyFinalizer) || dest.DeletionTimestamp.IsZero() {
		return keyHold
	}
	ref := metav1.GetControllerOfNoCopy(dest)
	if ref == nil || ref.Kind != "Secret" || ref.APIVersion != "v1" || carrier == nil || carrier.UID != ref.UID {
		return keyRelease // no carrier (gone, or another object by that name)
	}
	if carrier.DeletionTimestamp.IsZero() {
		return keyRecreate
	}
	if slices.Contains(carrier.Finalizers, Finalizer) {
		return keyHold // finalize revokes with the key, then releases it
	}
	return keyRelease
}

// releaseKey removes KeyFinalizer from Secret ns/name if it has it and,
// when owner is not empty, only if owner (a carrier's UID) owns it.
// The garbage collector marks the Secret deleted meanwhile: a conflict
// reads it again.
func releaseKey(ctx context.Context, kube kubernetes.Interface, ns, name string, owner *corev1.Secret) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
		}
		if !slices.Contains(s.Finalizers, KeyFinalizer) || (owner != nil && !ownedBy(s, owner)) {
			return nil
		}
		s.Finalizers = withKeyFinalizer(s.Finalizers, false, false)
		if _, err := kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing finalizer %s from Secret %s/%s: %w", KeyFinalizer, ns, name, err)
		}
		return nil
	})
}

// keyReconciler handles destinations being deleted that hold KeyFinalizer
// (decideKeyRelease); it nudges a live carrier whose destination it let go.
type keyReconciler struct {
	kube   kubernetes.Interface
	nudges chan<- event.GenericEvent
}

func (k *keyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	s, err := k.kube.CoreV1().Secrets(req.Namespace).Get(ctx, req.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	var carrier *corev1.Secret
	if ref := metav1.GetControllerOfNoCopy(s); ref != nil && ref.Kind == "Secret" {
		c, err := k.kube.CoreV1().Secrets(req.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			carrier = c
		case !apierrors.IsNotFound(err):
			return ctrl.Result{}, err
		}
	}
	action := decideKeyRelease(&s.ObjectMeta, carrier)
	if action == keyHold {
		return ctrl.Result{}, nil
	}
	if err := releaseKey(ctx, k.kube, s.Namespace, s.Name, nil); err != nil {
		return ctrl.Result{}, err
	}
	log.FromContext(ctx).Info("released a destination being deleted", "secret", s.Namespace+"/"+s.Name)
	if action == keyRecreate {
		select {
		case k.nudges <- event.GenericEvent{Object: carrier}:
		case <-ctx.Done():
		}
	}
	return ctrl.Result{}, nil
}

// keyInformer is a metadata-only informer of the Secrets vaultcmp manages
// (its managed-by label), stripped to what decideKeyRelease reads, that
// queues those being deleted with KeyFinalizer.
func keyInformer(md metadata.Interface, queue func(ns, name string)) (toolscache.SharedIndexInformer, error) {
	sel := labels.SelectorFromSet(labels.Set{contract.LabelManagedBy: contract.ManagedBy}).String()
	inf := metadatainformer.NewFilteredMetadataInformer(md, schema.GroupVersionResource{Version: "v1", Resource: "secrets"},
		metav1.NamespaceAll, 0, toolscache.Indexers{}, func(o *metav1.ListOptions) { o.LabelSelector = sel }).Informer()
	if err := inf.SetTransform(func(o any) (any, error) {
		if m, ok := o.(*metav1.PartialObjectMetadata); ok {
			m.Labels, m.Annotations, m.ManagedFields = nil, nil, nil
		}
		return o, nil
	}); err != nil {
		return nil, fmt.Errorf("watching destination Secrets: %w", err)
	}
	enqueue := func(o any) {
		if m, ok := o.(*metav1.PartialObjectMetadata); ok && !m.DeletionTimestamp.IsZero() && slices.Contains(m.Finalizers, KeyFinalizer) {
			queue(m.Namespace, m.Name)
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, n any) { enqueue(n) },
	}); err != nil {
		return nil, fmt.Errorf("watching destination Secrets: %w", err)
	}
	return inf, nil
}
