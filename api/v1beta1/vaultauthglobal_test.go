package v1beta1

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const globalYAML = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuthGlobal
metadata:
  name: default
  namespace: platform
spec:
  allowedNamespaces: ["*"]
  vaultConnectionRef: east
  defaultAuthMethod: kubernetes
  defaultMount: k8s
  defaultVaultNamespace: team
  params: {p: "1"}
  headers: {X-Team: a}
  kubernetes:
    role: app
    serviceAccount: default
    audiences: [vault]
    tokenExpirationSeconds: 900
    namespace: kns
    mount: kmount
    headers: {X-K: k}
    params: {kp: "2"}
  appRole:
    roleId: rid
    secretRef: approle
  jwt:
    role: j
    secretRef: {name: jwt, key: token}
  aws: {role: a, region: eu-west-1}
  gcp: {role: g, workloadIdentityServiceAccount: wi}
status: {valid: true}
`

// A VaultAuthGlobal decodes as VSO writes it, the method blocks' own
// fields and the common ones (namespace, mount, params, headers) inline,
// from JSON and from a loaded value alike.
func TestDecodeVaultAuthGlobal(t *testing.T) {
	obj, err := decodeYAML(t, globalYAML)
	require.NoError(t, err)
	g := obj.(*VaultAuthGlobal)
	assert.Equal(t, "kubernetes", g.Spec.DefaultAuthMethod)
	assert.Equal(t, map[string]string{"p": "1"}, g.Spec.DefaultParams)
	assert.Equal(t, map[string]string{"X-Team": "a"}, g.Spec.DefaultHeaders)
	require.NotNil(t, g.Spec.Kubernetes)
	assert.Equal(t, VaultAuthConfigKubernetes{Role: "app", ServiceAccount: "default", TokenAudiences: []string{"vault"}, TokenExpirationSeconds: 900}, g.Spec.Kubernetes.VaultAuthConfigKubernetes)
	assert.Equal(t, GlobalMethodCommon{Namespace: "kns", Mount: "kmount", Headers: map[string]string{"X-K": "k"}, Params: map[string]string{"kp": "2"}}, g.Spec.Kubernetes.GlobalMethodCommon)
	assert.Equal(t, SecretKeyRef{Name: "jwt", Key: "token"}, g.Spec.JWT.SecretRef)
	assert.Equal(t, "wi", g.Spec.GCP.WorkloadIdentityServiceAccount)

	var v map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(globalYAML), &v))
	obj2, err := DecodeValue(v)
	require.NoError(t, err)
	assert.Equal(t, g.Spec, obj2.(*VaultAuthGlobal).Spec)
}

// Strict as every kind: unknown fields, wrong enums, forbidden headers
// and bad paths are refused at their field path.
func TestDecodeVaultAuthGlobalErrors(t *testing.T) {
	tests := []struct{ name, from, to, field string }{
		{"unknown field", "defaultMount: k8s", "defaultMount: k8s\n  mystery: 1", "spec.mystery"},
		{"unknown field in a method block", "    mount: kmount", "    mount: kmount\n    nope: x", "spec.kubernetes.nope"},
		{"unsupported defaultAuthMethod", "defaultAuthMethod: kubernetes", "defaultAuthMethod: ldap", "spec.defaultAuthMethod"},
		{"a credential header", "headers: {X-Team: a}", "headers: {X-Vault-Token: a}", "spec.headers[X-Vault-Token]"},
		{"a mount that leaves its path", "defaultMount: k8s", "defaultMount: /k8s", "spec.defaultMount"},
		{"a method block's mount", "    mount: kmount", "    mount: ../x", "spec.kubernetes.mount"},
		{"allowedNamespaces * with others", `allowedNamespaces: ["*"]`, `allowedNamespaces: ["*", "a"]`, "spec.allowedNamespaces[0]"},
		{"token expiration below VSO's minimum", "tokenExpirationSeconds: 900", "tokenExpirationSeconds: 60", "spec.kubernetes.tokenExpirationSeconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := replaceOnce(t, globalYAML, tc.from, tc.to)
			_, err := decodeYAML(t, y)
			assert.Contains(t, errorFields(t, err), tc.field)
		})
	}
}

func replaceOnce(t *testing.T, s, from, to string) string {
	t.Helper()
	out := replace(s, from, to)
	require.NotEqual(t, s, out, "no %q in the YAML", from)
	return out
}

// MergeVaultAuthGlobal is VSO's MergeInVaultAuthGlobal: each rule below
// is one of its lines.
func TestMergeVaultAuthGlobal(t *testing.T) {
	g := func(spec VaultAuthGlobalSpec) *VaultAuthGlobal {
		return &VaultAuthGlobal{ObjectMeta: metav1.ObjectMeta{Name: "g", Namespace: "ns"}, Spec: spec}
	}
	va := func(ref VaultAuthGlobalRef, spec VaultAuthSpec) *VaultAuth {
		spec.VaultAuthGlobalRef = &ref
		return &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns"}, Spec: spec}
	}
	k8sBlock := &VaultAuthGlobalConfigKubernetes{VaultAuthConfigKubernetes: VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "sa"},
		GlobalMethodCommon: GlobalMethodCommon{Params: map[string]string{"a": "method", "m": "method"}, Headers: map[string]string{"H": "method"}}}
	base := VaultAuthGlobalSpec{DefaultAuthMethod: MethodKubernetes, DefaultMount: "k8s", Kubernetes: k8sBlock,
		DefaultParams: map[string]string{"a": "default", "d": "default"}, DefaultHeaders: map[string]string{"H": "default", "D": "default"}}
	noParams := base
	noParams.Kubernetes = &VaultAuthGlobalConfigKubernetes{VaultAuthConfigKubernetes: k8sBlock.VaultAuthConfigKubernetes}
	tests := []struct {
		name  string
		a     *VaultAuth
		g     *VaultAuthGlobal
		check func(t *testing.T, s VaultAuthSpec)
	}{
		{"params none (the default): the VaultAuth's only", va(VaultAuthGlobalRef{Name: "g"}, VaultAuthSpec{Params: map[string]string{"a": "own"}}), g(base),
			func(t *testing.T, s VaultAuthSpec) { assert.Equal(t, map[string]string{"a": "own"}, s.Params) }},
		{"params none, explicitly: nothing when the VaultAuth has none", va(VaultAuthGlobalRef{Name: "g", MergeStrategy: &MergeStrategy{Params: "none"}}, VaultAuthSpec{}), g(base),
			func(t *testing.T, s VaultAuthSpec) { assert.Nil(t, s.Params) }},
		{"params union: defaults, then the method block's, then the VaultAuth's win",
			va(VaultAuthGlobalRef{Name: "g", MergeStrategy: &MergeStrategy{Params: "union"}}, VaultAuthSpec{Params: map[string]string{"a": "own", "o": "own"}}), g(base),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, map[string]string{"a": "own", "o": "own", "m": "method", "d": "default"}, s.Params)
			}},
		{"params replace: the VaultAuth's when it has some", va(VaultAuthGlobalRef{Name: "g", MergeStrategy: &MergeStrategy{Params: "replace"}}, VaultAuthSpec{Params: map[string]string{"o": "own"}}), g(base),
			func(t *testing.T, s VaultAuthSpec) { assert.Equal(t, map[string]string{"o": "own"}, s.Params) }},
		{"params replace: else the method block's", va(VaultAuthGlobalRef{Name: "g", MergeStrategy: &MergeStrategy{Params: "replace"}}, VaultAuthSpec{}), g(base),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, map[string]string{"a": "method", "m": "method"}, s.Params)
			}},
		{"params replace: else the global's defaults", va(VaultAuthGlobalRef{Name: "g", MergeStrategy: &MergeStrategy{Params: "replace"}}, VaultAuthSpec{}), g(noParams),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, map[string]string{"a": "default", "d": "default"}, s.Params)
			}},
		{"headers union", va(VaultAuthGlobalRef{Name: "g", MergeStrategy: &MergeStrategy{Headers: "union"}}, VaultAuthSpec{Headers: map[string]string{"O": "own"}}), g(base),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, map[string]string{"O": "own", "H": "method", "D": "default"}, s.Headers)
			}},
		{"headers replace, defaults last", va(VaultAuthGlobalRef{Name: "g", MergeStrategy: &MergeStrategy{Headers: "replace"}}, VaultAuthSpec{}), g(noParams),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, map[string]string{"H": "default", "D": "default"}, s.Headers)
			}},
		{"mount and Vault namespace: the VaultAuth's, else the method block's, else the defaults",
			va(VaultAuthGlobalRef{Name: "g"}, VaultAuthSpec{}),
			g(VaultAuthGlobalSpec{DefaultAuthMethod: MethodJWT, DefaultMount: "dm", DefaultVaultNamespace: "dns",
				JWT: &VaultAuthGlobalConfigJWT{VaultAuthConfigJWT: VaultAuthConfigJWT{Role: "j", ServiceAccount: "sa"}, GlobalMethodCommon: GlobalMethodCommon{Mount: "jm"}}}),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, "jm", s.Mount)
				assert.Equal(t, "dns", s.Namespace)
				assert.Equal(t, &VaultAuthConfigJWT{Role: "j", ServiceAccount: "sa"}, s.JWT)
			}},
		{"appRole block merged field by field", va(VaultAuthGlobalRef{Name: "g"}, VaultAuthSpec{Method: MethodAppRole, AppRole: &VaultAuthConfigAppRole{SecretRef: SecretKeyRef{Name: "mine"}}}),
			g(VaultAuthGlobalSpec{DefaultMount: "approle", AppRole: &VaultAuthGlobalConfigAppRole{VaultAuthConfigAppRole: VaultAuthConfigAppRole{RoleID: "rid", SecretRef: SecretKeyRef{Name: "theirs"}}}}),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, &VaultAuthConfigAppRole{RoleID: "rid", SecretRef: SecretKeyRef{Name: "mine"}}, s.AppRole)
			}},
		{"aws block merged field by field", va(VaultAuthGlobalRef{Name: "g"}, VaultAuthSpec{Method: MethodAWS, AWS: &VaultAuthConfigAWS{Region: "us-east-1"}}),
			g(VaultAuthGlobalSpec{DefaultMount: "aws", AWS: &VaultAuthGlobalConfigAWS{VaultAuthConfigAWS: VaultAuthConfigAWS{Role: "a", Region: "eu-west-1", IRSAServiceAccount: "irsa"}}}),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, &VaultAuthConfigAWS{Role: "a", Region: "us-east-1", IRSAServiceAccount: "irsa"}, s.AWS)
			}},
		{"gcp block merged field by field", va(VaultAuthGlobalRef{Name: "g"}, VaultAuthSpec{Method: MethodGCP}),
			g(VaultAuthGlobalSpec{DefaultMount: "gcp", GCP: &VaultAuthGlobalConfigGCP{VaultAuthConfigGCP: VaultAuthConfigGCP{Role: "g", WorkloadIdentityServiceAccount: "wi", ProjectID: "p"}}}),
			func(t *testing.T, s VaultAuthSpec) {
				assert.Equal(t, &VaultAuthConfigGCP{Role: "g", WorkloadIdentityServiceAccount: "wi", ProjectID: "p"}, s.GCP)
			}},
		{"vaultConnectionRef: the VaultAuth's wins", va(VaultAuthGlobalRef{Name: "g"}, VaultAuthSpec{VaultConnectionRef: "mine"}),
			g(func() VaultAuthGlobalSpec { s := base; s.VaultConnectionRef = "theirs"; return s }()),
			func(t *testing.T, s VaultAuthSpec) { assert.Equal(t, "mine", s.VaultConnectionRef) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.a.Spec.VaultAuthGlobalRef
			s, errs := MergeVaultAuthGlobal(tc.a, tc.g)
			require.Empty(t, errs)
			assert.Nil(t, s.VaultAuthGlobalRef)
			tc.check(t, s)
			assert.Equal(t, before, *tc.a.Spec.VaultAuthGlobalRef, "the VaultAuth is not changed")
		})
	}
}
