package transform

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       Resolved
		wantErr assert.ErrorAssertionFunc
	}{
		{
			name: "ok",
			r: Resolved{
				Spec: v1beta1.Transformation{
					Templates:          map[string]v1beta1.Template{"a": tmpl(`{{ template "h" . }}`)},
					Includes:           []string{"^a"},
					TransformationRefs: []v1beta1.TransformationRef{{Name: "st"}},
				},
				Refs: []*v1beta1.SecretTransformation{st("ns", "st", v1beta1.SecretTransformationSpec{
					SourceTemplates: []v1beta1.SourceTemplate{{Text: `{{ define "h" }}{{ .Secrets.x }}{{ end }}`}},
					Excludes:        []string{"b$"},
				})},
			},
			wantErr: assert.NoError,
		},
		{
			name: "all-problems-at-once",
			r: Resolved{
				Spec: v1beta1.Transformation{
					Templates: map[string]v1beta1.Template{
						"a": tmpl(`{{ now }}`),
						"b": tmpl(`{{ if }}`),
					},
					Includes:           []string{"(x"},
					TransformationRefs: []v1beta1.TransformationRef{{Name: "st"}},
				},
				Refs: []*v1beta1.SecretTransformation{st("ns", "st", v1beta1.SecretTransformationSpec{
					Excludes: []string{"[y"},
				})},
			},
			wantErr: func(t assert.TestingT, err error, msgAndArgs ...any) bool {
				return assert.ErrorContains(t, err, `template: //a:1: function "now" not defined`) &&
					assert.ErrorContains(t, err, `template: //b:1: missing value for if`) &&
					assert.ErrorContains(t, err, "`(x`") &&
					assert.ErrorContains(t, err, "`[y`")
			},
		},
		{
			name: "gather-errors",
			r: Resolved{
				Spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{
					{Name: "st", TemplateRefs: []v1beta1.TemplateRef{{Name: "missing"}}},
				}},
				Refs: []*v1beta1.SecretTransformation{st("ns", "st", v1beta1.SecretTransformationSpec{})},
			},
			wantErr: errContains(`template "missing" not found in object ns/st`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.wantErr(t, Check(tt.r))
		})
	}
}

func TestCheckForNamesLikeBuild(t *testing.T) {
	t.Parallel()
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"k": tmpl(`{{ bad }}`),
	}}}
	checkErr := CheckFor(r, "ns", "obj")
	_, buildErr := Build(r, Input{Namespace: "ns", Name: "obj"})
	require.Error(t, checkErr)
	require.Error(t, buildErr)
	assert.Equal(t, buildErr.Error(), checkErr.Error())
}

func TestHasTemplates(t *testing.T) {
	t.Parallel()
	src := st("ns", "src", v1beta1.SecretTransformationSpec{
		SourceTemplates: []v1beta1.SourceTemplate{{Text: "x"}},
	})
	filtersOnly := st("ns", "f", v1beta1.SecretTransformationSpec{Excludes: []string{"x"}})
	tests := []struct {
		name string
		r    Resolved
		want bool
	}{
		{"none", Resolved{}, false},
		{"inline", Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"a": tmpl("")}}}, true},
		{"source-only-counts", Resolved{
			Spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{Name: "src"}}},
			Refs: []*v1beta1.SecretTransformation{src}}, true},
		{"filters-only", Resolved{
			Spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{Name: "f"}}},
			Refs: []*v1beta1.SecretTransformation{filtersOnly}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, HasTemplates(tt.r))
			// HasTemplates agrees with what gather finds.
			if g, err := gather(tt.r, "ns", "obj"); err == nil {
				assert.Equal(t, tt.want, len(g.templates) > 0)
			}
		})
	}
}

func TestErrorTypes(t *testing.T) {
	t.Parallel()
	_, err := Build(Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"a": {Name: "n", Text: "1"}, "b": {Name: "n", Text: "2"},
	}}}, Input{})
	var dup *DuplicateTemplateNameError
	require.ErrorAs(t, err, &dup)
	assert.Equal(t, "n", dup.Name)
	assert.False(t, errors.Is(err, ErrRawNotPermitted))
}

func TestTemplateNotFoundDefaultsGVK(t *testing.T) {
	t.Parallel()
	obj := &v1beta1.SecretTransformation{}
	obj.Namespace, obj.Name = "ns", "st"
	err := Check(Resolved{
		Spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{
			Name: "st", TemplateRefs: []v1beta1.TemplateRef{{Name: "x"}},
		}}},
		Refs: []*v1beta1.SecretTransformation{obj},
	})
	assert.EqualError(t, err,
		`template "x" not found in object ns/st, secrets.hashicorp.com/v1beta1, Kind=SecretTransformation`)
}
