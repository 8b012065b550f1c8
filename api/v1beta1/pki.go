package v1beta1

import (
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vaultcmp/vaultcmp/limits"
)

// VaultPKISecret issues a certificate from Vault's PKI engine into a
// Kubernetes Secret.
type VaultPKISecret struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultPKISecretSpec `json:"spec"`
	// Status is accepted and ignored.
	Status json.RawMessage `json:"status,omitempty"`
}

// VaultPKISecretSpec is the spec of a VaultPKISecret. The request fields
// map to Vault's pki/issue parameters.
type VaultPKISecretSpec struct {
	// VaultAuthRef is "name" (in this object's namespace) or
	// "namespace/name"; empty means the default VaultAuth. See ParseRef.
	VaultAuthRef string `json:"vaultAuthRef,omitempty"`
	// Namespace in Vault (Enterprise) of the mount.
	Namespace string `json:"namespace,omitempty"`
	// Mount of the PKI engine. Required.
	Mount string `json:"mount"`
	// Role to issue with: <mount>/issue/<role>. Required.
	Role string `json:"role"`
	// IssuerRef selects <mount>/issuer/<issuerRef>/issue/<role>.
	IssuerRef string `json:"issuerRef,omitempty"`
	// Revoke the previous certificate on re-issue and on deletion.
	Revoke bool `json:"revoke,omitempty"`
	// Clear the Secret data on deletion (with create=false).
	Clear bool `json:"clear,omitempty"`
	// ExpiryOffset: re-issue this long before expiry (ParseDuration syntax).
	ExpiryOffset string `json:"expiryOffset,omitempty"`
	// RolloutRestartTargets are restarted on every re-issue.
	RolloutRestartTargets []RolloutRestartTarget `json:"rolloutRestartTargets,omitempty"`
	// Destination Secret. Required.
	Destination Destination `json:"destination"`

	CommonName string   `json:"commonName,omitempty"`
	AltNames   []string `json:"altNames,omitempty"`
	IPSans     []string `json:"ipSans,omitempty"`
	URISans    []string `json:"uriSans,omitempty"`
	OtherSans  []string `json:"otherSans,omitempty"`
	UserIDs    []string `json:"userIDs,omitempty"`
	// TTL in ParsePKIDuration syntax (days allowed).
	TTL              string `json:"ttl,omitempty"`
	Format           string `json:"format,omitempty"`
	PrivateKeyFormat string `json:"privateKeyFormat,omitempty"`
	// NotAfter is an RFC 3339 time, e.g. 2030-01-01T00:00:00Z.
	NotAfter          string `json:"notAfter,omitempty"`
	ExcludeCNFromSans bool   `json:"excludeCNFromSans,omitempty"`
}

// ExpiryWindow returns the parsed ttl and expiryOffset (0 when unset); ok is
// false when either does not parse (Validate reports it).
func (s *VaultPKISecretSpec) ExpiryWindow() (ttl, offset time.Duration, ok bool) {
	ttl, err := ParsePKIDuration(s.TTL)
	if err != nil {
		return 0, 0, false
	}
	offset, err = ParseDuration(s.ExpiryOffset)
	if err != nil {
		return 0, 0, false
	}
	return ttl, offset, true
}

// GetKind returns KindVaultPKISecret.
func (*VaultPKISecret) GetKind() string { return KindVaultPKISecret }

// Validate checks the object; see the package documentation.
func (o *VaultPKISecret) Validate() field.ErrorList {
	errs := validateObjectMeta(&o.ObjectMeta)
	s, p := &o.Spec, &specPaths
	errs = append(errs, validateRef(s.VaultAuthRef, p.vaultAuthRef)...)
	errs = append(errs, validateVaultPath(s.Mount, true, p.mount)...)
	errs = append(errs, validateVaultPath(s.Role, true, p.role)...)
	errs = append(errs, validateVaultPath(s.IssuerRef, false, p.issuerRef)...)
	errs = append(errs, validateDuration(s.ExpiryOffset, p.expiryOffset)...)
	errs = append(errs, validatePKIDuration(s.TTL, p.ttl)...)
	if ttl, offset, ok := s.ExpiryWindow(); ok && ttl > 0 && offset >= ttl {
		// Whatever the operator's floor: re-issued as soon as issued.
		f := limits.Lookup(limits.MinReissueInterval)
		errs = append(errs, field.Invalid(p.expiryOffset, s.ExpiryOffset, fmt.Sprintf(
			"must be shorter than spec.ttl (%s): it can never be met (a new certificate as soon as one is issued); ttl − expiryOffset must leave at least the re-issue floor (%s, %s)",
			s.TTL, f.Flag(), f.Env)))
	}
	if s.NotAfter != "" {
		if _, err := time.Parse(time.RFC3339, s.NotAfter); err != nil {
			errs = append(errs, field.Invalid(p.notAfter, s.NotAfter, "must be an RFC 3339 time like 2030-01-01T00:00:00Z"))
		}
	}
	errs = append(errs, validateRolloutRestartTargets(s.RolloutRestartTargets, p.rolloutRestartTargets)...)
	return append(errs, s.Destination.validate(&destinationPaths)...)
}
