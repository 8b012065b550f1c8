package transform

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// kvV2 builds the Input of a kv-v2 read the way vault/api decodes it
// (json.Number for numbers).
func kvV2(fields map[string]any, version int64) Input {
	metadata := map[string]any{
		"created_time":    "2024-01-02T03:04:05.000000Z",
		"custom_metadata": nil,
		"deletion_time":   "",
		"destroyed":       false,
		"version":         json.Number(jsonInt(version)),
	}
	return Input{
		Namespace: "webapp-ns",
		Name:      "webapp-config",
		Fields:    fields,
		Response:  map[string]any{"data": fields, "metadata": metadata},
	}
}

func kvV1(fields map[string]any) Input {
	return Input{Namespace: "ns", Name: "obj", Fields: fields, Response: fields}
}

func jsonInt(i int64) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func tmpl(text string) v1beta1.Template { return v1beta1.Template{Text: text} }

func st(ns, name string, spec v1beta1.SecretTransformationSpec) *v1beta1.SecretTransformation {
	return &v1beta1.SecretTransformation{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.APIVersion, Kind: v1beta1.KindSecretTransformation},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       spec,
	}
}

func errIs(target error) assert.ErrorAssertionFunc {
	return func(t assert.TestingT, err error, msgAndArgs ...any) bool {
		return assert.ErrorIs(t, err, target, msgAndArgs...)
	}
}

func errContains(s string) assert.ErrorAssertionFunc {
	return func(t assert.TestingT, err error, msgAndArgs ...any) bool {
		return assert.ErrorContains(t, err, s, msgAndArgs...)
	}
}

func errEqual(s string) assert.ErrorAssertionFunc {
	return func(t assert.TestingT, err error, msgAndArgs ...any) bool {
		return assert.EqualError(t, err, s, msgAndArgs...)
	}
}

func strData(m map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

func TestBuild(t *testing.T) {
	t.Parallel()

	seedFields := map[string]any{
		"db_user":      "app",
		"db_pass":      "s3cr3t",
		"db_host":      "db.internal",
		"redis_pass":   "r3d1s",
		"internal_key": "do-not-ship",
	}

	tests := []struct {
		name    string
		r       Resolved
		in      Input
		want    map[string][]byte
		wantErr assert.ErrorAssertionFunc
	}{
		{
			// The seed's "Secret Data Transformation" example; the block scalars
			// (text: |) end with a newline, which is kept.
			name: "seed-example",
			r: Resolved{Spec: v1beta1.Transformation{
				ExcludeRaw: true,
				Excludes:   []string{"internal_key"},
				Templates: map[string]v1beta1.Template{
					"DATABASE_URL": tmpl(`postgresql://{{ get .Secrets "db_user" }}:{{ get .Secrets "db_pass" }}@{{ get .Secrets "db_host" }}:5432/appdb` + "\n"),
					"REDIS_URL":    tmpl(`redis://:{{ get .Secrets "redis_pass" }}@redis:6379/0` + "\n"),
				},
			}},
			in: kvV2(seedFields, 1),
			want: strData(map[string]string{
				"DATABASE_URL": "postgresql://app:s3cr3t@db.internal:5432/appdb\n",
				"REDIS_URL":    "redis://:r3d1s@redis:6379/0\n",
				"db_user":      "app",
				"db_pass":      "s3cr3t",
				"db_host":      "db.internal",
				"redis_pass":   "r3d1s",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "kv-v2-raw-has-data-and-metadata",
			in:   kvV2(map[string]any{"username": "u", "password": "p<&>"}, 3),
			want: strData(map[string]string{
				"_raw": `{"data":{"password":"p\u003c\u0026\u003e","username":"u"},` +
					`"metadata":{"created_time":"2024-01-02T03:04:05.000000Z","custom_metadata":null,` +
					`"deletion_time":"","destroyed":false,"version":3}}`,
				"username": "u",
				"password": "p<&>",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "kv-v1-raw-is-fields",
			in:   kvV1(map[string]any{"b": "2", "a": "1"}),
			want: strData(map[string]string{
				"_raw": `{"a":"1","b":"2"}`, "a": "1", "b": "2",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "nil-response-raw-is-null",
			in:   Input{Namespace: "ns", Name: "obj"},
			want: strData(map[string]string{
				"_raw": `null`,
			}),
			wantErr: assert.NoError,
		},
		{
			name: "metadata-version",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"version": tmpl(`{{ .Metadata.version }}`),
					"created": tmpl(`{{ get .Metadata "created_time" }}`),
				}}},
			in: kvV2(map[string]any{"a": "b"}, 7),
			want: strData(map[string]string{
				"version": "7",
				"created": "2024-01-02T03:04:05.000000Z",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "metadata-not-a-map-is-empty",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"m": tmpl(`{{ toJson .Metadata }}|{{ .Metadata.version }}`),
				}}},
			in: Input{Namespace: "ns", Name: "obj",
				Fields:   map[string]any{"metadata": "x"},
				Response: map[string]any{"metadata": "x"}},
			want:    strData(map[string]string{"m": "{}|<no value>"}),
			wantErr: assert.NoError,
		},
		{
			name: "non-string-values",
			r:    Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true}},
			in: kvV1(map[string]any{
				"num":      json.Number("1"),
				"numdec":   json.Number("1.0"),
				"float":    float64(1),
				"floatdec": 1.5,
				"big":      1e21,
				"neg":      float64(-3),
				"bool":     true,
				"null":     nil,
				"map":      map[string]any{"z": json.Number("2"), "a": []any{"x", false}, "h": "<b>"},
				"list":     []any{json.Number("1"), "two", nil},
				"empty":    "",
			}),
			want: strData(map[string]string{
				"num":      "1",
				"numdec":   "1.0",
				"float":    "1",
				"floatdec": "1.5",
				"big":      "1e+21",
				"neg":      "-3",
				"bool":     "true",
				"null":     "null",
				"map":      `{"a":["x",false],"h":"\u003cb\u003e","z":2}`,
				"list":     `[1,"two",null]`,
				"empty":    "",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "template-values-print-like-vso",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"n":  tmpl(`{{ get .Secrets "n" }}`),
					"f":  tmpl(`{{ get .Secrets "f" }}`),
					"j":  tmpl(`{{ get .Secrets "m" | toJson }}`),
					"pj": tmpl(`{{ get .Secrets "m" | mustToPrettyJson }}`),
				}}},
			in: kvV1(map[string]any{"n": json.Number("5432"), "f": float64(8080),
				"m": map[string]any{"b": "2", "a": json.Number("1")}}),
			want: strData(map[string]string{
				"n":  "5432",
				"f":  "8080",
				"j":  `{"a":1,"b":"2"}`,
				"pj": "{\n  \"a\": 1,\n  \"b\": \"2\"\n}",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "empty-and-blank-templates",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"empty": tmpl(""),
				"trim":  tmpl("  {{- /* comment */ -}}  "),
				"blank": tmpl("  "),
			}}},
			in:      kvV1(nil),
			want:    strData(map[string]string{"empty": "", "trim": "", "blank": "  "}),
			wantErr: assert.NoError,
		},
		{
			name:    "raw-field-not-permitted",
			in:      kvV1(map[string]any{"_raw": "x"}),
			wantErr: errEqual("key '_raw' not permitted in Secret data"),
		},
		{
			name: "raw-template-not-permitted",
			r: Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
				"_raw": tmpl("x"),
			}}},
			in:      kvV1(map[string]any{"a": "b"}),
			wantErr: errIs(ErrRawNotPermitted),
		},
		{
			name: "raw-allowed-when-excluded",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"_raw": tmpl("from-template"),
			}}},
			in:      kvV1(map[string]any{"_raw": "from-field"}),
			want:    strData(map[string]string{"_raw": "from-template"}),
			wantErr: assert.NoError,
		},
		{
			name: "raw-field-excluded-still-not-permitted",
			r:    Resolved{Spec: v1beta1.Transformation{Excludes: []string{"_raw"}}},
			in:   kvV1(map[string]any{"_raw": "x"}),
			// VSO checks the unfiltered fields.
			wantErr: errIs(ErrRawNotPermitted),
		},
		{
			name: "includes-after-excludes",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true,
				Includes: []string{"^prefix_.+"},
				Excludes: []string{"^prefix_1.+"},
			}},
			in: kvV1(map[string]any{
				"prefix_1_foo": "1", "prefix_1_qux": "2", "other_1_baz": "3",
				"prefix_2_foo": "4", "prefix_2_bar": "5",
			}),
			want:    strData(map[string]string{"prefix_2_foo": "4", "prefix_2_bar": "5"}),
			wantErr: assert.NoError,
		},
		{
			name: "includes-and-excludes-mutually-exclusive",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true,
				Includes: []string{"^a"}, Excludes: []string{"^a"}}},
			in:      kvV1(map[string]any{"a1": "1", "b": "2"}),
			want:    map[string][]byte{},
			wantErr: assert.NoError,
		},
		{
			name:    "patterns-are-unanchored",
			r:       Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{"key"}}},
			in:      kvV1(map[string]any{"internal_key": "1", "keystore": "2", "kee": "3"}),
			want:    strData(map[string]string{"kee": "3"}),
			wantErr: assert.NoError,
		},
		{
			name: "templated-keys-never-filtered",
			r: Resolved{Spec: v1beta1.Transformation{
				Excludes: []string{".*"},
				Includes: []string{"^nothing$"},
				Templates: map[string]v1beta1.Template{
					"url": tmpl(`{{ get .Secrets "host" }}`),
				},
			}},
			in: kvV1(map[string]any{"host": "h"}),
			want: strData(map[string]string{
				"_raw": `{"host":"h"}`,
				"url":  "h",
			}),
			wantErr: assert.NoError,
		},
		{
			name: "template-wins-over-field",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"password": tmpl(`{{ get .Secrets "password" | upper }}`),
			}}},
			in:      kvV1(map[string]any{"password": "abc", "user": "u"}),
			want:    strData(map[string]string{"password": "ABC", "user": "u"}),
			wantErr: assert.NoError,
		},
		{
			name: "secrets-unfiltered-in-templates",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{"hidden"},
				Templates: map[string]v1beta1.Template{"t": tmpl(`{{ .Secrets.hidden }}`)}}},
			in:      kvV1(map[string]any{"hidden": "h"}),
			want:    strData(map[string]string{"t": "h"}),
			wantErr: assert.NoError,
		},
		{
			name: "missing-key-default-vs-get",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"dot": tmpl(`[{{ .Secrets.nope }}]`),
				"get": tmpl(`[{{ get .Secrets "nope" }}]`),
			}}},
			in:      kvV1(map[string]any{}),
			want:    strData(map[string]string{"dot": "[<no value>]", "get": "[]"}),
			wantErr: assert.NoError,
		},
		{
			name: "annotations-and-labels",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"t": tmpl(`{{ get .Annotations "a" }}/{{ get .Labels "l" }}/{{ kindOf .Labels }}`),
			}}},
			in: Input{Namespace: "ns", Name: "obj",
				Annotations: map[string]string{"a": "A"}, Labels: map[string]string{"l": "L"}},
			want:    strData(map[string]string{"t": "A/L/map"}),
			wantErr: assert.NoError,
		},
		{
			name: "annotations-nil-when-none",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"t": tmpl(`{{ toJson .Annotations }} {{ toJson .Labels }} {{ get .Labels "x" }}.`),
			}}},
			in:      Input{Namespace: "ns", Name: "obj", Labels: map[string]string{}},
			want:    strData(map[string]string{"t": "null null ."}),
			wantErr: assert.NoError,
		},
		{
			name: "wrap-data",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"t": tmpl(`{{ get .WrapData "accessor" }}`),
			}}},
			in:      Input{Namespace: "ns", Name: "obj", WrapData: map[string]any{"accessor": "acc"}},
			want:    strData(map[string]string{"t": "acc"}),
			wantErr: assert.NoError,
		},
		{
			name: "set-on-secrets-adds-a-field-like-vso",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				"t": tmpl(`{{ $_ := set .Secrets "extra" "e" }}ok`),
			}}},
			in:      kvV1(map[string]any{"a": "1"}),
			want:    strData(map[string]string{"t": "ok", "a": "1", "extra": "e"}),
			wantErr: assert.NoError,
		},
		{
			name: "keys-and-values-are-sorted",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"k": tmpl(`{{ keys .Secrets | join "," }}`),
					"v": tmpl(`{{ values .Secrets | join "," }}`),
				}}},
			in:      kvV1(map[string]any{"c": "3", "a": "1", "b": "2", "d": "4", "e": "5"}),
			want:    strData(map[string]string{"k": "a,b,c,d,e", "v": "1,2,3,4,5"}),
			wantErr: assert.NoError,
		},
		{
			name: "range-over-map-is-sorted",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"props": tmpl("{{- range $k, $v := .Secrets }}{{ $k }}={{ $v }}\n{{ end -}}"),
				}}},
			in:      kvV1(map[string]any{"b": "2", "a": "1"}),
			want:    strData(map[string]string{"props": "a=1\nb=2\n"}),
			wantErr: assert.NoError,
		},
		{
			name: "invalid-exclude-pattern",
			r:    Resolved{Spec: v1beta1.Transformation{Excludes: []string{"^(prefix"}}},
			in:   kvV1(map[string]any{"a": "1"}),
			wantErr: func(t assert.TestingT, err error, msgAndArgs ...any) bool {
				return assert.EqualError(t, err,
					"transformation pattern: error parsing regexp: missing closing ): `^(prefix`", msgAndArgs...)
			},
		},
		{
			name:    "invalid-include-pattern",
			r:       Resolved{Spec: v1beta1.Transformation{Includes: []string{"[a"}}},
			in:      kvV1(map[string]any{"a": "1"}),
			wantErr: errContains("missing closing ]"),
		},
		{
			// As in VSO, a pattern is compiled only when a key reaches it.
			name:    "invalid-pattern-without-fields",
			r:       Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Includes: []string{"[a"}}},
			in:      kvV1(nil),
			want:    map[string][]byte{},
			wantErr: assert.NoError,
		},
		{
			name: "parse-error",
			r: Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
				"k": tmpl(`{{ nosuchfunc }}`),
			}}},
			in:      kvV1(map[string]any{"a": "1"}),
			wantErr: errEqual(`parse error: template: ns/obj/k:1: function "nosuchfunc" not defined`),
		},
		{
			name: "forbidden-func-is-a-parse-error",
			r: Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
				"k": tmpl(`{{ env "HOME" }}`),
			}}},
			in:      kvV1(nil),
			wantErr: errContains(`function "env" not defined`),
		},
		{
			name: "duplicate-inline-template-names",
			r: Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
				"a": {Name: "same", Text: "1"},
				"b": {Name: "same", Text: "2"},
			}}},
			in:      kvV1(nil),
			wantErr: errEqual(`duplicate template name "same"`),
		},
		{
			name: "template-calls-named-and-default-named-templates",
			r: Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{".*"},
				Templates: map[string]v1beta1.Template{
					"a": {Name: "helper-a", Text: `A{{ get .Secrets "x" }}`},
					"b": tmpl(`{{ template "helper-a" . }}+{{ template "ns/obj/c" . }}`),
					"c": tmpl(`C`),
				}}},
			in:      kvV1(map[string]any{"x": "1"}),
			want:    strData(map[string]string{"a": "A1", "b": "A1+C", "c": "C"}),
			wantErr: assert.NoError,
		},
		{
			name: "template-not-defined",
			r: Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
				"a": {Name: "helper-a", Text: `A`},
				"b": tmpl(`{{ template "ns/obj/a" . }}`),
			}}},
			in:      kvV1(nil),
			wantErr: errEqual(`template "ns/obj/b" calls template "ns/obj/a", which no template defines`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Build(tt.r, tt.in)
			if !tt.wantErr(t, err) {
				return
			}
			if err != nil {
				assert.Nil(t, got)
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
