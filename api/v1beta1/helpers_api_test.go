package v1beta1

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref, defaultNS string
		wantNS, wantN  string
	}{
		{"vault-auth-k8s", "webapp-ns", "webapp-ns", "vault-auth-k8s"},
		{"other/vault-auth", "webapp-ns", "other", "vault-auth"},
		{"", "webapp-ns", "webapp-ns", ""},
		{"/name", "webapp-ns", "", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			ns, name := ParseRef(tt.ref, tt.defaultNS)
			assert.Equal(t, tt.wantNS, ns)
			assert.Equal(t, tt.wantN, name)
		})
	}
}

func TestAllowsNamespace(t *testing.T) {
	auth := func(allowed ...string) *VaultAuth {
		return &VaultAuth{
			ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "auth-ns"},
			Spec:       VaultAuthSpec{AllowedNamespaces: allowed},
		}
	}
	tests := []struct {
		name string
		auth *VaultAuth
		ns   string
		want bool
	}{
		{"unset, own namespace", auth(), "auth-ns", true},
		{"unset, other namespace", auth(), "other", false},
		{"wildcard", auth("*"), "other", true},
		{"wildcard among others is literal", auth("*", "x"), "other", false},
		{"listed", auth("a", "other"), "other", true},
		{"not listed", auth("a", "b"), "other", false},
		{"own namespace even when not listed", auth("a"), "auth-ns", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.auth.AllowsNamespace(tt.ns))
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		pki     bool
		want    time.Duration
		wantErr assert.ErrorAssertionFunc
	}{
		{"", false, 0, assert.NoError},
		{"60s", false, time.Minute, assert.NoError},
		{"1.5m", false, 90 * time.Second, assert.NoError},
		{"24h", false, 24 * time.Hour, assert.NoError},
		{"1d", false, 0, assert.Error},
		{"1h30m", false, 0, assert.Error},
		{"10", false, 0, assert.Error},
		{"-5s", false, 0, assert.Error},
		{"500ms", false, 0, assert.Error},
		{"720h", true, 720 * time.Hour, assert.NoError},
		{"30d", true, 30 * 24 * time.Hour, assert.NoError},
		{"1.5d", true, 36 * time.Hour, assert.NoError},
		{"1w", true, 0, assert.Error},
		{"99999999999d", true, 0, assert.Error},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			parse := ParseDuration
			if tt.pki {
				parse = ParsePKIDuration
			}
			got, err := parse(tt.in)
			tt.wantErr(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDefaults(t *testing.T) {
	vss := &VaultStaticSecret{}
	assert.True(t, vss.HMACEnabled())
	vss.Spec.HMACSecretData = ptrTo(false)
	assert.False(t, vss.HMACEnabled())

	for in, want := range map[*int]int{nil: 67, ptrTo(0): 0, ptrTo(50): 50, ptrTo(95): 90, ptrTo(-3): 0} {
		vds := &VaultDynamicSecret{Spec: VaultDynamicSecretSpec{RenewalPercent: in}}
		assert.Equal(t, want, vds.RenewalPercentOrDefault())
	}

	assert.Equal(t, int64(600), (&VaultAuthConfigKubernetes{}).ExpirationSeconds())
	assert.Equal(t, int64(3600), (&VaultAuthConfigKubernetes{TokenExpirationSeconds: 3600}).ExpirationSeconds())
	assert.Equal(t, int64(600), (&VaultAuthConfigJWT{}).ExpirationSeconds())
}

func TestKinds(t *testing.T) {
	assert.True(t, IsVaultAPIVersion("secrets.hashicorp.com/v1beta1"))
	assert.True(t, IsVaultAPIVersion("secrets.hashicorp.com/v1alpha1"))
	assert.False(t, IsVaultAPIVersion("v1"))
	assert.False(t, IsVaultAPIVersion("secrets.hashicorp.com.evil/v1beta1"))
	for _, k := range Kinds {
		obj := NewObject(k)
		if assert.NotNil(t, obj, k) {
			assert.Equal(t, k, obj.GetKind())
		}
	}
	assert.Nil(t, NewObject("VaultNoSuchKind"))
}
