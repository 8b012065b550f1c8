package companion

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// Argo CD's tracking of the resources of an Application: the label (value:
// the app's instance name) or the annotation (<app>:<group>/<kind>:<ns>/<name>).
const (
	labelArgoInstance      = contract.ArgoInstanceLabel
	annotationArgoTracking = contract.ArgoTrackingID
	// managedByVSO is the app.kubernetes.io/managed-by of Secrets that VSO
	// itself syncs (VSO's helpers.OwnerLabels).
	managedByVSO = "hashicorp-vso"
)

// destAction is what the companion may do with a carrier's destination.
type destAction int

const (
	destCreate    destAction = iota + 1 // absent: create it, owned by the carrier
	destUpdate                          // created by this carrier: rewrite it (type change: recreate)
	destAdopt                           // overwrite: an existing Secret nobody owns, of the destination's type
	destWriteData                       // create: false: write only its data
)

// refusedError is a destination the companion will not write: it belongs to
// something else. It names the Secret and its owner; it holds no value.
type refusedError struct {
	Namespace, Name string
	Owner           string // who it belongs to, for people
	Why             string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("refusing to write Secret %s/%s: it belongs to %s (%s)", e.Namespace, e.Name, e.Owner, e.Why)
}

// errorReason is the Event reason of a failed reconcile.
func errorReason(err error) string {
	var r *refusedError
	if errors.As(err, &r) {
		return "DestinationRefused"
	}
	return "SyncError"
}

// checkDestination refuses, before anything is asked of Vault, a
// destination that belongs to something else (decideDestination);
// writeDestination decides again on the Secret it writes.
func checkDestination(ctx context.Context, kube kubernetes.Interface, carrier *corev1.Secret, c *contract.V1, instanceLabelKey string) error {
	if c.Delivery != contract.DeliveryInCluster {
		return nil // inline: the companion writes no Secret
	}
	d := c.Object.Destination()
	cur, err := kube.CoreV1().Secrets(carrier.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cur, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("reading destination Secret %s/%s: %w", carrier.Namespace, d.Name, err)
	}
	_, err = decideDestination(carrier, d, cur, instanceLabelKey)
	return err
}

// decideDestination decides, without I/O, whether the companion may write
// the destination d of carrier, cur being the Secret of that name as it is
// now (nil: there is none). It never lets a carrier take over a Secret that
// belongs to something else:
//
//   - never the carrier itself, nor any carrier (a Secret of the carrier
//     type), nor a Secret whose type the destination does not say (a
//     kubernetes.io/service-account-token the token controller fills, a TLS
//     Secret another tool writes…): a type is never changed on a Secret the
//     carrier did not create;
//   - a Secret this carrier created (its only ownerReference is the
//     carrier's UID) is rewritten, recreated on a type change — VSO's rule;
//   - any other existing Secret only with overwrite: true, and only when
//     nothing owns it: no ownerReference, not synced by vaultcmp or VSO for
//     another object (their managed-by label: VSO's HasOwnerLabels rule), and
//     no Argo CD tracking naming an Application other than the carrier's (a
//     Secret of the same app is the migration overwrite is for);
//   - create: false writes only data, into a Secret that none of the above
//     makes another's (an ownerReference, another app, vaultcmp's or VSO's
//     label, a carrier, a service-account token).
//
// Every refusal is a *refusedError naming the owner. instanceLabelKey is
// the installation's custom Argo CD instance label key ("": the default
// only), read as tracking too.
func decideDestination(carrier *corev1.Secret, d v1beta1.Destination, cur *corev1.Secret, instanceLabelKey string) (destAction, error) {
	ns := carrier.Namespace
	refuse := func(owner, why string) (destAction, error) {
		return 0, &refusedError{Namespace: ns, Name: d.Name, Owner: owner, Why: why}
	}
	want := d.Type
	if want == "" {
		want = corev1.SecretTypeOpaque
	}
	if d.Create {
		switch want {
		case contract.SecretType:
			return refuse("vaultcmp", "a destination of the carrier type would be taken for a carrier")
		case corev1.SecretTypeServiceAccountToken:
			return refuse("Kubernetes", "the token controller writes Secrets of type "+string(want)+", never the companion")
		}
	}
	if d.Name == carrier.Name || (cur != nil && cur.UID != "" && cur.UID == carrier.UID) {
		return refuse("the carrier itself", "a carrier's destination must be another Secret")
	}
	if cur == nil {
		if !d.Create {
			return 0, fmt.Errorf("destination Secret %s/%s does not exist (destination.create is false: the Secret must exist, only its data is written)", ns, d.Name)
		}
		return destCreate, nil
	}
	if cur.Type == contract.SecretType {
		return refuse("a vaultcmp carrier", "a carrier is never a destination")
	}
	if cur.Type == corev1.SecretTypeServiceAccountToken {
		return refuse("service account "+cur.Annotations[corev1.ServiceAccountNameKey], "a "+string(cur.Type)+" Secret is Kubernetes'")
	}
	mine := false
	for _, o := range cur.OwnerReferences {
		if o.UID == carrier.UID {
			mine = true
			continue
		}
		return refuse(o.Kind+" "+o.Name, "it has another ownerReference")
	}
	if mine {
		if !d.Create {
			return destWriteData, nil // made by an earlier create: true
		}
		return destUpdate, nil
	}
	if app := otherApp(carrier, cur, instanceLabelKey); app != "" {
		return refuse("Argo CD Application "+app, "its tracking names another Application than the carrier's")
	}
	switch cur.Labels[contract.LabelManagedBy] {
	case contract.ManagedBy:
		owner := "vaultcmp"
		if o := cur.Annotations[contract.AnnotationOwner]; o != "" {
			owner += " (" + o + ")"
		}
		return refuse(owner, "another carrier created it")
	case managedByVSO:
		return refuse("Vault Secrets Operator", "VSO syncs it")
	}
	if !d.Create {
		return destWriteData, nil
	}
	if !d.Overwrite {
		return refuse("someone else", "it exists and carrier "+carrier.Name+" did not create it; destination.overwrite: true adopts a Secret nothing owns")
	}
	if cur.Type != want {
		return refuse("someone else", fmt.Sprintf("its type is %s, the destination's %s: overwrite never changes the type of a Secret the carrier did not create", cur.Type, want))
	}
	return destAdopt, nil
}

// otherApp is the Argo CD Application that tracks s when it is not the
// carrier's ("" when s has no tracking, or only the carrier's). Instance
// names are compared whole (with the "<namespace>_" of apps in any
// namespace).
func otherApp(carrier, s *corev1.Secret, instanceLabelKey string) string {
	ours := trackingApps(carrier, instanceLabelKey)
	for _, a := range trackingApps(s, instanceLabelKey) {
		found := false
		for _, o := range ours {
			found = found || a == o
		}
		if !found {
			return a
		}
	}
	return ""
}

// trackingApps are the Application instance names in an object's Argo CD
// tracking labels (the default key and the installation's custom one) and
// annotation.
func trackingApps(s *corev1.Secret, instanceLabelKey string) []string {
	var apps []string
	if l := s.Labels[labelArgoInstance]; l != "" {
		apps = append(apps, l)
	}
	if l := s.Labels[instanceLabelKey]; instanceLabelKey != "" && instanceLabelKey != labelArgoInstance && l != "" {
		apps = append(apps, l)
	}
	if id := s.Annotations[annotationArgoTracking]; id != "" {
		app, _, _ := strings.Cut(id, ":")
		apps = append(apps, app)
	}
	return apps
}
