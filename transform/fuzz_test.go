package transform

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

const fuzzSecret = "FUZZ-s3cr3t-VALUE"

// cpuOnlyRe matches templates whose only bound is the time limit (a huge
// range or template recursion): each would take the whole limit, so they are
// left to TestBoundedTemplatesTime, TestNeverEndingTemplateIsStopped and the
// e2e suite.
var cpuOnlyRe = regexp.MustCompile(`\d{6,}|\de\d|define|block|template|mul|pow`)

// FuzzTemplate: any template text renders or fails within the bounds (time,
// output, work), never panics, and an error never carries the Vault data.
// Seeds: testdata/fuzz/FuzzTemplate (the hostile templates among them).
func FuzzTemplate(f *testing.F) {
	for _, tc := range hostileTemplates {
		f.Add(tc.text)
	}
	f.Add(`{{ get .Secrets "pw" | b64enc }}`)
	f.Add(`{{ range $k, $v := .Secrets }}{{ $k }}={{ $v }}{{ end }}`)
	f.Add(`{{ fail (get .Secrets "pw") }}`)
	f.Add(`{{ .Secrets.pw | int }}`)
	b := Bounds{Time: 200 * time.Millisecond, Output: 64 << 10, Work: 1 << 20}
	f.Fuzz(func(t *testing.T, text string) {
		if cpuOnlyRe.MatchString(text) {
			return
		}
		r := Resolved{Spec: v1beta1.Transformation{Templates: map[string]v1beta1.Template{"k": {Text: text}}}}
		in := kvV1(map[string]any{"pw": fuzzSecret, "n": "12"})
		start := time.Now()
		out, err := BuildContext(t.Context(), r, in, b)
		if d := time.Since(start); d > b.Time+time.Second {
			t.Fatalf("Build took %s", d)
		}
		if err != nil && !strings.Contains(text, fuzzSecret) && strings.Contains(err.Error(), fuzzSecret) {
			t.Fatalf("the error carries the secret value: %v", err)
		}
		if int64(len(out["k"])) > b.Output {
			t.Fatalf("output of %d bytes above the limit", len(out["k"]))
		}
	})
}
