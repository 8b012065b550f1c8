package transform

import (
	"context"
	"fmt"
	"regexp"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// positionRe matches what text/template writes for a place in a template:
// "name:3:14", ":3:", "at <...>", `executing "x"`.
var positionRe = regexp.MustCompile(`:\d+:|:\d+$|at <|executing "`)

// oracleTemplates fail where the secret decides. With the failure's place in
// the error (line, column, action, sub-template, function, argument), one
// object tells which branch the data took: issue 15 row 4 read a password
// with `{{ if eq (substr …) "c" }}{{ fail }}` lines. Each must give the same
// error text for "a…" and for "b…".
var oracleTemplates = []struct{ name, text, want string }{
	{"line", "{{ if eq (substr 0 1 .Secrets.pw) \"a\" }}{{ fail \"x\" }}{{ end }}\n" +
		"{{ if eq (substr 0 1 .Secrets.pw) \"b\" }}{{ fail \"x\" }}{{ end }}", execFailed},
	{"column", `{{ if eq (substr 0 1 .Secrets.pw) "a" }}{{ fail "x" }}{{ else }}{{ fail "x" }}{{ end }}`, execFailed},
	{"function", `{{ if eq (substr 0 1 .Secrets.pw) "a" }}{{ atoi "x" | int | fail }}{{ else }}{{ index .Secrets.list 9 }}{{ end }}`, execFailed},
	{"kind", `{{ if eq (substr 0 1 .Secrets.pw) "a" }}{{ range .Secrets.pw }}{{ end }}{{ else }}{{ .Secrets.pw.x.y }}{{ end }}`, execFailed},
	{"argument", `{{ fail (substr 0 1 .Secrets.pw) }}`, execFailed},
	{"sub-template", `{{ define "a" }}{{ fail "x" }}{{ end }}{{ define "b" }}{{ fail "x" }}{{ end }}` +
		`{{ if eq (substr 0 1 .Secrets.pw) "a" }}{{ template "a" }}{{ else }}{{ template "b" }}{{ end }}`, execFailed},
	{"panic or error", `{{ if eq (substr 0 1 .Secrets.pw) "a" }}{{ .Secrets.obj.Boom }}{{ else }}{{ fail "x" }}{{ end }}`, execFailed},
	{"which limit function", `{{ if eq (substr 0 1 .Secrets.pw) "a" }}{{ repeat 3000000 "x" }}{{ else }}{{ indent 3000000 "x" }}{{ end }}`,
		"a value built by the templates of ns/obj is larger than the limit of 1MiB"},
}

func TestTemplateErrorsAgreeWhateverTheData(t *testing.T) {
	t.Parallel()
	for _, tc := range oracleTemplates {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var msgs []string
			for _, pw := range []string{"aS3cr3t", "bS3cr3t"} {
				in := kvV1(map[string]any{"pw": pw, "list": []any{pw}, "obj": boomer{}})
				r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(tc.text)}}}
				_, err := Build(r, in)
				require.Error(t, err, pw)
				var re *RenderError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "ns/obj/k", re.Template)
				assert.Equal(t, "k", re.Key)
				for _, m := range errorChain(err) {
					assert.NotContains(t, m, "S3cr3t")
				}
				assert.NotRegexp(t, positionRe, err.Error())
				assert.Contains(t, re.Detail, tc.want)
				msgs = append(msgs, err.Error())
			}
			assert.Equal(t, msgs[0], msgs[1], "the error tells the data apart")
		})
	}
}

// The golden text of an execution error: the template, its key, the object.
func TestTemplateErrorGolden(t *testing.T) {
	t.Parallel()
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"k": tmpl("x\n\n   {{ fail (get .Secrets \"pw\") }}")}}}
	_, err := Build(r, plantedInput())
	assert.EqualError(t, err, `render template "ns/obj/k" for key "k" of ns/obj: execution failed (the cause is not shown: it may depend on the secret data)`)
}

// Parse errors come from the template text alone (git, or the contract), not
// from data: they keep their place, which helps the author, and hold no data.
func TestParseErrorsHoldNoData(t *testing.T) {
	t.Parallel()
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl("ok\n{{ .Secrets.pw | nope }}")}}}
	_, err := Build(r, plantedInput())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "parse error: template: ns/obj/k:2:")
	assert.NotContains(t, err.Error(), "S3cr3t")
	assert.Equal(t, CheckFor(r, "ns", "obj").Error(), err.Error(), "the same error without data")
	// The probes' names are not callable from a template.
	for _, name := range []string{tickFunc, enterFunc, leaveFunc} {
		r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl("{{ " + name + " }}")}}}
		require.Error(t, CheckFor(r, "ns", "obj"), name)
	}
}

// A call of a template that does not exist is known from the text: it is
// said before any data, with the names, whichever branch it is in.
func TestUndefinedTemplateCalls(t *testing.T) {
	t.Parallel()
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"k": tmpl(`{{ define "d" }}{{ template "gone" }}{{ end }}{{ if eq (substr 0 1 .Secrets.pw) "a" }}{{ template "nope" }}{{ else }}{{ range .Secrets }}{{ template "nope" }}{{ end }}{{ end }}`)}}}
	want := `template "d" calls template "gone", which no template defines` + "\n" +
		`template "ns/obj/k" calls template "nope", which no template defines`
	require.EqualError(t, CheckFor(r, "ns", "obj"), want)
	_, err := Build(r, plantedInput())
	require.EqualError(t, err, want)
}

func TestPointerVerbsRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text string }{
		{"%p", `{{ printf "%p" .Secrets }}`},
		{"%#p", `{{ printf "x%#p" .Secrets }}`},
		{"%[1]p", `{{ printf "%[1]p" .Secrets }}`},
		{"%-8p", `{{ printf "%-8p" .Secrets.list }}`},
		{"format from data", `{{ printf .Secrets.fmt .Secrets }}`},
		{"%d of a pointer in a list", `{{ printf "%d" (list (semver "1.2.3")) }}`},
		{"%v of a pointer", `{{ printf "%v" (semver "1.2.3") }}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(tc.text)}}}
			_, err := Build(r, kvV1(map[string]any{"pw": "p", "list": []any{"a"}, "fmt": "%p"}))
			require.ErrorIs(t, err, ErrAddress)
			assert.Contains(t, err.Error(), "%p verb")
		})
	}
	// A literal %p is refused before any data: validate and generate see it.
	for _, text := range []string{`{{ printf "%p" . }}`, `{{ define "x" }}{{ if true }}{{ (printf "a %#p" .) | upper }}{{ end }}{{ end }}`} {
		err := CheckFor(Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(text)}}}, "ns", "obj")
		require.ErrorIs(t, err, ErrAddress, text)
	}
	require.NoError(t, CheckFor(Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(`{{ printf "%d%%p" 1 }}`)}}}, "ns", "obj"))
	// Formatting that prints no address still works, the same every time.
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"k": tmpl(`{{ printf "%d%%p%s" 5 "x" }} {{ list . | len }} {{ printf "%d" (list .Secrets.n) }} {{ print (semver "1.2.3") }} {{ list . | toString | len }} {{ list . }} {{ printf "%x" (list .) }}`)}}}
	var first string
	for i := range 5 {
		out, err := Build(r, kvV1(map[string]any{"n": 7}))
		require.NoError(t, err)
		if i == 0 {
			first = string(out["k"])
		}
		assert.Equal(t, first, string(out["k"]))
	}
	assert.True(t, strings.HasPrefix(first, "5%px 1 [7] 1.2.3 "), first)
	assert.NotContains(t, first, "0x")
	assert.Contains(t, first, "[{map[n:7]")
}

func TestHasPointerVerb(t *testing.T) {
	t.Parallel()
	for f, want := range map[string]bool{
		"%p": true, "%#p": true, "% 08.3p": true, "%[2]p": true, "%*p": true, "a%vb%p": true,
		"%%p": false, "%v": false, "p%": false, "%": false, "%d%s": false, "%[1]d": false, "100%%": false,
	} {
		assert.Equal(t, want, hasPointerVerb(f), f)
	}
}

// A value that contains itself would make fmt recurse until the stack
// overflows ("fatal error: stack overflow", which no recover catches): the
// process would die.
func TestCyclicValuesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, text, want string }{
		{"set self", `{{ $d := dict }}{{ $_ := set $d "a" $d }}{{ $d }}`, "contains itself"},
		{"set via list", `{{ $d := dict }}{{ $_ := set $d "l" (list 1 $d) }}{{ $d }}`, "contains itself"},
		{"two maps", `{{ $a := dict }}{{ $b := dict "a" $a }}{{ $_ := set $a "b" $b }}{{ toString $b }}`, "contains itself"},
		{"merge", `{{ $d := dict }}{{ $_ := merge $d (dict "x" $d) }}{{ $d }}`, "contains itself"},
		{"data in its own secrets", `{{ $_ := set .Secrets "me" . }}{{ .Secrets }}`, "contains itself"},
		{"deep", `{{ $d := dict }}{{ range until 200 }}{{ $d = dict "a" $d }}{{ end }}{{ $d }}`, "nested deeper than 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(tc.text)}}}
			_, err := Build(r, kvV1(map[string]any{"pw": "p"}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The escapers text/template predefines are bounded like the other functions.
func TestEscapersBounded(t *testing.T) {
	t.Parallel()
	for _, fn := range []string{"html", "js", "urlquery"} {
		r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
			"k": tmpl(`{{ $s := repeat 500000 "<" }}{{ range until 30 }}{{ $s = ` + fn + ` $s }}{{ end }}`)}}}
		_, err := BuildContext(t.Context(), r, kvV1(map[string]any{}), Bounds{Time: time.Minute, Output: 1 << 20, Work: 64 << 20})
		require.Error(t, err, fn)
		assert.Contains(t, err.Error(), "--max-template-", fn)
	}
}

// labelledGoroutines counts the goroutines labelled (runtime/pprof) with
// case=name: those a BuildContext called under pprof.Do started.
func labelledGoroutines(t *testing.T, name string) int {
	var b strings.Builder
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&b, 1))
	n := 0
	for _, rec := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(rec, `"case":"`+name+`"`) {
			var c int
			_, _ = fmt.Sscan(rec, &c) // "<count> @ 0x..."
			n += c
		}
	}
	return n
}

// A template that never ends and calls no function is stopped at the time
// limit: its goroutine ends, it does not run on, burning a core.
func TestNeverEndingTemplateIsStopped(t *testing.T) {
	tests := []struct{ name, text string }{
		{"range int", `{{ range 1000000000000 }}{{ end }}`},
		{"nested ranges over data", `{{ range .Secrets.l }}{{ range $.Secrets.l }}{{ range $.Secrets.l }}{{ range $.Secrets.l }}{{ range $.Secrets.l }}{{ end }}{{ end }}{{ end }}{{ end }}{{ end }}`},
		{"range with break", `{{ range 1000000000000 }}{{ if false }}{{ break }}{{ end }}{{ end }}`},
		{"exponential templates", `{{ define "a" }}{{ template "b" }}{{ template "b" }}{{ end }}` +
			`{{ define "b" }}{{ template "c" }}{{ template "c" }}{{ end }}{{ define "c" }}{{ template "d" }}{{ template "d" }}{{ end }}` +
			`{{ define "d" }}{{ range 2000000000 }}{{ end }}{{ end }}{{ template "a" }}`},
		{"range else", `{{ range .Secrets.none }}{{ else }}{{ range 1000000000000 }}{{ end }}{{ end }}`},
		{"with", `{{ with .Secrets.l }}{{ range 1000000000000 }}{{ end }}{{ end }}`},
	}
	list := make([]any, 1000)
	for i := range list {
		list[i] = i
	}
	b := Bounds{Time: 100 * time.Millisecond, Output: 1 << 20, Work: 64 << 20}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": tmpl(tc.text)}}}
			start := time.Now()
			var err error
			pprof.Do(t.Context(), pprof.Labels("case", tc.name), func(ctx context.Context) {
				_, err = BuildContext(ctx, r, kvV1(map[string]any{"l": list}), b)
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), "template-time")
			assert.Less(t, time.Since(start), 5*time.Second)
			// The execution ends within an iteration of the limit.
			deadline := time.Now().Add(2 * time.Second)
			for labelledGoroutines(t, tc.name) > 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			assert.Zero(t, labelledGoroutines(t, tc.name), "the template's goroutine runs on after the limit")
		})
	}
}

func TestTemplateRecursionBounded(t *testing.T) {
	t.Parallel()
	r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"k": tmpl(`{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}`)}}}
	_, err := Build(r, kvV1(map[string]any{}))
	require.ErrorIs(t, err, errTooDeep)
	// Ordinary nesting works, and the probes print nothing.
	r = Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{
		"k": tmpl(`{{ define "n" }}<{{ . }}>{{ end }}{{ range $i, $v := until 3 }}{{ template "n" $v }}{{ if eq $i 1 }}{{ continue }}{{ end }}.{{ end }}`)}}}
	out, err := Build(r, kvV1(map[string]any{}))
	require.NoError(t, err)
	assert.Equal(t, "<0>.<1><2>.", string(out["k"]))
}
