package identity

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/vault"
)

const opNS = "vso" // the operator's namespace in these tests

func global(ns, name string, spec v1beta1.VaultAuthGlobalSpec) *v1beta1.VaultAuthGlobal {
	return &v1beta1.VaultAuthGlobal{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
}

func platformOf(t *testing.T, objs ...v1beta1.Object) *Platform {
	t.Helper()
	p, err := NewPlatform(opNS, objs)
	require.NoError(t, err)
	return p
}

func ptr[T any](v T) *T { return &v }

// TestResolvePlatform: refs resolve as VSO's common.go does, the app's
// objects first, then the platform's: the operator namespace's "default"
// objects serve every namespace, allowedNamespaces decides the rest, and a
// VaultAuthGlobal completes its VaultAuths by VSO's merge rules. Logins
// remain the consumer's ("app") whatever VaultAuth they come from.
func TestResolvePlatform(t *testing.T) {
	const platAddr = "https://vault.platform:8200"
	opConn := vaultConn(opNS, "default", v1beta1.VaultConnectionSpec{Address: platAddr, Headers: map[string]string{"X-Org": "p"}, TLSServerName: "vault"})
	opAuth := vaultAuth(opNS, "default", v1beta1.VaultAuthSpec{Method: "kubernetes", Mount: "k8s", Kubernetes: &v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}})
	wantOpConn := vault.Connection{Address: platAddr, Headers: map[string]string{"X-Org": "p"}, TLSServerName: "vault"}
	k8s := func(name, mount string) *Auth {
		return &Auth{Name: name, Method: "kubernetes", Mount: mount, Role: "r", ServiceAccount: "default", TokenSeconds: 600}
	}
	shared := func(allowed ...string) *v1beta1.VaultAuth {
		return vaultAuth("platform", "shared", v1beta1.VaultAuthSpec{AllowedNamespaces: allowed, Method: "appRole", Mount: "approle",
			AppRole: &v1beta1.VaultAuthConfigAppRole{RoleID: "rid", SecretRef: v1beta1.SecretKeyRef{Name: "approle"}}})
	}
	sharedPlan := &Auth{Name: "shared", Method: "appRole", Mount: "approle", Role: "rid", SecretRef: &SecretKey{Namespace: "app", Name: "approle", Key: "id"}}
	// a VaultAuth of the app relying on a global for everything
	viaGlobal := func(ref v1beta1.VaultAuthGlobalRef, spec v1beta1.VaultAuthSpec) *v1beta1.VaultAuth {
		spec.VaultAuthGlobalRef = &ref
		return vaultAuth("app", "va", spec)
	}
	fullGlobal := v1beta1.VaultAuthGlobalSpec{
		DefaultAuthMethod: "kubernetes", DefaultMount: "dm", DefaultVaultNamespace: "dns",
		DefaultHeaders: map[string]string{"X-A": "global", "X-D": "global"},
		Kubernetes: &v1beta1.VaultAuthGlobalConfigKubernetes{
			VaultAuthConfigKubernetes: v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default", TokenAudiences: []string{"vault"}},
			GlobalMethodCommon:        v1beta1.GlobalMethodCommon{Headers: map[string]string{"X-A": "method", "X-M": "method"}},
		},
	}

	tests := []struct {
		name     string
		app      []v1beta1.Object
		platform []v1beta1.Object
		ref      string
		noLogin  bool
		opts     Options
		want     *Plan
		err      string // refusal at spec.vaultAuthRef: a part of its text
		hint     string
	}{
		{
			name:     "no refs: the operator namespace's default VaultAuth and VaultConnection, for any namespace",
			platform: []v1beta1.Object{opConn, opAuth},
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8s("default", "k8s"), Login: true},
		},
		{
			name:     "no refs: an app's own object of the operator namespace comes first",
			app:      []v1beta1.Object{vaultAuth(opNS, "default", v1beta1.VaultAuthSpec{Method: "kubernetes", Mount: "mine", Kubernetes: &v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}})},
			platform: []v1beta1.Object{opConn, opAuth},
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8s("default", "mine"), Login: true},
		},
		{
			name:     "no refs and no platform default VaultAuth: the consumer's own default (vaultcmp's rule before platforms)",
			app:      []v1beta1.Object{vaultAuth("app", "default", k8sAuth)},
			platform: []v1beta1.Object{opConn},
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8sPlan, Login: true},
		},
		{
			name:     "no refs: the operator's default connection serves an app's VaultAuth without vaultConnectionRef",
			app:      []v1beta1.Object{vaultAuth("app", "default", k8sAuth), vaultConn("app", "default", v1beta1.VaultConnectionSpec{Address: addr})},
			platform: []v1beta1.Object{opConn},
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8sPlan, Login: true},
		},
		{
			name:     "no refs, no default anywhere: refused, naming both namespaces",
			platform: []v1beta1.Object{opConn},
			err:      `no vaultAuthRef and no VaultAuth "default" in namespace "app" nor in the operator's namespace "vso"`, hint: "give the platform a VaultAuth",
		},
		{
			name:     "a platform VaultAuth of another namespace without allowedNamespaces: refused",
			platform: []v1beta1.Object{opConn, shared()},
			ref:      "platform/shared",
			err:      `VaultAuth platform/shared does not allow use from namespace "app"`, hint: "allowedNamespaces",
		},
		{
			name:     "a platform VaultAuth that lists other namespaces: refused",
			platform: []v1beta1.Object{opConn, shared("other", "more")},
			ref:      "platform/shared",
			err:      `does not allow use from namespace "app"`,
		},
		{
			name:     "a platform VaultAuth that lists the consumer's namespace: its Secrets and accounts are the consumer's",
			platform: []v1beta1.Object{opConn, shared("other", "app")},
			ref:      "platform/shared",
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: sharedPlan, Login: true},
		},
		{
			name:     "a platform VaultAuth with allowedNamespaces *",
			platform: []v1beta1.Object{opConn, shared("*")},
			ref:      "platform/shared",
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: sharedPlan, Login: true},
		},
		{
			name:     "the operator's default VaultAuth named explicitly: allowed without allowedNamespaces",
			platform: []v1beta1.Object{opConn, opAuth},
			ref:      opNS + "/default",
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8s("default", "k8s"), Login: true},
		},
		{
			name: "another VaultAuth of the operator namespace: only by its allowedNamespaces",
			platform: []v1beta1.Object{opConn, vaultAuth(opNS, "other", v1beta1.VaultAuthSpec{Method: "kubernetes", Mount: "k8s",
				Kubernetes: &v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}})},
			ref: opNS + "/other",
			err: `VaultAuth vso/other does not allow use from namespace "app"`,
		},
		{
			name:     "a platform ref with the tenancy of generate: still the consumer's accounts",
			platform: []v1beta1.Object{opConn, shared("app")},
			ref:      "platform/shared",
			opts:     Options{Tenancy: true, Tenant: "app"},
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: sharedPlan, Login: true},
		},
		{
			name: "a name ref is the consumer's namespace, and falls back to the platform's objects of that namespace",
			platform: []v1beta1.Object{opConn, vaultAuth("app", "team", v1beta1.VaultAuthSpec{Method: "kubernetes", Mount: "k8s",
				Kubernetes: &v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}})},
			ref:  "team",
			want: &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8s("team", "k8s"), Login: true},
		},
		{
			name: "a vaultConnectionRef by name is the VaultAuth's namespace, in the platform",
			platform: []v1beta1.Object{vaultConn("platform", "east", v1beta1.VaultConnectionSpec{Address: addr}),
				vaultAuth("platform", "shared", v1beta1.VaultAuthSpec{AllowedNamespaces: []string{"*"}, VaultConnectionRef: "east", Method: "kubernetes", Mount: "k8s",
					Kubernetes: &v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}})},
			ref:  "platform/shared",
			want: &Plan{Consumer: "app", Connection: vault.Connection{Address: addr}, ConnectionName: "east", Auth: k8s("shared", "k8s"), Login: true},
		},
		{
			name:     "a platform VaultConnection's caCertSecretRef is refused: it is in a namespace no app reads",
			platform: []v1beta1.Object{vaultConn(opNS, "default", v1beta1.VaultConnectionSpec{Address: platAddr, CACertSecretRef: "vault-ca"}), opAuth},
			err:      "VaultConnection vso/default (a platform object): spec.caCertSecretRef is not read", hint: "--vault-cacert",
		},
		{
			name:     "platform refs are checked for a carrier too (login false)",
			platform: []v1beta1.Object{opConn, shared()},
			ref:      "platform/shared",
			noLogin:  true,
			err:      `does not allow use from namespace "app"`,
		},
		// VaultAuthGlobal
		{
			name: "global: method, mount, Vault namespace and the method block come from the global; headers none by default",
			app: []v1beta1.Object{global("app", "g", fullGlobal),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g"}, v1beta1.VaultAuthSpec{Headers: map[string]string{"X-A": "own"}})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			want: &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Login: true,
				Auth: &Auth{Name: "va", Method: "kubernetes", Mount: "dm", Namespace: "dns", Role: "r", ServiceAccount: "default",
					Audiences: []string{"vault"}, TokenSeconds: 600, Headers: map[string]string{"X-A": "own"}}},
		},
		{
			name: "global: headers union, the VaultAuth's win, then the method block's, then the defaults",
			app: []v1beta1.Object{global("app", "g", fullGlobal),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g", MergeStrategy: &v1beta1.MergeStrategy{Headers: "union"}},
					v1beta1.VaultAuthSpec{Headers: map[string]string{"X-A": "own", "X-O": "own"}})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			want: &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Login: true,
				Auth: &Auth{Name: "va", Method: "kubernetes", Mount: "dm", Namespace: "dns", Role: "r", ServiceAccount: "default",
					Audiences: []string{"vault"}, TokenSeconds: 600, Headers: map[string]string{"X-A": "own", "X-O": "own", "X-M": "method", "X-D": "global"}}},
		},
		{
			name: "global: headers replace, the first non-empty set (here the method block's)",
			app: []v1beta1.Object{global("app", "g", fullGlobal),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g", MergeStrategy: &v1beta1.MergeStrategy{Headers: "replace"}}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			want: &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Login: true,
				Auth: &Auth{Name: "va", Method: "kubernetes", Mount: "dm", Namespace: "dns", Role: "r", ServiceAccount: "default",
					Audiences: []string{"vault"}, TokenSeconds: 600, Headers: map[string]string{"X-A": "method", "X-M": "method"}}},
		},
		{
			name: "global: the VaultAuth's own values win over the global's",
			app: []v1beta1.Object{global("app", "g", fullGlobal),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g"}, v1beta1.VaultAuthSpec{Mount: "own", Namespace: "own-ns",
					Kubernetes: &v1beta1.VaultAuthConfigKubernetes{Role: "own-role"}})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			want: &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Login: true,
				Auth: &Auth{Name: "va", Method: "kubernetes", Mount: "own", Namespace: "own-ns", Role: "own-role", ServiceAccount: "default",
					Audiences: []string{"vault"}, TokenSeconds: 600}},
		},
		{
			name: "global: its vaultConnectionRef when the VaultAuth has none (in the VaultAuth's namespace)",
			app: []v1beta1.Object{vaultConn("app", "east", v1beta1.VaultConnectionSpec{Address: addr}),
				global("app", "g", v1beta1.VaultAuthGlobalSpec{VaultConnectionRef: "east", DefaultAuthMethod: "kubernetes", DefaultMount: "k8s",
					Kubernetes: &v1beta1.VaultAuthGlobalConfigKubernetes{VaultAuthConfigKubernetes: v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}}}),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			want:     &Plan{Consumer: "app", Connection: vault.Connection{Address: addr}, ConnectionName: "east", Auth: k8s("va", "k8s"), Login: true},
		},
		{
			name: "global: a platform global of another namespace, allowed for the VaultAuth's namespace",
			app:  []v1beta1.Object{viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g", Namespace: "platform"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn, global("platform", "g", v1beta1.VaultAuthGlobalSpec{AllowedNamespaces: []string{"app"}, DefaultAuthMethod: "kubernetes", DefaultMount: "k8s",
				Kubernetes: &v1beta1.VaultAuthGlobalConfigKubernetes{VaultAuthConfigKubernetes: v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}}})},
			ref:  "va",
			want: &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8s("va", "k8s"), Login: true},
		},
		{
			name:     "global: a platform global that does not allow the VaultAuth's namespace is refused",
			app:      []v1beta1.Object{viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g", Namespace: "platform"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn, global("platform", "g", fullGlobal)},
			ref:      "va",
			err:      `VaultAuthGlobal platform/g does not allow use from namespace "app"`, hint: "allowedNamespaces",
		},
		{
			name: "global: under tenancy an app's VaultAuth of another namespace counts as the destination's",
			app: []v1beta1.Object{vaultAuth("platform", "va", v1beta1.VaultAuthSpec{AllowedNamespaces: []string{"*"},
				VaultAuthGlobalRef: &v1beta1.VaultAuthGlobalRef{Name: "g"}})},
			platform: []v1beta1.Object{opConn, global("platform", "g", fullGlobal)},
			ref:      "platform/va",
			opts:     Options{Tenancy: true, Tenant: "app"},
			err:      `VaultAuthGlobal platform/g does not allow use from namespace "app"`,
		},
		{
			name: "global: allowDefault finds the default of the VaultAuth's namespace first",
			app: []v1beta1.Object{global("app", "default", v1beta1.VaultAuthGlobalSpec{DefaultAuthMethod: "kubernetes", DefaultMount: "mine",
				Kubernetes: &v1beta1.VaultAuthGlobalConfigKubernetes{VaultAuthConfigKubernetes: v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}}}),
				viaGlobal(v1beta1.VaultAuthGlobalRef{AllowDefault: ptr(true)}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn, global(opNS, "default", fullGlobal)},
			ref:      "va",
			want:     &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Auth: k8s("va", "mine"), Login: true},
		},
		{
			name:     "global: allowDefault, then the operator namespace's default, usable from every namespace",
			app:      []v1beta1.Object{viaGlobal(v1beta1.VaultAuthGlobalRef{AllowDefault: ptr(true)}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn, global(opNS, "default", fullGlobal)},
			ref:      "va",
			want: &Plan{Consumer: "app", Connection: wantOpConn, ConnectionName: "default", Login: true,
				Auth: &Auth{Name: "va", Method: "kubernetes", Mount: "dm", Namespace: "dns", Role: "r", ServiceAccount: "default", Audiences: []string{"vault"}, TokenSeconds: 600}},
		},
		{
			name:     "global: allowDefault with a namespace searches that namespace only",
			app:      []v1beta1.Object{viaGlobal(v1beta1.VaultAuthGlobalRef{AllowDefault: ptr(true), Namespace: "elsewhere"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn, global(opNS, "default", fullGlobal)},
			ref:      "va",
			err:      `spec.vaultAuthGlobalRef: no VaultAuthGlobal "default" in namespaces ["elsewhere"]`,
		},
		{
			name:     "global: no name and no allowDefault is refused at spec.vaultAuthGlobalRef.name",
			app:      []v1beta1.Object{viaGlobal(v1beta1.VaultAuthGlobalRef{}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn, global(opNS, "default", fullGlobal)},
			ref:      "va",
			err:      "VaultAuth app/va: spec.vaultAuthGlobalRef.name: Required value", hint: "allowDefault",
		},
		{
			name:     "global: not found",
			app:      []v1beta1.Object{viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "nope"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			err:      "VaultAuthGlobal app/nope (spec.vaultAuthGlobalRef) not found in the input nor among the platform objects",
		},
		{
			name:     "global: no method anywhere is refused at spec.method",
			app:      []v1beta1.Object{global("app", "g", v1beta1.VaultAuthGlobalSpec{DefaultMount: "k8s"}), viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			err:      "spec.method: Required value: not set, and VaultAuthGlobal app/g has no spec.defaultAuthMethod",
		},
		{
			name: "global: an incomplete method block is refused at generate, naming the field (never later in the companion)",
			app: []v1beta1.Object{global("app", "g", v1beta1.VaultAuthGlobalSpec{DefaultAuthMethod: "kubernetes", DefaultMount: "k8s",
				Kubernetes: &v1beta1.VaultAuthGlobalConfigKubernetes{VaultAuthConfigKubernetes: v1beta1.VaultAuthConfigKubernetes{ServiceAccount: "default"}}}),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			noLogin:  true,
			err:      "spec.kubernetes.role: Required value: not set in the VaultAuth nor supplied by VaultAuthGlobal app/g",
		},
		{
			name: "global: no mount anywhere is refused at spec.mount",
			app: []v1beta1.Object{global("app", "g", v1beta1.VaultAuthGlobalSpec{DefaultAuthMethod: "kubernetes",
				Kubernetes: &v1beta1.VaultAuthGlobalConfigKubernetes{VaultAuthConfigKubernetes: v1beta1.VaultAuthConfigKubernetes{Role: "r", ServiceAccount: "default"}}}),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g"}, v1beta1.VaultAuthSpec{})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			err:      "spec.mount: Required value",
		},
		{
			name: "global: the global has no block for the VaultAuth's method and the VaultAuth none either",
			app: []v1beta1.Object{global("app", "g", fullGlobal),
				viaGlobal(v1beta1.VaultAuthGlobalRef{Name: "g"}, v1beta1.VaultAuthSpec{Method: "jwt"})},
			platform: []v1beta1.Object{opConn},
			ref:      "va",
			err:      "spec.jwt: Required value",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Platform = platformOf(t, tc.platform...)
			p, ferr := Resolve(lookupOf(tc.app...), "app", tc.ref, !tc.noLogin, o)
			if tc.want != nil {
				require.Nil(t, ferr)
				assert.Equal(t, tc.want, p)
				return
			}
			require.NotNil(t, ferr)
			assert.Nil(t, p)
			assert.Equal(t, "spec.vaultAuthRef", ferr.Field)
			assert.Contains(t, ferr.Error(), tc.err)
			assert.Contains(t, ferr.Hint, tc.hint)
		})
	}
}

// TestNewPlatform: objects without a namespace are the operator's; other
// kinds and duplicates are refused; a nil Platform has the default
// namespace and no objects.
func TestNewPlatform(t *testing.T) {
	p, err := NewPlatform("", []v1beta1.Object{vaultConn("", "default", v1beta1.VaultConnectionSpec{Address: addr})})
	require.NoError(t, err)
	assert.Equal(t, DefaultOperatorNamespace, p.OperatorNamespace())
	_, ok := p.Find(v1beta1.KindVaultConnection, DefaultOperatorNamespace, "default")
	assert.True(t, ok)

	_, err = NewPlatform("x", []v1beta1.Object{vaultConn("x", "a", v1beta1.VaultConnectionSpec{}), vaultConn("", "a", v1beta1.VaultConnectionSpec{})})
	require.ErrorContains(t, err, "VaultConnection x/a: defined twice")
	_, err = NewPlatform("x", []v1beta1.Object{&v1beta1.VaultStaticSecret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}})
	require.ErrorContains(t, err, "not a platform kind")

	var none *Platform
	assert.Equal(t, DefaultOperatorNamespace, none.OperatorNamespace())
	_, ok = none.Find(v1beta1.KindVaultAuth, "a", "b")
	assert.False(t, ok)
	assert.Equal(t, 0, none.Len())
}
