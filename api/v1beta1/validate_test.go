package v1beta1

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// decodeErrorCase is one bad input and the exact field paths it must report.
type decodeErrorCase struct {
	name       string
	yaml       string
	wantFields []string
	// wantType, when set, is the type of every reported error.
	wantType field.ErrorType
}

func runDecodeErrorCases(t *testing.T, tests []decodeErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := decodeYAML(t, tt.yaml)
			assert.Nil(t, obj)
			assert.Equal(t, tt.wantFields, errorFields(t, err), "error: %v", err)
			if tt.wantType != "" {
				var de *DecodeError
				require.ErrorAs(t, err, &de)
				for _, fe := range de.Errs {
					assert.Equal(t, tt.wantType, fe.Type, fe.Error())
				}
			}
		})
	}
}

// TestDecodeErrorsStaticSecret covers decoding and the common spec parts.
func TestDecodeErrorsStaticSecret(t *testing.T) {
	const vss = `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: webapp-config, namespace: webapp-ns}
spec:
  type: kv-v2
  mount: secret
  path: webapp/config
  destination: {name: webapp-k8s-secret, create: true}
`
	runDecodeErrorCases(t, []decodeErrorCase{
		{
			name: "unknown field, and the name it replaced is missing",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: webapp-config}
spec: {type: kv-v2, mount: secret, path: p, destination: {nmae: x}}
`,
			wantFields: []string{"spec.destination.nmae", "spec.destination.name"},
		},
		{
			name:       "unknown field in a list item",
			yaml:       vss + "  rolloutRestartTargets: [{kind: Deployment, name: web, namespace: x}]\n",
			wantFields: []string{"spec.rolloutRestartTargets[0].namespace"},
			wantType:   field.ErrorTypeForbidden,
		},
		{
			name:       "unknown top-level field",
			yaml:       vss + "data: {a: b}\n",
			wantFields: []string{"data"},
			wantType:   field.ErrorTypeForbidden,
		},
		{
			name:       "wrong type",
			yaml:       vss + "  version: two\n",
			wantFields: []string{"spec.version"},
			wantType:   field.ErrorTypeTypeInvalid,
		},
		{
			name:       "wrong type of bool",
			yaml:       vss + "  hmacSecretData: maybe\n",
			wantFields: []string{"spec.hmacSecretData"},
			wantType:   field.ErrorTypeTypeInvalid,
		},
		{
			name:       "bad enum",
			yaml:       replace(vss, "type: kv-v2", "type: kv-v3"),
			wantFields: []string{"spec.type"},
			wantType:   field.ErrorTypeNotSupported,
		},
		{
			name:       "bad duration",
			yaml:       vss + "  refreshAfter: 1d\n",
			wantFields: []string{"spec.refreshAfter"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "missing required mount",
			yaml:       replace(vss, "mount: secret", ""),
			wantFields: []string{"spec.mount"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name:       "missing type and destination name",
			yaml:       replace(replace(vss, "type: kv-v2", ""), "name: webapp-k8s-secret, ", ""),
			wantFields: []string{"spec.type", "spec.destination.name"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name:       "dot-dot in path",
			yaml:       replace(vss, "path: webapp/config", "path: webapp/../other"),
			wantFields: []string{"spec.path"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "leading slash in mount",
			yaml:       replace(vss, "mount: secret", "mount: /secret"),
			wantFields: []string{"spec.mount"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "version with kv-v1",
			yaml:       replace(vss, "type: kv-v2", "type: kv-v1") + "  version: 2\n",
			wantFields: []string{"spec.version"},
			wantType:   field.ErrorTypeForbidden,
		},
		{
			name:       "negative version",
			yaml:       vss + "  version: -1\n",
			wantFields: []string{"spec.version"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "bad include regex",
			yaml:       replace(vss, "create: true}", "create: true, transformation: {includes: ['^ok$', '(']}}"),
			wantFields: []string{"spec.destination.transformation.includes[1]"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "template without text",
			yaml:       replace(vss, "create: true}", "create: true, transformation: {templates: {URL: {name: u}}}}"),
			wantFields: []string{"spec.destination.transformation.templates[URL].text"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name: "transformationRef and templateRef without name",
			yaml: replace(vss, "create: true}",
				"create: true, transformation: {transformationRefs: [{templateRefs: [{keyOverride: k}]}]}}"),
			wantFields: []string{
				"spec.destination.transformation.transformationRefs[0].name",
				"spec.destination.transformation.transformationRefs[0].templateRefs[0].name",
			},
			wantType: field.ErrorTypeRequired,
		},
		{
			name:       "bad destination name",
			yaml:       replace(vss, "name: webapp-k8s-secret", "name: Web_Secret"),
			wantFields: []string{"spec.destination.name"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "bad destination label key",
			yaml:       replace(vss, "create: true}", "create: true, labels: {'bad key': x}}"),
			wantFields: []string{"spec.destination.labels"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "bad destination annotation key",
			yaml:       replace(vss, "create: true}", "create: true, annotations: {'-x/y/z': x}}"),
			wantFields: []string{"spec.destination.annotations"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "bad rollout kind",
			yaml:       vss + "  rolloutRestartTargets: [{kind: Pod, name: web}]\n",
			wantFields: []string{"spec.rolloutRestartTargets[0].kind"},
			wantType:   field.ErrorTypeNotSupported,
		},
		{
			name:       "rollout target without name",
			yaml:       vss + "  rolloutRestartTargets: [{kind: StatefulSet}]\n",
			wantFields: []string{"spec.rolloutRestartTargets[0].name"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name:       "bad vaultAuthRef",
			yaml:       vss + "  vaultAuthRef: a/b/c\n",
			wantFields: []string{"spec.vaultAuthRef"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "bad metadata name",
			yaml:       replace(vss, "name: webapp-config", "name: Webapp_Config"),
			wantFields: []string{"metadata.name"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name:       "missing metadata name",
			yaml:       replace(vss, "name: webapp-config, ", ""),
			wantFields: []string{"metadata.name"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name:       "unsupported apiVersion",
			yaml:       replace(vss, "v1beta1", "v1alpha1"),
			wantFields: []string{"apiVersion"},
			wantType:   field.ErrorTypeNotSupported,
		},
		{
			name:       "unsupported kind",
			yaml:       replace(vss, "kind: VaultStaticSecret", "kind: VaultNoSuchKind"),
			wantFields: []string{"kind"},
			wantType:   field.ErrorTypeNotSupported,
		},
	})
}

// TestDecodeErrorsOtherKinds covers VDS, PKI, VaultConnection and SecretTransformation.
func TestDecodeErrorsOtherKinds(t *testing.T) {
	runDecodeErrorCases(t, []decodeErrorCase{
		{
			name: "VDS bad renewalPercent",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata: {name: db}
spec: {mount: database, path: creds/ro, renewalPercent: 95, destination: {name: db}}
`,
			wantFields: []string{"spec.renewalPercent"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name: "VDS bad method and refreshAfter",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata: {name: db}
spec: {mount: database, path: creds/ro, requestHTTPMethod: DELETE, refreshAfter: '10', destination: {name: db}}
`,
			wantFields: []string{"spec.requestHTTPMethod", "spec.refreshAfter"},
		},
		{
			name: "VDS missing mount, path and destination name",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata: {name: db}
spec: {destination: {}}
`,
			wantFields: []string{"spec.mount", "spec.path", "spec.destination.name"},
			wantType:   field.ErrorTypeRequired,
		},
		{
			name: "PKI bad ttl, expiryOffset and notAfter, dot-dot role",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata: {name: tls}
spec: {mount: pki, role: ../x, ttl: 1w, expiryOffset: 1d, notAfter: tomorrow, destination: {name: tls}}
`,
			wantFields: []string{"spec.role", "spec.expiryOffset", "spec.ttl", "spec.notAfter"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name: "PKI expiryOffset not shorter than ttl: can never be met",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata: {name: tls}
spec: {mount: pki, role: web, ttl: 30s, expiryOffset: 30s, destination: {name: tls}}
`,
			wantFields: []string{"spec.expiryOffset"},
			wantType:   field.ErrorTypeInvalid,
		},
		{
			name: "PKI missing mount and role, issuerRef with leading slash",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata: {name: tls}
spec: {issuerRef: /default, destination: {name: tls}}
`,
			wantFields: []string{"spec.mount", "spec.role", "spec.issuerRef"},
		},
		{
			name: "VaultConnection missing address, bad timeout, both CA sources",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata: {name: c}
spec: {timeout: 1x, caCertSecretRef: ca, caCertPath: /ca.pem}
`,
			wantFields: []string{"spec.address", "spec.caCertPath", "spec.timeout"},
		},
		{
			name: "SecretTransformation source template without text, bad exclude",
			yaml: `
apiVersion: secrets.hashicorp.com/v1beta1
kind: SecretTransformation
metadata: {name: st}
spec: {sourceTemplates: [{name: helpers}], excludes: ['a(b'], templates: {k: {text: x}}}
`,
			wantFields: []string{"spec.sourceTemplates[0].text", "spec.excludes[0]"},
		},
	})
}
