package transform

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// TemplateKeys is exactly the set of keys Build's templates write: checked
// against Build itself with no Vault fields and no _raw.
func TestTemplateKeysAreBuildKeys(t *testing.T) {
	helpers := st("default", "helpers", v1beta1.SecretTransformationSpec{
		SourceTemplates: []v1beta1.SourceTemplate{{Text: `{{- define "x" -}}x{{- end -}}`}},
		Templates: map[string]v1beta1.Template{
			"basic-auth": tmpl(`a`),
			"user":       tmpl(`u`),
		},
	})
	named := st("default", "named", v1beta1.SecretTransformationSpec{
		Templates: map[string]v1beta1.Template{"first": tmpl(`f`), "second": tmpl(`s`)},
	})
	tests := []struct {
		name string
		spec v1beta1.Transformation
		refs []*v1beta1.SecretTransformation
		want []string
	}{
		{"none", v1beta1.Transformation{}, nil, nil},
		{"inline", v1beta1.Transformation{Templates: map[string]v1beta1.Template{"b": tmpl(`b`), "a": tmpl(`a`)}}, nil, []string{"a", "b"}},
		{"every template of a ref, not its source templates",
			v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{Name: "helpers"}}},
			[]*v1beta1.SecretTransformation{helpers}, []string{"basic-auth", "user"}},
		{"templateRefs with keyOverride",
			v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "basic-auth", KeyOverride: "AUTH"}}}}},
			[]*v1beta1.SecretTransformation{helpers}, []string{"AUTH"}},
		{"first in takes precedence: a ref's template whose key is an earlier template's name",
			v1beta1.Transformation{
				Templates:          map[string]v1beta1.Template{"k": {Name: "first", Text: `inline`}},
				TransformationRefs: []v1beta1.TransformationRef{{Name: "named"}},
			},
			[]*v1beta1.SecretTransformation{named}, []string{"k", "second"}},
		{"inline and ref write one key",
			v1beta1.Transformation{
				Templates:          map[string]v1beta1.Template{"user": tmpl(`inline`)},
				TransformationRefs: []v1beta1.TransformationRef{{Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "basic-auth"}}}},
			},
			[]*v1beta1.SecretTransformation{helpers}, []string{"basic-auth", "user"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.ExcludeRaw = true
			r := Resolved{Spec: tc.spec, Refs: tc.refs}
			keys, err := TemplateKeys(r, "default", "owner")
			require.NoError(t, err)
			assert.Equal(t, tc.want, keys)
			data, err := Build(r, Input{Namespace: "default", Name: "owner", Fields: map[string]any{}, Response: map[string]any{}})
			require.NoError(t, err)
			assert.Equal(t, slices.Sorted(maps.Keys(data)), keys, "TemplateKeys and Build agree")
		})
	}
	_, err := TemplateKeys(Resolved{Spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{Name: "gone"}}}, Refs: []*v1beta1.SecretTransformation{nil}}, "default", "owner")
	assert.ErrorIs(t, err, ErrTransformationNotFound)
}
