package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

func TestBuildSecretTransformationRefs(t *testing.T) {
	t.Parallel()

	fields := map[string]any{
		"username": "alice", "password": "pw",
		"good_1": "g", "bad_1": "b", "ugly_1": "u", "amiss": "m",
	}
	in := kvV1(fields)
	in.Namespace, in.Name = "default", "basic"

	helpers := st("default", "helpers", v1beta1.SecretTransformationSpec{
		SourceTemplates: []v1beta1.SourceTemplate{
			{Text: `{{- define "userpass" -}}{{ get .Secrets "username" }}:{{ get .Secrets "password" }}{{- end -}}`},
			{Name: "named-source", Text: `{{- define "upper-user" -}}{{ get .Secrets "username" | upper }}{{- end -}}`},
		},
		Templates: map[string]v1beta1.Template{
			"basic-auth": tmpl(`{{- printf "%s:%s" (get .Secrets "username") (get .Secrets "password") | b64enc -}}`),
			"user":       tmpl(`{{- template "upper-user" . -}}`),
		},
		Excludes: []string{"^bad"},
		Includes: []string{"^good", "^user"},
	})

	tests := []struct {
		name    string
		spec    v1beta1.Transformation
		refs    []*v1beta1.SecretTransformation
		want    map[string][]byte
		wantErr assert.ErrorAssertionFunc
	}{
		{
			name: "all-templates-filters-unioned",
			spec: v1beta1.Transformation{ExcludeRaw: true,
				Excludes:           []string{"^ugly"},
				TransformationRefs: []v1beta1.TransformationRef{{Name: "helpers"}},
			},
			refs: []*v1beta1.SecretTransformation{helpers},
			want: strData(map[string]string{
				"basic-auth": "YWxpY2U6cHc=",
				"user":       "ALICE",
				"good_1":     "g",
				"username":   "alice",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "template-refs-with-key-override",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				TransformationRefs: []v1beta1.TransformationRef{{
					Namespace:    "default",
					Name:         "helpers",
					TemplateRefs: []v1beta1.TemplateRef{{Name: "basic-auth", KeyOverride: "AUTH"}},
				}},
			},
			refs: []*v1beta1.SecretTransformation{helpers},
			// Only the named template; "user" is not rendered.
			want:    strData(map[string]string{"AUTH": "YWxpY2U6cHc="}),
			wantErr: assert.NoError,
		},
		{
			name: "template-refs-without-override-use-name",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				TransformationRefs: []v1beta1.TransformationRef{{
					Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "user"}},
				}},
			},
			refs:    []*v1beta1.SecretTransformation{helpers},
			want:    strData(map[string]string{"user": "ALICE"}),
			wantErr: assert.NoError,
		},
		{
			name: "ignore-includes",
			spec: v1beta1.Transformation{ExcludeRaw: true,
				TransformationRefs: []v1beta1.TransformationRef{{
					Name: "helpers", IgnoreIncludes: true, TemplateRefs: []v1beta1.TemplateRef{{Name: "user"}},
				}},
			},
			refs: []*v1beta1.SecretTransformation{helpers},
			want: strData(map[string]string{
				"user": "ALICE", "username": "alice", "password": "pw",
				"good_1": "g", "ugly_1": "u", "amiss": "m",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "ignore-excludes",
			spec: v1beta1.Transformation{ExcludeRaw: true,
				TransformationRefs: []v1beta1.TransformationRef{{
					Name: "helpers", IgnoreExcludes: true, TemplateRefs: []v1beta1.TemplateRef{{Name: "user"}},
				}},
			},
			refs: []*v1beta1.SecretTransformation{helpers},
			want: strData(map[string]string{
				"user": "ALICE", "username": "alice", "good_1": "g",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "ignore-both",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{"^username$", "^password$"},
				TransformationRefs: []v1beta1.TransformationRef{{
					Name: "helpers", IgnoreExcludes: true, IgnoreIncludes: true,
					TemplateRefs: []v1beta1.TemplateRef{{Name: "user"}},
				}},
			},
			refs: []*v1beta1.SecretTransformation{helpers},
			want: strData(map[string]string{
				"user": "ALICE", "good_1": "g", "bad_1": "b", "ugly_1": "u", "amiss": "m",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "inline-template-uses-source-define",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"creds": tmpl(`{{ template "userpass" . }}@db`),
				},
				TransformationRefs: []v1beta1.TransformationRef{{
					Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "user"}},
				}},
			},
			refs:    []*v1beta1.SecretTransformation{helpers},
			want:    strData(map[string]string{"creds": "alice:pw@db", "user": "ALICE"}),
			wantErr: assert.NoError,
		},
		{
			name: "inline-wins-over-referenced-same-key",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				// "default/basic/user" sorts before "default/helpers/user":
				// VSO's code would let the referenced one win.
				Templates:          map[string]v1beta1.Template{"user": tmpl(`inline`)},
				TransformationRefs: []v1beta1.TransformationRef{{Name: "helpers"}},
			},
			refs: []*v1beta1.SecretTransformation{helpers},
			want: strData(map[string]string{
				"user": "inline", "basic-auth": "YWxpY2U6cHc=",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "inline-wins-over-key-override",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{"AUTH": {Name: "zzz-inline", Text: `inline`}},
				TransformationRefs: []v1beta1.TransformationRef{{
					Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "basic-auth", KeyOverride: "AUTH"}},
				}},
			},
			refs:    []*v1beta1.SecretTransformation{helpers},
			want:    strData(map[string]string{"AUTH": "inline"}),
			wantErr: assert.NoError,
		},
		{
			name: "unnamed-template-ref-gets-default-name",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"again": tmpl(`{{ template "default/helpers/user" . }}!`),
				},
				TransformationRefs: []v1beta1.TransformationRef{{
					Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "user", KeyOverride: "U"}},
				}},
			},
			refs:    []*v1beta1.SecretTransformation{helpers},
			want:    strData(map[string]string{"U": "ALICE", "again": "ALICE!"}),
			wantErr: assert.NoError,
		},
		{
			name: "missing-template-ref",
			spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{
				Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "nope"}},
			}}},
			refs: []*v1beta1.SecretTransformation{helpers},
			wantErr: errEqual(`template "nope" not found in object default/helpers, ` +
				`secrets.hashicorp.com/v1beta1, Kind=SecretTransformation`),
		},
		{
			name: "duplicate-ref",
			spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{
				{Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "user", KeyOverride: "a"}}},
				{Namespace: "default", Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "user", KeyOverride: "b"}}},
			}},
			refs:    []*v1beta1.SecretTransformation{helpers, helpers},
			wantErr: errEqual(`duplicate SecretTransformation ref default/helpers`),
		},
		{
			name: "duplicate-name-across-objects",
			spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{
				{Name: "one"}, {Name: "two"},
			}},
			refs: []*v1beta1.SecretTransformation{
				st("default", "one", v1beta1.SecretTransformationSpec{
					Templates: map[string]v1beta1.Template{"x": {Name: "shared", Text: "1"}}}),
				st("default", "two", v1beta1.SecretTransformationSpec{
					SourceTemplates: []v1beta1.SourceTemplate{{Name: "shared", Text: "2"}}}),
			},
			wantErr: errEqual(`duplicate template name "shared"`),
		},
		{
			name: "missing-ref-object",
			spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{
				{Namespace: "other", Name: "gone"},
			}},
			refs:    []*v1beta1.SecretTransformation{nil},
			wantErr: errIs(ErrTransformationNotFound),
		},
		{
			name: "refs-length-mismatch",
			spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{
				{Name: "helpers"},
			}},
			wantErr: errContains("1 transformationRefs but 0 resolved"),
		},
		{
			name: "errors-are-joined",
			spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{
				{Name: "helpers", TemplateRefs: []v1beta1.TemplateRef{{Name: "nope1"}, {Name: "nope2"}}},
			}},
			refs: []*v1beta1.SecretTransformation{helpers},
			wantErr: func(t assert.TestingT, err error, msgAndArgs ...any) bool {
				var nf *TemplateNotFoundError
				return assert.ErrorAs(t, err, &nf) &&
					assert.ErrorContains(t, err, `"nope1"`) && assert.ErrorContains(t, err, `"nope2"`)
			},
		},
		{
			name: "st-template-skipped-when-a-template-has-its-key-as-name",
			spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates:          map[string]v1beta1.Template{"mine": {Name: "user", Text: "mine"}},
				TransformationRefs: []v1beta1.TransformationRef{{Name: "helpers"}},
			},
			refs: []*v1beta1.SecretTransformation{helpers},
			// helpers' "user" template is not gathered at all (VSO).
			want: strData(map[string]string{
				"mine": "mine", "basic-auth": "YWxpY2U6cHc=",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "st-without-templates",
			spec: v1beta1.Transformation{TransformationRefs: []v1beta1.TransformationRef{{Name: "empty"}}},
			refs: []*v1beta1.SecretTransformation{st("default", "empty", v1beta1.SecretTransformationSpec{})},
			want: strData(map[string]string{
				"_raw":     string(mustJSON(t, fields)),
				"username": "alice", "password": "pw",
				"good_1": "g", "bad_1": "b", "ugly_1": "u", "amiss": "m",
			}),
			wantErr: assert.NoError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Build(Resolved{Spec: tt.spec, Refs: tt.refs}, in)
			if !tt.wantErr(t, err) {
				return
			}
			if err == nil {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}
