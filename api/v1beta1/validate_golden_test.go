package v1beta1

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/validate-errors.golden")

// invalidObjects returns objects of every kind with errors at every location
// Validate checks, so that the golden file pins each error exactly.
func invalidObjects() []struct {
	name string
	obj  Object
} {
	badMeta := metav1.ObjectMeta{
		Name:        "Bad_Name",
		Namespace:   "Bad_NS",
		Labels:      map[string]string{"z bad key": "ok", "a": "bad value!", "ok": "fine"},
		Annotations: map[string]string{"Bad Key!": "x", "good/key": "y", "-bad": "z"},
	}
	badDest := Destination{
		Name:        "Bad_Dest",
		Labels:      map[string]string{"x/y/z": "v", "b": "-bad-"},
		Annotations: map[string]string{"bad key": "v"},
		Transformation: Transformation{
			Templates: map[string]Template{"bad key": {Text: ""}, "ok": {Text: "{{ . }}"}, "empty": {}},
			TransformationRefs: []TransformationRef{
				{Namespace: "Bad_NS", Name: "", TemplateRefs: []TemplateRef{{Name: ""}, {Name: "t", KeyOverride: "bad key"}}},
				{Name: "ok"},
			},
			Includes: []string{"ok", "(unclosed"},
			Excludes: []string{"[bad", "fine"},
		},
	}
	badTargets := []RolloutRestartTarget{
		{Kind: "Pod", Name: "Bad_Name"}, {}, {Kind: RolloutKindDeployment, Name: "ok"}, {Kind: RolloutKindStatefulSet, Name: "Bad_Name"},
	}
	return []struct {
		name string
		obj  Object
	}{
		{"static empty", &VaultStaticSecret{}},
		{"static everything wrong", &VaultStaticSecret{ObjectMeta: badMeta, Spec: VaultStaticSecretSpec{
			VaultAuthRef: "a/b/c", Mount: "/abs", Path: "x/../y", Version: -1, Type: "kv-v3",
			RefreshAfter: "1d", RolloutRestartTargets: badTargets, Destination: badDest,
		}}},
		{"static ref and version", &VaultStaticSecret{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultStaticSecretSpec{
			VaultAuthRef: "/Bad_Name", Mount: "/..", Path: "p", Version: 2, Type: KVv1, Destination: Destination{Name: "d"},
		}}},
		{"static ref namespace", &VaultStaticSecret{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultStaticSecretSpec{
			VaultAuthRef: "Bad_NS/", Mount: "m", Path: "p", Type: KVv2, Destination: Destination{Name: "d"},
		}}},
		{"static ref name", &VaultStaticSecret{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultStaticSecretSpec{
			VaultAuthRef: "ns/Bad_Name", Mount: "m", Path: "p", Type: KVv2, Destination: Destination{Name: "d"},
		}}},
		{"static annotations too large, keys valid", &VaultStaticSecret{
			ObjectMeta: metav1.ObjectMeta{Name: "n", Annotations: map[string]string{"a": strings.Repeat("x", 256*1024)}},
			Spec: VaultStaticSecretSpec{Mount: "m", Path: "p", Type: KVv2, Destination: Destination{
				Name: "d", Annotations: map[string]string{"example.com/b": strings.Repeat("y", 256*1024)},
				Transformation: Transformation{TransformationRefs: []TransformationRef{{Namespace: "Bad_NS", Name: "ok"}}},
			}},
		}},
		{"dynamic empty", &VaultDynamicSecret{}},
		{"dynamic everything wrong", &VaultDynamicSecret{ObjectMeta: badMeta, Spec: VaultDynamicSecretSpec{
			VaultAuthRef: "a/b/c", Mount: "/abs", Path: "..", RequestHTTPMethod: "DELETE", RenewalPercent: ptrTo(91),
			RefreshAfter: "x", RolloutRestartTargets: badTargets, Destination: badDest,
		}}},
		{"pki empty", &VaultPKISecret{}},
		{"pki everything wrong", &VaultPKISecret{ObjectMeta: badMeta, Spec: VaultPKISecretSpec{
			VaultAuthRef: "a/b/c", Mount: "/abs", Role: "../r", IssuerRef: "/i", ExpiryOffset: "5d", TTL: "1w",
			NotAfter: "tomorrow", RolloutRestartTargets: badTargets, Destination: badDest,
		}}},
		{"transformation empty", &SecretTransformation{}},
		{"transformation everything wrong", &SecretTransformation{ObjectMeta: badMeta, Spec: SecretTransformationSpec{
			Templates:       map[string]Template{"bad key": {Text: ""}, "ok": {Text: "x"}},
			SourceTemplates: []SourceTemplate{{Name: "a", Text: "x"}, {Name: "b"}},
			Includes:        []string{"(", "ok"},
			Excludes:        []string{"ok", ")"},
		}}},
		{"connection empty", &VaultConnection{}},
		{"connection everything wrong", &VaultConnection{ObjectMeta: badMeta, Spec: VaultConnectionSpec{
			Address: "ftp://user:pw@host", Headers: map[string]string{"Bad Header": "v", "X-Ok": "v"},
			CACertSecretRef: "Bad_Ref", CACertPath: "/ca.pem", Timeout: "soon",
		}}},
		{"auth empty", &VaultAuth{}},
		{"auth kubernetes wrong", &VaultAuth{ObjectMeta: badMeta, Spec: VaultAuthSpec{
			VaultConnectionRef: "a/b/c", AllowedNamespaces: []string{"*", "Bad_NS", ""}, Method: MethodKubernetes, Mount: "/m",
			Headers: map[string]string{"Bad Header": "v"}, Kubernetes: &VaultAuthConfigKubernetes{TokenExpirationSeconds: 5},
			JWT: &VaultAuthConfigJWT{}, StorageEncryption: &StorageEncryption{Mount: "../m"},
		}}},
		{"auth jwt wrong", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			Method: MethodJWT, Mount: "m", JWT: &VaultAuthConfigJWT{SecretRef: SecretKeyRef{Name: "Bad_Name", Key: "bad key"},
				ServiceAccount: "Bad_SA", TokenExpirationSeconds: 1},
		}}},
		{"auth jwt missing", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			Method: MethodJWT, Mount: "m", JWT: &VaultAuthConfigJWT{},
		}}},
		{"auth approle both", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			Method: MethodAppRole, Mount: "m", AppRole: &VaultAuthConfigAppRole{SecretRef: SecretKeyRef{Key: "k"}, SecretIDPath: "rel/../x"},
		}}},
		{"auth approle none", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			Method: MethodAppRole, Mount: "m", AppRole: &VaultAuthConfigAppRole{},
		}}},
		{"auth aws wrong", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			Method: MethodAWS, Mount: "m", AWS: &VaultAuthConfigAWS{SecretRef: "Bad_Ref", IRSAServiceAccount: "Bad_SA"},
		}}},
		{"auth gcp wrong", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			Method: MethodGCP, Mount: "m", GCP: &VaultAuthConfigGCP{WorkloadIdentityServiceAccount: "Bad_SA"},
		}}},
		{"auth method blocks missing", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			Method: MethodAWS, Mount: "m",
		}}},
		{"auth global wrong", &VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: VaultAuthSpec{
			VaultAuthGlobalRef: &VaultAuthGlobalRef{Name: "Bad_Name", Namespace: "Bad_NS",
				MergeStrategy: &MergeStrategy{Headers: "all", Params: "some"}},
			Method: "ldap", AWS: &VaultAuthConfigAWS{SecretRef: "Bad_Ref"}, GCP: &VaultAuthConfigGCP{},
		}}},
	}
}

// TestValidateErrorsGolden pins every error Validate reports for invalid
// objects of every kind: type, field path, bad value, detail and order.
// The golden file was written before Validate stopped building field paths
// for valid fields, so the two implementations agree byte for byte.
func TestValidateErrorsGolden(t *testing.T) {
	var b strings.Builder
	for _, tc := range invalidObjects() {
		fmt.Fprintf(&b, "== %s\n", tc.name)
		errs := tc.obj.Validate()
		require.NotEmpty(t, errs, tc.name)
		for _, fe := range errs {
			fmt.Fprintf(&b, "%s\t%s\t%q\n", fe.Type, fe.Field, fe.Error())
		}
	}
	golden := filepath.Join("testdata", "validate-errors.golden")
	if *updateGolden {
		require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), b.String())
}
