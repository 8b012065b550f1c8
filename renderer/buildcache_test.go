package renderer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/transform"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Two jobs share a build exactly when everything Build reads is the same.
func TestBuildKeySharesOnlyTheSameBuild(t *testing.T) {
	a, b := &vault.KVSecret{}, &vault.KVSecret{}
	st := &v1beta1.SecretTransformation{}
	in := transform.Input{Namespace: "ns", Name: "n"}
	key := func(sec *vault.KVSecret, r transform.Resolved, in transform.Input) string {
		k, ok := buildKey(sec, r, in)
		require.True(t, ok)
		return k
	}
	none := key(a, transform.Resolved{}, in)
	assert.Equal(t, none, key(a, transform.Resolved{}, transform.Input{Namespace: "other", Name: "m"}), "no transformation: the read alone decides")
	assert.NotEqual(t, none, key(b, transform.Resolved{}, in), "another read")
	for name, r := range map[string]transform.Resolved{
		"excludeRaw": {Spec: v1beta1.Transformation{ExcludeRaw: true}},
		"includes":   {Spec: v1beta1.Transformation{Includes: []string{"a"}}},
		"excludes":   {Spec: v1beta1.Transformation{Excludes: []string{"a"}}},
		"templates":  {Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": {Text: "x"}}}},
		"refs":       {Refs: []*v1beta1.SecretTransformation{st}},
	} {
		assert.NotEqual(t, none, key(a, r, in), name)
		assert.Equal(t, key(a, r, in), key(a, r, in), name)
	}
	tmpl := transform.Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": {Text: "{{ .Name }}"}}}}
	assert.NotEqual(t, key(a, tmpl, in), key(a, tmpl, transform.Input{Namespace: "ns", Name: "other"}), "templates read the owner")
}
