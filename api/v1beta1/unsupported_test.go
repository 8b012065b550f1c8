package v1beta1

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// HCPAuth, HCPVaultSecretsApp and CSISecrets get one error each that names
// the kind and the way out, on both decoding paths; any other unknown kind
// keeps "Unsupported value".
func TestUnsupportedKindsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want []string
	}{
		{KindHCPAuth, []string{"HCPAuth", "HCP Vault Secrets", "VaultStaticSecret", "docs/migrate.md"}},
		{KindHCPVaultSecretsApp, []string{"HCPVaultSecretsApp", "Vault KV mount", "Vault Secrets Operator syncs", "docs/migrate.md"}},
		{KindCSISecrets, []string{"CSISecrets", "CSI driver", "mount its Secret", "docs/migrate.md"}},
		{"VaultNothing", []string{"Unsupported value", `"VaultNothing"`}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			doc := map[string]any{"apiVersion": APIVersion, "kind": tc.kind, "metadata": map[string]any{"name": "x"}, "spec": map[string]any{"anything": 1}}
			for _, decode := range []func() (Object, error){
				func() (Object, error) { return DecodeValue(doc) },
				func() (Object, error) {
					return Decode([]byte(`{"apiVersion":"` + APIVersion + `","kind":"` + tc.kind + `","metadata":{"name":"x"},"spec":{"anything":1}}`))
				},
			} {
				obj, err := decode()
				require.Nil(t, obj)
				var derr *DecodeError
				require.True(t, errors.As(err, &derr), "%v", err)
				require.Len(t, derr.Errs, 1, "one error, not one per field")
				fe := derr.Errs[0]
				assert.Equal(t, "kind", fe.Field)
				for _, w := range tc.want {
					assert.Contains(t, fe.ErrorBody(), w)
				}
				_, named := UnsupportedKind(tc.kind)
				assert.Equal(t, named, fe.Type == field.ErrorTypeForbidden)
			}
		})
	}
}

// Every field accepted without VSO's effect is named, with why; set-but-
// effective fields are not.
func TestIgnoredFields(t *testing.T) {
	f := false
	tru := true
	vss := func(mod func(*VaultStaticSecretSpec)) Object {
		o := &VaultStaticSecret{Spec: VaultStaticSecretSpec{Mount: "kv", Path: "p", Type: "kv-v2", Destination: Destination{Name: "d", Create: true}}}
		mod(&o.Spec)
		return o
	}
	targets := []RolloutRestartTarget{{Kind: RolloutKindDeployment, Name: "w"}}
	for _, tc := range []struct {
		name string
		obj  Object
		want []string // fields
	}{
		{"plain VaultStaticSecret", vss(func(*VaultStaticSecretSpec) {}), nil},
		{"instantUpdates", vss(func(s *VaultStaticSecretSpec) { s.SyncConfig = &SyncConfig{InstantUpdates: true} }), []string{"spec.syncConfig.instantUpdates"}},
		{"instantUpdates false", vss(func(s *VaultStaticSecretSpec) { s.SyncConfig = &SyncConfig{} }), nil},
		{"hmacSecretData false", vss(func(s *VaultStaticSecretSpec) { s.HMACSecretData = &f }), []string{"spec.hmacSecretData"}},
		{"hmacSecretData true", vss(func(s *VaultStaticSecretSpec) { s.HMACSecretData = &tru }), nil},
		{"hmacSecretData false with targets", vss(func(s *VaultStaticSecretSpec) { s.HMACSecretData = &f; s.RolloutRestartTargets = targets }), []string{"spec.rolloutRestartTargets"}},
		{"create false with create-only fields", vss(func(s *VaultStaticSecretSpec) {
			s.Destination = Destination{Name: "d", Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"a": "b"}, Type: "kubernetes.io/tls", Overwrite: true}
		}), []string{"spec.destination.labels", "spec.destination.annotations", "spec.destination.type", "spec.destination.overwrite"}},
		{"create true with them", vss(func(s *VaultStaticSecretSpec) {
			s.Destination = Destination{Name: "d", Create: true, Labels: map[string]string{"a": "b"}, Type: "kubernetes.io/tls", Overwrite: true}
		}), nil},
		{"dynamic, create false with labels", &VaultDynamicSecret{Spec: VaultDynamicSecretSpec{Destination: Destination{Name: "d", Labels: map[string]string{"a": "b"}}}}, []string{"spec.destination.labels"}},
		{"PKI clear with create true", &VaultPKISecret{Spec: VaultPKISecretSpec{Clear: true, Destination: Destination{Name: "d", Create: true}}}, []string{"spec.clear"}},
		{"PKI clear with create false", &VaultPKISecret{Spec: VaultPKISecretSpec{Clear: true, Destination: Destination{Name: "d"}}}, nil},
		{"storageEncryption", &VaultAuth{Spec: VaultAuthSpec{StorageEncryption: &StorageEncryption{Mount: "t", KeyName: "k"}}}, []string{"spec.storageEncryption"}},
		{"params", &VaultAuth{Spec: VaultAuthSpec{Params: map[string]string{"a": "b"}}}, []string{"spec.params"}},
		{"connection", &VaultConnection{Spec: VaultConnectionSpec{Address: "http://v"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, ig := range IgnoredFields(tc.obj) {
				got = append(got, ig.Field)
				assert.NotEmpty(t, ig.Why)
				assert.True(t, strings.HasPrefix(ig.String(), ig.Field+" has no effect: "))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
