package v1beta1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// VaultConnection says where Vault is and how to reach it.
type VaultConnection struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultConnectionSpec `json:"spec"`
	// Status is accepted and ignored.
	Status json.RawMessage `json:"status,omitempty"`
}

// VaultConnectionSpec is the spec of a VaultConnection.
type VaultConnectionSpec struct {
	// Address of Vault, e.g. https://vault.example.com:8200. Required.
	Address string `json:"address"`
	// Headers added to every Vault request.
	Headers map[string]string `json:"headers,omitempty"`
	// TLSServerName is the SNI host name.
	TLSServerName string `json:"tlsServerName,omitempty"`
	// CACertSecretRef names a Secret with key "ca.crt" in the namespace of
	// the VaultConnection; exclusive with CACertPath.
	CACertSecretRef string `json:"caCertSecretRef,omitempty"`
	// CACertPath is a PEM file on the plugin's file system; exclusive with
	// CACertSecretRef.
	CACertPath string `json:"caCertPath,omitempty"`
	// SkipTLSVerify disables TLS verification.
	SkipTLSVerify bool `json:"skipTLSVerify"`
	// Timeout of each Vault request, in ParseDuration syntax.
	Timeout string `json:"timeout,omitempty"`
}

// GetKind returns KindVaultConnection.
func (*VaultConnection) GetKind() string { return KindVaultConnection }

// Validate checks the object; see the package documentation.
func (o *VaultConnection) Validate() field.ErrorList {
	return append(validateObjectMeta(&o.ObjectMeta), o.Spec.Validate()...)
}

// Validate checks the spec alone, at paths under spec: the rules a
// VaultConnection's spec obeys wherever it is carried (the companion's
// contract holds it without its object).
func (s *VaultConnectionSpec) Validate() field.ErrorList {
	var errs field.ErrorList
	p := &specPaths
	errs = append(errs, validateHTTPURL(s.Address, p.address)...)
	errs = append(errs, validateHeaders(s.Headers, p.headers)...)
	errs = append(errs, validateName(s.CACertSecretRef, false, p.caCertSecretRef)...)
	if s.CACertSecretRef != "" && s.CACertPath != "" {
		errs = append(errs, field.Forbidden(p.caCertPath, "may not be set together with caCertSecretRef"))
	}
	return append(errs, validateDuration(s.Timeout, p.timeout)...)
}
