package v1beta1

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestDecodeErrorsVaultAuth covers VaultAuth methods and their blocks.
func TestDecodeErrorsVaultAuth(t *testing.T) {
	runDecodeErrorCases(t, []decodeErrorCase{
		{
			name: "VaultAuth bad method",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: token, mount: token}
`,
			wantFields: []string{"spec.method"},
			wantType:   field.ErrorTypeNotSupported,
		},
		{
			name: "VaultAuth kubernetes without block",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: kubernetes, mount: kubernetes}
`,
			wantFields: []string{"spec.kubernetes"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name: "VaultAuth kubernetes block incomplete, short token lifetime",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: kubernetes, mount: kubernetes, kubernetes: {tokenExpirationSeconds: 300}}
`,
			wantFields: []string{"spec.kubernetes.role", "spec.kubernetes.serviceAccount", "spec.kubernetes.tokenExpirationSeconds"},
		},
		{
			name: "VaultAuth block of another method",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: kubernetes, mount: kubernetes, appRole: {roleId: x, secretRef: s}}
`,
			wantFields: []string{"spec.kubernetes", "spec.appRole"},
		},
		{
			name: "VaultAuth appRole with secretRef and secretIDPath",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: x, secretRef: s, secretIDPath: /var/run/secret-id}}
`,
			wantFields: []string{"spec.appRole.secretIDPath"},
			wantType:   field.ErrorTypeForbidden,
		},
		{
			name: "VaultAuth appRole with neither secretRef nor secretIDPath",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {}}
`,
			wantFields: []string{"spec.appRole.roleId", "spec.appRole.secretRef"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name: "VaultAuth appRole relative secretIDPath with dot-dot",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: x, secretIDPath: ../id}}
`,
			wantFields: []string{"spec.appRole.secretIDPath", "spec.appRole.secretIDPath"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name: "VaultAuth appRole secretRef object without name",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: x, secretRef: {key: k}}}
`,
			wantFields: []string{"spec.appRole.secretRef.name"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name: "VaultAuth appRole secretRef object with unknown field",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: x, secretRef: {name: s, kye: k}}}
`,
			wantFields: []string{"spec.appRole.secretRef.kye"},
			wantType:   field.ErrorTypeForbidden,
		},
		{
			name: "VaultAuth appRole secretRef of wrong type",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: x, secretRef: [s]}}
`,
			wantFields: []string{"spec.appRole.secretRef"},
			wantType:   field.ErrorTypeTypeInvalid,
		},
		{
			name: "VaultAuth jwt without secretRef or serviceAccount",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: jwt, mount: jwt, jwt: {role: r}}
`,
			wantFields: []string{"spec.jwt.secretRef"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name: "VaultAuth gcp and aws incomplete",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: gcp, mount: gcp, gcp: {}}
`,
			wantFields: []string{"spec.gcp.role", "spec.gcp.workloadIdentityServiceAccount"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name: "VaultAuth missing method and mount, bad allowedNamespaces, bad global strategy",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {allowedNamespaces: ['*', 'b'], storageEncryption: {mount: transit}}
`,
			wantFields: []string{"spec.allowedNamespaces[0]", "spec.method", "spec.mount", "spec.storageEncryption.keyName"},
		},
		{
			name: "VaultAuth bad mergeStrategy",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {vaultAuthGlobalRef: {name: g, mergeStrategy: {headers: merge}}}
`,
			wantFields: []string{"spec.vaultAuthGlobalRef.mergeStrategy.headers"},
			wantType:   field.ErrorTypeNotSupported,
		},
	})
}
