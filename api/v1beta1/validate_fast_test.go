package v1beta1

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestNameAcceptorsAgreeWithK8s: each allocation-free wrapper (names.go)
// returns exactly what its k8s function returns, over every string of up to 4
// characters from an alphabet of each character class, and at the length
// limits.
func TestNameAcceptorsAgreeWithK8s(t *testing.T) {
	values := []string{
		strings.Repeat("a", 63), strings.Repeat("a", 64),
		strings.Repeat("a", 253), strings.Repeat("a", 254),
		strings.Repeat("a.", 126) + "a", strings.Repeat("a.", 127) + "a",
		strings.Repeat("a", 100) + "." + strings.Repeat("b", 100),
		strings.Repeat("a", 253) + "/k", strings.Repeat("a", 254) + "/k",
		"example.com/" + strings.Repeat("b", 63), "example.com/" + strings.Repeat("b", 64),
		"app.kubernetes.io/name", "Example.com/name", "-a.com/name", "a//b", "webapp-ns", "web.app",
	}
	values = append(values, allStrings("aZ0-_./ é", 4)...)
	require.Len(t, allStrings("ab", 2), 1+2+4)
	for _, tc := range []struct {
		name      string
		got, want func(string) []string
	}{
		{"IsDNS1123Subdomain", dns1123Subdomain, validation.IsDNS1123Subdomain},
		{"IsDNS1123Label", dns1123Label, validation.IsDNS1123Label},
		{"IsQualifiedName", qualifiedName, validation.IsQualifiedName},
		{"IsValidLabelValue", labelValue, validation.IsValidLabelValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range values {
				if !assert.Equal(t, tc.want(v), tc.got(v), "value %q", v) {
					return
				}
			}
		})
	}
}

// TestTransformationRefValidAgreesWithValidate: valid, which lets Validate
// skip building a reference's paths, is true exactly when validate reports
// nothing.
func TestTransformationRefValidAgreesWithValidate(t *testing.T) {
	p := field.NewPath("ref")
	for _, ns := range []string{"", "ns", "Bad_NS", "a.b"} {
		for _, name := range []string{"", "tr", "Bad_Name", "a.b"} {
			for _, trs := range [][]TemplateRef{
				nil,
				{{Name: "t"}},
				{{Name: ""}},
				{{Name: "t", KeyOverride: "KEY_1"}},
				{{Name: "t", KeyOverride: "bad key"}},
				{{Name: "t", KeyOverride: ".."}},
				{{Name: "t"}, {Name: "u", KeyOverride: "bad key"}},
			} {
				r := TransformationRef{Namespace: ns, Name: name, TemplateRefs: trs}
				assert.Equal(t, len(r.validate(p)) == 0, r.valid(), "%+v", r)
			}
		}
	}
}

// TestMatchesDurationPatternAgreesWithRegexp: the written-out matcher agrees
// with VSO's duration patterns as regexps, over every string of up to 5
// characters from an alphabet of each character class.
func TestMatchesDurationPatternAgreesWithRegexp(t *testing.T) {
	values := append(allStrings("09.smhdx-", 5), "1é", "1.5m\n", "10000000000000000000h", "s", "ms")
	for _, tc := range []struct {
		pattern, units string
	}{
		{durationPattern, "smh"},
		{pkiDurationPattern, "smhd"},
	} {
		re := regexp.MustCompile(tc.pattern)
		for _, v := range values {
			if !assert.Equal(t, re.MatchString(v), matchesDurationPattern(v, tc.units), "%s on %q", tc.pattern, v) {
				break
			}
		}
	}
}

// allStrings returns every string of up to maxLen characters from alphabet.
func allStrings(alphabet string, maxLen int) []string {
	out := []string{""}
	for prev := out; maxLen > 0; maxLen-- {
		var next []string
		for _, p := range prev {
			for _, c := range alphabet {
				next = append(next, p+string(c))
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}
