package transform

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// planted is a secret value; it must never appear in an error.
const planted = "S3cr3t-(planted"

// leakyMarshaler fails to encode and quotes the secret in its error.
type leakyMarshaler struct{}

func (leakyMarshaler) MarshalJSON() ([]byte, error) {
	return nil, errors.New("cannot encode " + planted)
}

// boomer has a method that panics with the secret.
type boomer struct{}

func (boomer) Boom() string { panic("boom: " + planted) }

func plantedInput() Input {
	secrets := map[string]any{
		"pw":     planted,
		"nested": map[string]any{"pw": planted, "list": []any{planted}},
		"list":   []any{planted, "x"},
		"json":   "{" + planted,
	}
	return Input{
		Namespace: "ns", Name: "obj",
		Fields: secrets,
		Response: map[string]any{"data": secrets, "metadata": map[string]any{
			"custom_metadata": map[string]any{"owner": planted},
		}},
	}
}

// errorChain returns err's message and the messages of everything it wraps.
func errorChain(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
		switch x := e.(type) { //nolint:errorlint // walks the chain itself, one link at a time
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

func TestBuildNeverLeaksSecrets(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		text string // one inline template, key "k"
		in   func(Input) Input
		// goLeaks: plain text/template's error contains the secret, so the
		// redaction is what keeps it out.
		goLeaks bool
	}{
		{name: "range-over-string", text: `{{ range .Secrets.pw }}{{ end }}`, goLeaks: true},
		{name: "fail-with-secret", text: `{{ fail (get .Secrets "pw") }}`, goLeaks: true},
		{name: "fail-printf-nested", text: `{{ fail (printf "bad %v" .Secrets.nested) }}`, goLeaks: true},
		{name: "call-non-function", text: `{{ call (get .Secrets "pw") }}`},
		{name: "call-printf", text: `{{ printf "%d" .Secrets.pw | call }}`, goLeaks: true},
		{name: "mustFromJson", text: `{{ mustFromJson (get .Secrets "pw") }}`},
		{name: "mustFromJson-partial", text: `{{ mustFromJson .Secrets.json }}`},
		{name: "regex-from-secret", text: `{{ mustRegexFind (get .Secrets "pw") "x" }}`, goLeaks: true},
		{name: "regex-replace-from-secret", text: `{{ mustRegexReplaceAll .Secrets.pw "x" "y" }}`, goLeaks: true},
		{name: "index-out-of-range", text: `{{ index .Secrets.list 9 }}`},
		{name: "index-wrong-type", text: `{{ index .Secrets.list .Secrets.pw }}`},
		{name: "slice-string", text: `{{ slice .Secrets.pw 2 100 }}`},
		{name: "field-on-string", text: `{{ .Secrets.pw.foo }}`},
		{name: "wrong-arg-type", text: `{{ upper .Secrets.nested }}`, goLeaks: false},
		{name: "eq-incompatible", text: `{{ eq .Secrets.pw 1 }}`},
		{name: "len-of-number", text: `{{ len 3 }}{{ .Secrets.pw }}`},
		{name: "semver", text: `{{ semver .Secrets.pw }}`},
		{name: "deepCopy-panics", text: `{{ deepCopy .Secrets.nested | toString }}{{ fail .Secrets.pw }}`, goLeaks: true},
		{name: "method-panics", text: `{{ .Secrets.obj.Boom }}`, goLeaks: true,
			in: func(in Input) Input { in.Fields["obj"] = boomer{}; return in }},
		{name: "fail-in-define", text: `{{ define "inner" }}{{ fail .pw }}{{ end }}{{ template "inner" .Secrets }}`, goLeaks: true},
		{name: "secret-looks-like-an-error", text: `{{ fail "x>: error calling get: y" }}{{ .Secrets.pw }}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := plantedInput()
			if tt.in != nil {
				in = tt.in(in)
			}
			r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(tt.text)}}}
			got, err := Build(r, in)
			require.Error(t, err)
			assert.Nil(t, got)
			for _, msg := range errorChain(err) {
				assert.NotContains(t, msg, planted)
				assert.NotContains(t, msg, "S3cr3t")
			}
			var re *RenderError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "ns/obj", re.Owner)
			assert.Equal(t, "ns/obj/k", re.Template)
			assert.Equal(t, "k", re.Key)
			assert.Equal(t, execFailed, re.Detail)
			assert.Equal(t, `render template "ns/obj/k" for key "k" of ns/obj: `+execFailed, err.Error())
			if tt.goLeaks {
				set := template.Must(template.New("k").Funcs(funcMap).Parse(tt.text))
				goErr := set.Execute(&bytes.Buffer{}, &templateInput{Secrets: in.Fields})
				require.Error(t, goErr)
				assert.Contains(t, goErr.Error(), planted, "the case should exercise a leaking Go error")
			}
		})
	}
}

func TestBuildNeverLeaksSecretsOtherPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       Resolved
		in      func(Input) Input
		wantErr assert.ErrorAssertionFunc
	}{
		{
			name: "field-encode-error",
			r:    Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true}},
			in: func(in Input) Input {
				in.Fields = map[string]any{"bad": leakyMarshaler{}}
				return in
			},
			wantErr: errEqual(`encode "bad" as JSON: json: cannot encode value <redacted>`),
		},
		{
			name: "raw-encode-error",
			in: func(in Input) Input {
				in.Response = map[string]any{"data": map[string]any{"v": leakyMarshaler{}}}
				return in
			},
			wantErr: errEqual(`encode "_raw" as JSON: json: cannot encode value <redacted>`),
		},
		{
			name: "raw-unsupported-value",
			in: func(in Input) Input {
				in.Response = map[string]any{"nan": math.NaN()}
				return in
			},
			wantErr: errEqual(`encode "_raw" as JSON: json: cannot encode value <redacted>`),
		},
		{
			name: "unsupported-type-keeps-type",
			r:    Resolved{Spec: v1beta1.Transformation{ExcludeRaw: true}},
			in: func(in Input) Input {
				in.Fields = map[string]any{"ch": make(chan string)}
				return in
			},
			wantErr: errEqual(`encode "ch" as JSON: json: unsupported type: chan string`),
		},
		{
			name:    "raw-not-permitted",
			in:      func(in Input) Input { in.Fields["_raw"] = planted; return in },
			wantErr: errIs(ErrRawNotPermitted),
		},
		{
			name: "template-output-raw-not-permitted",
			r: Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
				"_raw": tmpl(`{{ .Secrets.pw }}`),
			}}},
			wantErr: errIs(ErrRawNotPermitted),
		},
		{
			name:    "bad-pattern",
			r:       Resolved{Spec: v1beta1.Transformation{Includes: []string{"(("}}},
			in:      func(in Input) Input { in.Fields[planted] = "key names are not values, but check anyway"; return in },
			wantErr: errContains("missing closing )"),
		},
		{
			name: "parse-error",
			r: Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
				"k": tmpl(`{{ .Secrets.pw `),
			}}},
			wantErr: errContains("parse error: template: ns/obj/k:1: unclosed action"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := plantedInput()
			if tt.in != nil {
				in = tt.in(in)
			}
			_, err := Build(tt.r, in)
			if !tt.wantErr(t, err) {
				return
			}
			for _, msg := range errorChain(err) {
				assert.NotContains(t, msg, "S3cr3t")
			}
		})
	}
}

func TestRunRecoversPanics(t *testing.T) {
	t.Parallel()
	// A nil set makes text/template panic with a runtime error, which it does
	// not turn into an error itself.
	bu := newBudget(DefaultBounds(), "ns/obj")
	out, err := bu.run(t.Context(), nil, "k", &templateInput{Secrets: map[string]any{"pw": planted}}, nil)
	assert.Nil(t, out)
	require.ErrorIs(t, err, errPanicked)
	assert.Equal(t, execFailed, renderError("ns/obj", keyedTemplate{name: "ns/obj/k", key: "k"}, bu.reason()).Detail)
}
