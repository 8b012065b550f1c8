package v1beta1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// KV secrets engine versions (VaultStaticSecretSpec.Type).
const (
	KVv1 = "kv-v1"
	KVv2 = "kv-v2"
)

// kvTypes are the allowed VaultStaticSecretSpec.Type values, in the order
// errors list them.
var kvTypes = []string{KVv1, KVv2}

// VaultStaticSecret syncs a KV secret into a Kubernetes Secret.
type VaultStaticSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultStaticSecretSpec `json:"spec"`
	// Status is accepted and ignored.
	Status json.RawMessage `json:"status,omitempty"`
}

// VaultStaticSecretSpec is the spec of a VaultStaticSecret.
type VaultStaticSecretSpec struct {
	// VaultAuthRef is "name" (in this object's namespace) or
	// "namespace/name"; empty means the default VaultAuth. See ParseRef.
	VaultAuthRef string `json:"vaultAuthRef,omitempty"`
	// Namespace in Vault (Enterprise) of the mount.
	Namespace string `json:"namespace,omitempty"`
	// Mount of the KV engine. Required.
	Mount string `json:"mount"`
	// Path of the secret below the mount (without "data/"). Required.
	Path string `json:"path"`
	// Version to read (kv-v2 only); 0 means the latest.
	Version int `json:"version,omitempty"`
	// Type is kv-v1 or kv-v2. Required.
	Type string `json:"type"`
	// RefreshAfter is the re-read period in ParseDuration syntax.
	RefreshAfter string `json:"refreshAfter,omitempty"`
	// HMACSecretData defaults to true; see HMACEnabled.
	HMACSecretData *bool `json:"hmacSecretData,omitempty"`
	// RolloutRestartTargets are restarted when the data changes (only with
	// HMAC enabled).
	RolloutRestartTargets []RolloutRestartTarget `json:"rolloutRestartTargets,omitempty"`
	// Destination Secret. Required.
	Destination Destination `json:"destination"`
	// SyncConfig of Vault event subscriptions.
	SyncConfig *SyncConfig `json:"syncConfig,omitempty"`
}

// GetKind returns KindVaultStaticSecret.
func (*VaultStaticSecret) GetKind() string { return KindVaultStaticSecret }

// HMACEnabled returns spec.hmacSecretData, true when unset.
func (o *VaultStaticSecret) HMACEnabled() bool {
	return o.Spec.HMACSecretData == nil || *o.Spec.HMACSecretData
}

// Validate checks the object; see the package documentation.
func (o *VaultStaticSecret) Validate() field.ErrorList {
	errs := validateObjectMeta(&o.ObjectMeta)
	s, p := &o.Spec, &specPaths
	errs = append(errs, validateRef(s.VaultAuthRef, p.vaultAuthRef)...)
	errs = append(errs, validateVaultPath(s.Mount, true, p.mount)...)
	errs = append(errs, validateVaultPath(s.Path, true, p.path)...)
	errs = append(errs, validateEnum(s.Type, true, p.typ, kvTypes...)...)
	switch {
	case s.Version < 0:
		errs = append(errs, field.Invalid(p.version, s.Version, "must be greater than or equal to 0"))
	case s.Version > 0 && s.Type != KVv2:
		errs = append(errs, field.Forbidden(p.version, "may only be set with type kv-v2"))
	}
	errs = append(errs, validateDuration(s.RefreshAfter, p.refreshAfter)...)
	errs = append(errs, validateRolloutRestartTargets(s.RolloutRestartTargets, p.rolloutRestartTargets)...)
	return append(errs, s.Destination.validate(&destinationPaths)...)
}
