package v1beta1

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Allocation- and regexp-free acceptors for the name formats every object is
// checked against (object and Secret names, namespaces, label keys and
// values). The k8s validation functions match a regexp per call (about a
// fifth of DecodeValue's time for a typical VaultStaticSecret), and
// IsQualifiedName also splits the key. Each wrapper below accepts the usual,
// valid value on its own and calls the k8s function for anything else, so
// the k8s function still writes every error message. Each acceptor is
// checked to agree exactly with its k8s function (TestNameAcceptorsAgreeWithK8s).

// dns1123Subdomain is validation.IsDNS1123Subdomain.
func dns1123Subdomain(v string) []string {
	if isDNS1123Subdomain(v) {
		return nil
	}
	return validation.IsDNS1123Subdomain(v)
}

// dns1123Label is validation.IsDNS1123Label.
func dns1123Label(v string) []string {
	if len(v) <= validation.DNS1123LabelMaxLength && isDNS1123LabelChars(v) {
		return nil
	}
	return validation.IsDNS1123Label(v)
}

// qualifiedName is validation.IsQualifiedName.
func qualifiedName(k string) []string {
	if isPlainLabelKey(k) {
		return nil
	}
	return validation.IsQualifiedName(k)
}

// labelValue is validation.IsValidLabelValue.
func labelValue(v string) []string {
	if v == "" || isLabelName(v) {
		return nil
	}
	return validation.IsValidLabelValue(v)
}

// isDNS1123Subdomain: at most 253 characters, dot-separated DNS labels.
func isDNS1123Subdomain(v string) bool {
	if len(v) > validation.DNS1123SubdomainMaxLength {
		return false
	}
	for label := range strings.SplitSeq(v, ".") {
		if !isDNS1123LabelChars(label) {
			return false
		}
	}
	return true
}

// isDNS1123LabelChars: non-empty lower-case alphanumerics and '-', starting
// and ending alphanumeric (no length limit: a subdomain's labels have none).
func isDNS1123LabelChars(v string) bool {
	if v == "" || !isLowerAlnum(v[0]) || !isLowerAlnum(v[len(v)-1]) {
		return false
	}
	for i := range len(v) {
		if c := v[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// isPlainLabelKey: "name" or "prefix/name", a DNS subdomain prefix and a
// label name.
func isPlainLabelKey(k string) bool {
	prefix, name, hasPrefix := strings.Cut(k, "/")
	if !hasPrefix {
		name = prefix
	} else if !isDNS1123Subdomain(prefix) {
		return false
	}
	return isLabelName(name)
}

// labelNameMaxLength is the longest label value or name part of a label key.
const labelNameMaxLength = 63

// isLabelName: 1 to 63 alphanumerics, '-', '_' or '.', starting and ending
// alphanumeric.
func isLabelName(v string) bool {
	if v == "" || len(v) > labelNameMaxLength || !isAlnum(v[0]) || !isAlnum(v[len(v)-1]) {
		return false
	}
	for i := range len(v) {
		if c := v[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }
