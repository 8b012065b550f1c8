package companion

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/vaultcmp/vaultcmp/contract"
)

// argoTracking reports the metadata the companion never copies from a
// destination onto a Secret it creates: Argo CD's tracking keys
// (contract.ArgoTracking, with the installation's custom instance label
// key) and, beyond that rule, every other argocd.argoproj.io/ key (sync
// options, waves, hooks: directives for objects Argo CD applies, which
// this Secret is not).
func argoTracking(k, instanceLabelKey string) bool {
	return contract.ArgoTracking(k, instanceLabelKey) || strings.HasPrefix(k, "argocd.argoproj.io/")
}

// writeDestination writes data into the contract's destination Secret, with
// README's destination semantics:
//
//   - create: true — the companion owns the Secret: it creates it owned by
//     the carrier (garbage-collected with it; Argo CD shows it as the
//     carrier's child), with the destination's labels, annotations and type.
//     A type change recreates a Secret the carrier created (type is
//     immutable). An existing Secret it did not create is adopted only with
//     overwrite, and only if nothing else owns it (decideDestination). For a
//     VaultPKISecret with revoke: true it carries KeyFinalizer, so its
//     private key outlives the carrier's finalizer (keep.go); one being
//     deleted is let go and written again once it is gone.
//   - create: false — the Secret must exist; only its data is written.
//
// A Secret that belongs to something else is refused (*refusedError). A
// Secret the companion writes whole never carries Argo CD's tracking
// (argoTracking; instanceLabelKey is the installation's custom instance
// label key, "" for the default only). It reports whether anything changed.
func writeDestination(ctx context.Context, kube kubernetes.Interface, carrier *corev1.Secret, c *contract.V1, data map[string][]byte, instanceLabelKey string) (bool, error) {
	d := c.Object.Destination()
	ns := carrier.Namespace
	secrets := kube.CoreV1().Secrets(ns)
	cur, err := secrets.Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cur, err = nil, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading destination Secret %s/%s: %w", ns, d.Name, err)
	}
	action, err := decideDestination(carrier, d, cur, instanceLabelKey)
	if err != nil {
		return false, err
	}
	if cur != nil && !cur.DeletionTimestamp.IsZero() {
		// Deleted (by hand): let it go; the next try creates it anew.
		if err := releaseKey(ctx, kube, ns, d.Name, carrier); err != nil {
			return false, err
		}
		return false, fmt.Errorf("destination Secret %s/%s is being deleted: %w", ns, d.Name, errDestinationDeleting)
	}
	if action == destWriteData {
		if maps.EqualFunc(cur.Data, data, bytes.Equal) {
			return false, nil
		}
		cur.Data = data
		if _, err := secrets.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return false, fmt.Errorf("writing the data of Secret %s/%s: %w", ns, d.Name, err)
		}
		return true, nil
	}
	want := desiredSecret(carrier, c, data, instanceLabelKey)
	if action == destCreate {
		if _, err := secrets.Create(ctx, want, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
			return false, fmt.Errorf("creating Secret %s/%s: %w", ns, d.Name, err)
		}
		return true, nil
	}
	if cur.Type != want.Type { // destUpdate only: an adopted Secret has the destination's type
		if err := releaseKey(ctx, kube, ns, cur.Name, carrier); err != nil {
			return false, err
		}
		if err := secrets.Delete(ctx, cur.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}}); err != nil {
			return false, fmt.Errorf("replacing Secret %s/%s (type %s → %s): %w", ns, d.Name, cur.Type, want.Type, err)
		}
		if _, err := secrets.Create(ctx, want, metav1.CreateOptions{FieldManager: FieldManager}); err != nil {
			return false, fmt.Errorf("creating Secret %s/%s: %w", ns, d.Name, err)
		}
		return true, nil
	}
	fins := withKeyFinalizer(cur.Finalizers, keepsKey(c), false)
	if maps.EqualFunc(cur.Data, data, bytes.Equal) && maps.Equal(cur.Labels, want.Labels) &&
		maps.Equal(cur.Annotations, want.Annotations) && slices.Equal(cur.Finalizers, fins) && action == destUpdate {
		return false, nil
	}
	// Preconditioned on the version decided on: a Secret changed since
	// (another owner added) is not written over.
	cur.Labels, cur.Annotations, cur.Data, cur.OwnerReferences, cur.Finalizers = want.Labels, want.Annotations, data, want.OwnerReferences, fins
	if _, err := secrets.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return false, fmt.Errorf("writing Secret %s/%s: %w", ns, d.Name, err)
	}
	return true, nil
}

// errDestinationDeleting is a destination that is being deleted: written
// again once it is gone.
var errDestinationDeleting = errors.New("written again once it is gone")

// desiredSecret is the destination Secret of a create: true contract,
// without Argo CD's tracking (argoTracking).
func desiredSecret(carrier *corev1.Secret, c *contract.V1, data map[string][]byte, instanceLabelKey string) *corev1.Secret {
	d := c.Object.Destination()
	labels := map[string]string{}
	for k, v := range d.Labels {
		if !argoTracking(k, instanceLabelKey) {
			labels[k] = v
		}
	}
	labels[contract.LabelManagedBy] = contract.ManagedBy
	labels[contract.LabelDelivery] = contract.DeliveryInCluster
	annotations := map[string]string{}
	for k, v := range d.Annotations {
		if !argoTracking(k, instanceLabelKey) {
			annotations[k] = v
		}
	}
	annotations[contract.AnnotationOwner] = contract.Owner(c.Object.Kind, c.Object.Name)
	typ := d.Type
	if typ == "" {
		typ = corev1.SecretTypeOpaque
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name, Namespace: carrier.Namespace, Labels: labels, Annotations: annotations,
			// The private key stays until the carrier's finalizer has
			// revoked with it (keep.go).
			Finalizers: withKeyFinalizer(nil, keepsKey(c), false),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Secret", Name: carrier.Name, UID: carrier.UID,
				// No blockOwnerDeletion: it would need update on secrets/finalizers
				// where OwnerReferencesPermissionEnforcement is on.
				Controller: ptr.To(true),
			}},
		},
		Type: typ,
		Data: data,
	}
}

func ownedBy(s, carrier *corev1.Secret) bool {
	for _, o := range s.OwnerReferences {
		if o.UID == carrier.UID {
			return true
		}
	}
	return false
}

// readDestination returns the destination's data (nil if it does not exist).
func readDestination(ctx context.Context, kube kubernetes.Interface, ns string, c *contract.V1) (map[string][]byte, bool, error) {
	s, err := kube.CoreV1().Secrets(ns).Get(ctx, c.Object.Destination().Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading destination Secret %s/%s: %w", ns, c.Object.Destination().Name, err)
	}
	return s.Data, true, nil
}

// clearDestination empties a create: false destination (PKI clear: true),
// unless it belongs to something else (decideDestination).
func clearDestination(ctx context.Context, kube kubernetes.Interface, carrier *corev1.Secret, c *contract.V1, instanceLabelKey string) error {
	ns := carrier.Namespace
	s, err := kube.CoreV1().Secrets(ns).Get(ctx, c.Object.Destination().Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading destination Secret %s/%s: %w", ns, c.Object.Destination().Name, err)
	}
	if action, err := decideDestination(carrier, c.Object.Destination(), s, instanceLabelKey); err != nil || action != destWriteData {
		return err
	}
	s.Data = nil
	if _, err := kube.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("clearing Secret %s/%s: %w", ns, s.Name, err)
	}
	return nil
}
