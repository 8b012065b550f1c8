package identity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/vault"
)

func vaultAuth(ns, name string, spec v1beta1.VaultAuthSpec) *v1beta1.VaultAuth {
	return &v1beta1.VaultAuth{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
}

func vaultConn(ns, name string, spec v1beta1.VaultConnectionSpec) *v1beta1.VaultConnection {
	return &v1beta1.VaultConnection{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
}

// lookupOf is an input of objects, indexed as the renderer does.
func lookupOf(objs ...v1beta1.Object) Lookup {
	return func(kind, ns, name string) (v1beta1.Object, string, bool) {
		for _, o := range objs {
			if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
				return o, ns, true
			}
		}
		return nil, "", false
	}
}

const addr = "http://vault.test:8200"

var (
	k8sAuth = v1beta1.VaultAuthSpec{Method: "kubernetes", Kubernetes: &v1beta1.VaultAuthConfigKubernetes{Role: "app", ServiceAccount: "app-sa"}}
	k8sPlan = &Auth{Name: "default", Method: "kubernetes", Mount: "kubernetes", Role: "app", ServiceAccount: "app-sa", TokenSeconds: 600}
)

// Resolve follows refs as VSO does and refuses, at the consumer's
// spec.vaultAuthRef, what vaultcmp will not do: each case names the
// plan it must give, or the field and text of its refusal.
func TestResolve(t *testing.T) {
	defConn := vaultConn("app", "default", v1beta1.VaultConnectionSpec{Address: addr})
	tests := []struct {
		name    string
		objs    []v1beta1.Object
		ref     string
		noLogin bool // login false: refs only
		opts    Options
		want    *Plan
		field   string // refusal: its field
		err     string // and its text
		hint    string // and a part of its hint
	}{
		{
			name: "empty ref: the default VaultAuth and VaultConnection of the consumer's namespace, mount and expiry defaulted",
			objs: []v1beta1.Object{vaultAuth("app", "default", k8sAuth), defConn},
			want: &Plan{Consumer: "app", Connection: vault.Connection{Address: addr}, ConnectionName: "default", Auth: k8sPlan, Login: true},
		},
		{
			name:  "tenancy: a consumer outside the app's namespace, at metadata.namespace",
			objs:  []v1beta1.Object{vaultAuth("app", "default", k8sAuth), defConn},
			opts:  Options{Tenancy: true, Tenant: "dest"},
			field: "metadata.namespace", err: `the app's destination namespace is "dest"`, hint: "remove metadata.namespace",
		},
		{
			name:  "tenancy without a tenant: fail closed",
			objs:  []v1beta1.Object{vaultAuth("app", "default", k8sAuth), defConn},
			opts:  Options{Tenancy: true},
			field: "metadata.namespace", err: `the app's destination namespace is ""`,
		},
		{
			name: "tenancy: a consumer of the app's namespace",
			objs: []v1beta1.Object{vaultAuth("app", "default", k8sAuth), defConn},
			opts: Options{Tenancy: true, Tenant: "app"},
			want: &Plan{Consumer: "app", Connection: vault.Connection{Address: addr}, ConnectionName: "default", Auth: k8sPlan, Login: true},
		},
		{
			name:  "empty ref, no default VaultAuth, no VAULT_TOKEN",
			objs:  []v1beta1.Object{defConn},
			field: "spec.vaultAuthRef", err: `no vaultAuthRef and no VaultAuth "default" in namespace "app"`, hint: "VAULT_TOKEN",
		},
		{
			name: "empty ref, no VaultAuth, VAULT_TOKEN and the default address",
			opts: Options{VaultToken: "hvs.t", DefaultVaultAddress: addr},
			want: &Plan{Consumer: "app", Connection: vault.Connection{Address: addr}, Token: "hvs.t", Login: true},
		},
		{
			name:  "a ref to a missing VaultAuth",
			objs:  []v1beta1.Object{defConn},
			ref:   "nope",
			field: "spec.vaultAuthRef", err: "VaultAuth app/nope not found in the input",
		},
		{
			name:  "a VaultAuth of another namespace that does not allow the consumer",
			objs:  []v1beta1.Object{vaultAuth("shared", "central", k8sAuth)},
			ref:   "shared/central",
			field: "spec.vaultAuthRef", err: `VaultAuth shared/central does not allow use from namespace "app"`, hint: "allowedNamespaces",
		},
		{
			name: "a VaultAuth of another namespace that allows the consumer: its connection from the VaultAuth's namespace, secrets from the consumer's",
			objs: []v1beta1.Object{
				vaultAuth("shared", "central", v1beta1.VaultAuthSpec{AllowedNamespaces: []string{"app"}, Method: "appRole", Mount: "ar", Namespace: "team", Headers: map[string]string{"X": "1"},
					AppRole: &v1beta1.VaultAuthConfigAppRole{RoleID: "r-1", SecretRef: v1beta1.SecretKeyRef{Name: "creds"}}}),
				vaultConn("shared", "default", v1beta1.VaultConnectionSpec{Address: addr, CACertSecretRef: "vault-ca", Timeout: "7s"}),
			},
			ref: "shared/central",
			want: &Plan{Consumer: "app", Connection: vault.Connection{Address: addr, Timeout: 7 * time.Second}, ConnectionName: "default",
				CACert: &SecretKey{Namespace: "shared", Name: "vault-ca", Key: "ca.crt"},
				Auth: &Auth{Name: "central", Method: "appRole", Mount: "ar", Namespace: "team", Role: "r-1", Headers: map[string]string{"X": "1"},
					SecretRef: &SecretKey{Namespace: "app", Name: "creds", Key: "id"}}, Login: true},
		},
		{
			name: "jwt with a secretRef: key jwt by default; VAULT_ADDR replaces the address, the operator's CA kept",
			objs: []v1beta1.Object{vaultAuth("app", "ci", v1beta1.VaultAuthSpec{Method: "jwt", VaultConnectionRef: "other/conn",
				JWT: &v1beta1.VaultAuthConfigJWT{Role: "ci", SecretRef: v1beta1.SecretKeyRef{Name: "ci-jwt"}, TokenAudiences: []string{"sts"}}}),
				vaultConn("other", "conn", v1beta1.VaultConnectionSpec{Address: "http://ignored", TLSServerName: "v", SkipTLSVerify: true})},
			ref:  "ci",
			opts: Options{VaultAddress: addr, CACert: []byte("PEM")},
			want: &Plan{Consumer: "app", Connection: vault.Connection{Address: addr, CACert: []byte("PEM"), TLSServerName: "v", SkipTLSVerify: true}, ConnectionName: "conn",
				Auth: &Auth{Name: "ci", Method: "jwt", Mount: "jwt", Role: "ci", Audiences: []string{"sts"}, TokenSeconds: 600,
					SecretRef: &SecretKey{Namespace: "app", Name: "ci-jwt", Key: "jwt"}}, Login: true},
		},
		{
			name:  "a vaultConnectionRef to a missing VaultConnection",
			objs:  []v1beta1.Object{vaultAuth("app", "default", v1beta1.VaultAuthSpec{Method: "kubernetes", VaultConnectionRef: "gone", Kubernetes: k8sAuth.Kubernetes})},
			field: "spec.vaultAuthRef", err: "VaultConnection app/gone (referenced by the VaultAuth's spec.vaultConnectionRef) not found in the input",
		},
		{
			name:  "caCertPath is never read",
			objs:  []v1beta1.Object{vaultAuth("app", "default", k8sAuth), vaultConn("app", "default", v1beta1.VaultConnectionSpec{Address: addr, CACertPath: "/etc/passwd"})},
			field: "spec.vaultAuthRef", err: `VaultConnection default: spec.caCertPath "/etc/passwd" is not read`, hint: "caCertSecretRef",
		},
		{
			name:    "caCertPath, refs only: no refusal (nothing will be read)",
			objs:    []v1beta1.Object{vaultAuth("app", "default", k8sAuth), vaultConn("app", "default", v1beta1.VaultConnectionSpec{Address: addr, CACertPath: "/etc/passwd"})},
			noLogin: true,
			want:    &Plan{Consumer: "app", Connection: vault.Connection{Address: addr}, ConnectionName: "default", Auth: k8sPlan},
		},
		{
			name:  "a bad timeout",
			objs:  []v1beta1.Object{vaultAuth("app", "default", k8sAuth), vaultConn("app", "default", v1beta1.VaultConnectionSpec{Address: addr, Timeout: "soon"})},
			field: "spec.vaultAuthRef", err: "VaultConnection default: spec.timeout:",
		},
		{
			name:  "no address",
			objs:  []v1beta1.Object{vaultAuth("app", "default", k8sAuth)},
			field: "spec.vaultAuthRef", err: "no Vault address", hint: "--default-vault-address",
		},
		{
			name:    "no address, refs only",
			objs:    []v1beta1.Object{vaultAuth("app", "default", k8sAuth)},
			noLogin: true,
			want:    &Plan{Consumer: "app", Auth: k8sPlan},
		},
		{
			name: "secretIDPath is never read",
			objs: []v1beta1.Object{defConn, vaultAuth("app", "default", v1beta1.VaultAuthSpec{Method: "appRole",
				AppRole: &v1beta1.VaultAuthConfigAppRole{RoleID: "r", SecretIDPath: "/var/run/secrets/kubernetes.io/serviceaccount/token"}})},
			field: "spec.vaultAuthRef", err: `VaultAuth default: spec.appRole.secretIDPath "/var/run/secrets/kubernetes.io/serviceaccount/token" is not read`,
		},
		{
			name:  "an unsupported method",
			objs:  []v1beta1.Object{defConn, vaultAuth("app", "default", v1beta1.VaultAuthSpec{Method: "ldap", Mount: "ldap"})},
			field: "spec.vaultAuthRef", err: `VaultAuth default: method "ldap" is not supported by vaultcmp`, hint: "use kubernetes, jwt, appRole, aws or gcp",
		},
		{
			name: "an unsupported method with VAULT_TOKEN: the token is used, the VaultAuth kept by names",
			objs: []v1beta1.Object{defConn, vaultAuth("app", "default", v1beta1.VaultAuthSpec{Method: "ldap", Mount: "ldap"})},
			opts: Options{VaultToken: "hvs.t"},
			want: &Plan{Consumer: "app", Connection: vault.Connection{Address: addr}, ConnectionName: "default",
				Auth: &Auth{Name: "default", Method: "ldap", Mount: "ldap"}, Token: "hvs.t", Login: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ferr := Resolve(lookupOf(tc.objs...), "app", tc.ref, !tc.noLogin, tc.opts)
			if tc.want != nil {
				require.Nil(t, ferr)
				assert.Equal(t, tc.want, p)
				return
			}
			require.NotNil(t, ferr)
			assert.Nil(t, p)
			assert.Equal(t, tc.field, ferr.Field)
			assert.Contains(t, ferr.Error(), tc.err)
			assert.Contains(t, ferr.Hint, tc.hint)
		})
	}
}
