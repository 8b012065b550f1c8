//go:build !race

// The race detector allocates on its own, so allocation counts are checked
// only in builds without it.

package v1beta1

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// TestValidateValidAllocatesNothing: Validate of a valid VaultStaticSecret,
// VaultDynamicSecret or VaultPKISecret (the seed examples: labels, a rollout
// restart target, templates, transformation refs) builds no field path and
// allocates nothing; see paths.go. Includes and excludes are left out: each
// pattern is compiled to check it, which allocates.
func TestValidateValidAllocatesNothing(t *testing.T) {
	for _, tc := range []struct {
		file string
		edit func(Object)
	}{
		{file: "04-vaultstaticsecret.yaml"},
		{file: "05-vaultdynamicsecret.yaml"},
		{file: "06-vaultpkisecret.yaml"},
		{file: "07-vaultstaticsecret-transformation.yaml", edit: func(o Object) {
			tr := &o.(*VaultStaticSecret).Spec.Destination.Transformation
			tr.Excludes = nil
			tr.TransformationRefs = []TransformationRef{
				{Name: "tr"},
				{Namespace: "ns", Name: "tr2", TemplateRefs: []TemplateRef{{Name: "t", KeyOverride: "KEY"}, {Name: "u"}}},
			}
			o.SetAnnotations(map[string]string{"example.com/owner": "team", "note": "x"})
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			y, err := os.ReadFile(filepath.Join("testdata", "seed", tc.file))
			require.NoError(t, err)
			j, err := yaml.YAMLToJSON(y)
			require.NoError(t, err)
			obj, err := Decode(j)
			require.NoError(t, err)
			if tc.edit != nil {
				tc.edit(obj)
			}
			allocs := testing.AllocsPerRun(100, func() {
				if errs := obj.Validate(); len(errs) != 0 {
					t.Fatal(errs)
				}
			})
			assert.Zero(t, allocs, "allocations per Validate")
		})
	}
}
