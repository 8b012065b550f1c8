package v1beta1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// HTTP methods of a dynamic secret request (RequestHTTPMethod).
const (
	HTTPMethodGet  = "GET"
	HTTPMethodPost = "POST"
	HTTPMethodPut  = "PUT"
)

// Renewal percent bounds and default of VaultDynamicSecret.
const (
	DefaultRenewalPercent = 67
	MaxRenewalPercent     = 90
)

// httpMethods are the allowed VaultDynamicSecretSpec.RequestHTTPMethod values,
// in the order errors list them.
var httpMethods = []string{HTTPMethodGet, HTTPMethodPost, HTTPMethodPut}

// VaultDynamicSecret syncs dynamic credentials (with a lease) into a
// Kubernetes Secret.
type VaultDynamicSecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultDynamicSecretSpec `json:"spec"`
	// Status is accepted and ignored.
	Status json.RawMessage `json:"status,omitempty"`
}

// VaultDynamicSecretSpec is the spec of a VaultDynamicSecret.
type VaultDynamicSecretSpec struct {
	// VaultAuthRef is "name" (in this object's namespace) or
	// "namespace/name"; empty means the default VaultAuth. See ParseRef.
	VaultAuthRef string `json:"vaultAuthRef,omitempty"`
	// Namespace in Vault (Enterprise) of the mount.
	Namespace string `json:"namespace,omitempty"`
	// Mount of the secrets engine. Required.
	Mount string `json:"mount"`
	// RequestHTTPMethod is GET (default), POST or PUT; POST equals PUT.
	// Non-empty Params force PUT.
	RequestHTTPMethod string `json:"requestHTTPMethod,omitempty"`
	// Path below the mount, e.g. creds/my-role. Required.
	Path string `json:"path"`
	// Params of the request. Values are never printed in errors.
	Params map[string]string `json:"params,omitempty"`
	// RenewalPercent of the lease duration at which the lease is renewed;
	// nil means 67. See RenewalPercentOrDefault.
	RenewalPercent *int `json:"renewalPercent,omitempty"`
	// Revoke the lease on deletion.
	Revoke bool `json:"revoke,omitempty"`
	// AllowStaticCreds for static roles (static-creds paths).
	AllowStaticCreds bool `json:"allowStaticCreds,omitempty"`
	// RolloutRestartTargets are restarted when new credentials are written.
	RolloutRestartTargets []RolloutRestartTarget `json:"rolloutRestartTargets,omitempty"`
	// Destination Secret. Required.
	Destination Destination `json:"destination"`
	// RefreshAfter applies when the response has no lease duration.
	RefreshAfter string `json:"refreshAfter,omitempty"`
}

// GetKind returns KindVaultDynamicSecret.
func (*VaultDynamicSecret) GetKind() string { return KindVaultDynamicSecret }

// RenewalPercentOrDefault returns spec.renewalPercent (67 when unset),
// clamped to [0, 90] like VSO.
func (o *VaultDynamicSecret) RenewalPercentOrDefault() int {
	if o.Spec.RenewalPercent == nil {
		return DefaultRenewalPercent
	}
	return min(max(*o.Spec.RenewalPercent, 0), MaxRenewalPercent)
}

// Validate checks the object; see the package documentation.
func (o *VaultDynamicSecret) Validate() field.ErrorList {
	errs := validateObjectMeta(&o.ObjectMeta)
	s, p := &o.Spec, &specPaths
	errs = append(errs, validateRef(s.VaultAuthRef, p.vaultAuthRef)...)
	errs = append(errs, validateVaultPath(s.Mount, true, p.mount)...)
	errs = append(errs, validateVaultPath(s.Path, true, p.path)...)
	errs = append(errs, validateEnum(s.RequestHTTPMethod, false, p.requestHTTPMethod, httpMethods...)...)
	if rp := s.RenewalPercent; rp != nil && (*rp < 0 || *rp > MaxRenewalPercent) {
		errs = append(errs, field.Invalid(p.renewalPercent, *rp, "must be between 0 and 90, inclusive"))
	}
	errs = append(errs, validateDuration(s.RefreshAfter, p.refreshAfter)...)
	errs = append(errs, validateRolloutRestartTargets(s.RolloutRestartTargets, p.rolloutRestartTargets)...)
	return append(errs, s.Destination.validate(&destinationPaths)...)
}
