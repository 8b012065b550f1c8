package v1beta1

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// API group and version of the VSO resources.
const (
	Group      = "secrets.hashicorp.com"
	Version    = "v1beta1"
	APIVersion = Group + "/" + Version
)

// Kind names of the supported resources.
const (
	KindVaultConnection      = "VaultConnection"
	KindVaultAuth            = "VaultAuth"
	KindVaultStaticSecret    = "VaultStaticSecret"
	KindVaultDynamicSecret   = "VaultDynamicSecret"
	KindVaultPKISecret       = "VaultPKISecret"
	KindSecretTransformation = "SecretTransformation"
)

// Kinds lists the supported kinds in a stable order.
var Kinds = []string{
	KindVaultConnection,
	KindVaultAuth,
	KindVaultStaticSecret,
	KindVaultDynamicSecret,
	KindVaultPKISecret,
	KindSecretTransformation,
	KindVaultAuthGlobal,
}

// Object is implemented by every supported kind.
type Object interface {
	metav1.Object
	// GetKind returns the kind constant of the type (not TypeMeta.Kind).
	GetKind() string
	// Validate checks the object and returns every problem, with paths
	// rooted at "metadata" and "spec".
	Validate() field.ErrorList
}

var (
	_ Object = &VaultConnection{}
	_ Object = &VaultAuth{}
	_ Object = &VaultStaticSecret{}
	_ Object = &VaultDynamicSecret{}
	_ Object = &VaultPKISecret{}
	_ Object = &SecretTransformation{}
)

// IsVaultAPIVersion reports whether apiVersion belongs to the
// secrets.hashicorp.com group, whatever the version.
func IsVaultAPIVersion(apiVersion string) bool {
	return strings.HasPrefix(apiVersion, Group+"/")
}

// NewObject returns a new empty object of the given kind with TypeMeta set,
// or nil if the kind is not supported.
func NewObject(kind string) Object {
	tm := metav1.TypeMeta{APIVersion: APIVersion, Kind: kind}
	switch kind {
	case KindVaultConnection:
		return &VaultConnection{TypeMeta: tm}
	case KindVaultAuth:
		return &VaultAuth{TypeMeta: tm}
	case KindVaultStaticSecret:
		return &VaultStaticSecret{TypeMeta: tm}
	case KindVaultDynamicSecret:
		return &VaultDynamicSecret{TypeMeta: tm}
	case KindVaultPKISecret:
		return &VaultPKISecret{TypeMeta: tm}
	case KindSecretTransformation:
		return &SecretTransformation{TypeMeta: tm}
	case KindVaultAuthGlobal:
		return &VaultAuthGlobal{TypeMeta: tm}
	default:
		return nil
	}
}
