package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

func TestGather(t *testing.T) {
	t.Parallel()
	tmpls := st("stns", "st", v1beta1.SecretTransformationSpec{
		SourceTemplates: []v1beta1.SourceTemplate{
			{Text: "s0"},
			{Name: "named-src", Text: "s1"},
			{Text: "s2"},
		},
		Templates: map[string]v1beta1.Template{
			"baz": tmpl("b"),
			"foo": {Name: "foo-named", Text: "f"},
		},
		Excludes: []string{"^bad.+", "^amiss"},
		Includes: []string{"^good.+", "^a+"},
	})

	tests := []struct {
		name       string
		r          Resolved
		want       []keyedTemplate
		wantFilter [2][]string // excludes, includes
		wantErr    assert.ErrorAssertionFunc
	}{
		{
			name: "names-and-order",
			r: Resolved{
				Spec: v1beta1.Transformation{
					Templates: map[string]v1beta1.Template{
						"inline": tmpl("i"),
						"A":      {Name: "my-name", Text: "a"},
					},
					Excludes:           []string{"^ugly.+", "^bad.+"},
					Includes:           []string{"^good.+"},
					TransformationRefs: []v1beta1.TransformationRef{{Namespace: "stns", Name: "st"}},
				},
				Refs: []*v1beta1.SecretTransformation{tmpls},
			},
			// Sorted by key+"0"+name, source templates (key "") first.
			want: []keyedTemplate{
				{key: "", name: "named-src", text: "s1"},
				{key: "", name: "stns/st/0", text: "s0"},
				{key: "", name: "stns/st/2", text: "s2"},
				{key: "A", name: "my-name", text: "a", inline: true},
				{key: "baz", name: "stns/st/baz", text: "b"},
				{key: "foo", name: "foo-named", text: "f"},
				{key: "inline", name: "ns/obj/inline", text: "i", inline: true},
			},
			wantFilter: [2][]string{
				{"^amiss", "^bad.+", "^ugly.+"},
				{"^a+", "^good.+"},
			},
			wantErr: assert.NoError,
		},
		{
			name: "ref-namespace-defaults-to-owner",
			r: Resolved{
				Spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{
					Name: "st", TemplateRefs: []v1beta1.TemplateRef{{Name: "baz", KeyOverride: "B"}},
					IgnoreIncludes: true,
				}}},
				Refs: []*v1beta1.SecretTransformation{tmpls},
			},
			want: []keyedTemplate{
				{key: "", name: "named-src", text: "s1"},
				{key: "", name: "ns/st/0", text: "s0"},
				{key: "", name: "ns/st/2", text: "s2"},
				{key: "B", name: "ns/st/baz", text: "b"},
			},
			wantFilter: [2][]string{{"^amiss", "^bad.+"}, nil},
			wantErr:    assert.NoError,
		},
		{
			name: "template-ref-name-already-seen",
			r: Resolved{
				Spec: v1beta1.Transformation{
					Templates: map[string]v1beta1.Template{"x": {Name: "baz", Text: "x"}},
					TransformationRefs: []v1beta1.TransformationRef{{
						Name: "st", TemplateRefs: []v1beta1.TemplateRef{{Name: "baz"}},
					}},
				},
				Refs: []*v1beta1.SecretTransformation{tmpls},
			},
			wantErr: errEqual(`duplicate template name "baz"`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := gather(tt.r, "ns", "obj")
			if !tt.wantErr(t, err) || err != nil {
				return
			}
			assert.Equal(t, tt.want, g.templates)
			assert.Equal(t, tt.wantFilter[0], g.excludes)
			assert.Equal(t, tt.wantFilter[1], g.includes)
		})
	}
}
