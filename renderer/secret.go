package renderer

import (
	"encoding/base64"
	"maps"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// The renderer's own names. The labels and annotations of the Secrets
// vaultcmp writes that the companion shares (managed-by, owner, delivery,
// destination, ...) are contract's.
const (
	argoSyncOptions   = "argocd.argoproj.io/sync-options"
	syncOptionNoPrune = "Prune=false"
	defaultSecretType = "Opaque"
	secretAPIVersion  = "v1"
	secretKind        = "Secret"
)

// staticSecret is the Secret a VaultStaticSecret renders to.
func staticSecret(j *job) map[string]any {
	if j.shipped != nil {
		return shippedSecret(j)
	}
	out := destinationSecret(j.vss.Spec.Destination, j.vss.Namespace, v1beta1.KindVaultStaticSecret, j.vss.Name, contract.DeliveryInline, nil)
	data := make(map[string]any, len(j.data))
	for k, v := range j.data {
		data[k] = base64.StdEncoding.EncodeToString(v)
	}
	out["data"] = data
	return out
}

// destinationSecret is the Secret (without data) that an object's
// destination describes.
//
// With destination.create (VSO: vaultcmp owns the Secret) the Secret carries
// the destination's labels, annotations and type; ours win on conflict. Without
// it (VSO: the Secret exists and only its data is replaced) only the data is
// written, and Argo CD is told never to prune the Secret, which it did not
// create. Argo CD's tracking keys in the destination's labels and
// annotations are dropped (contract.ArgoTracking, the rule the companion
// applies to the Secrets it writes): Argo CD sets its own on what it applies. destination.overwrite has no effect: Argo CD's apply always adopts
// a Secret of the same name.
func destinationSecret(d v1beta1.Destination, ns, ownerKind, ownerName, delivery string, extra map[string]any) map[string]any {
	md := map[string]any{"name": d.Name}
	if ns != "" {
		md["namespace"] = ns
	}
	labels := map[string]any{contract.LabelManagedBy: contract.ManagedBy, contract.LabelDelivery: delivery}
	annotations := map[string]any{contract.AnnotationOwner: contract.Owner(ownerKind, ownerName)}
	maps.Copy(annotations, extra)
	out := map[string]any{"apiVersion": secretAPIVersion, "kind": secretKind, "metadata": md}
	if d.Create {
		if len(d.Labels) > 0 {
			maps.Copy(labels, anyMap(d.Labels, labels))
		}
		if len(d.Annotations) > 0 {
			maps.Copy(annotations, anyMap(d.Annotations, annotations))
		}
		t := string(d.Type)
		if t == "" {
			t = defaultSecretType
		}
		out["type"] = t
	} else {
		annotations[argoSyncOptions] = syncOptionNoPrune
	}
	md["labels"], md["annotations"] = labels, annotations
	return out
}

// anyMap copies m into a map[string]any, leaving out the keys of ours and
// Argo CD's tracking keys.
func anyMap(m map[string]string, ours map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if _, taken := ours[k]; !taken && !contract.ArgoTracking(k, "") {
			out[k] = v
		}
	}
	return out
}
