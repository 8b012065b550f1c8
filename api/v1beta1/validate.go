package v1beta1

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vaultcmp/vaultcmp/internal/vaultheader"
)

// snip stands in for a value that may be secret.
const snip = "<snip>"

// validateObjectMeta checks name, namespace, labels and annotations of an
// object read from git. The namespace may be empty: Argo CD fills it in.
func validateObjectMeta(m *metav1.ObjectMeta) field.ErrorList {
	var errs field.ErrorList
	if m.Name == "" {
		errs = append(errs, field.Required(metaPaths.name, ""))
	} else {
		for _, msg := range dns1123Subdomain(m.Name) {
			errs = append(errs, field.Invalid(metaPaths.name, m.Name, msg))
		}
	}
	if m.Namespace != "" {
		for _, msg := range dns1123Label(m.Namespace) {
			errs = append(errs, field.Invalid(metaPaths.namespace, m.Namespace, msg))
		}
	}
	errs = append(errs, validateLabels(m.Labels, metaPaths.labels)...)
	errs = append(errs, validateAnnotations(m.Annotations, metaPaths.annotations)...)
	return errs
}

// validateLabels is metav1 validation.ValidateLabels with a stable order.
func validateLabels(labels map[string]string, p *field.Path) field.ErrorList {
	if allEntries(labels, func(k, v string) bool { return isPlainLabelKey(k) && len(labelValue(v)) == 0 }) {
		return nil
	}
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		for _, msg := range qualifiedName(k) {
			errs = append(errs, field.Invalid(p, k, msg))
		}
		for _, msg := range labelValue(labels[k]) {
			errs = append(errs, field.Invalid(p.Key(k), labels[k], msg))
		}
	}
	return errs
}

// validateAnnotations is apivalidation.ValidateAnnotations with a stable
// order. Annotation values are never printed.
func validateAnnotations(annotations map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	// A plain label key stays one when lower-cased (it is ASCII with a
	// lower-case prefix), so when every key is one there is nothing to
	// report per key: no sorting, no full check.
	if !allEntries(annotations, func(k, _ string) bool { return isPlainLabelKey(k) }) {
		for _, k := range slices.Sorted(maps.Keys(annotations)) {
			for _, msg := range qualifiedName(strings.ToLower(k)) {
				errs = append(errs, field.Invalid(p, k, msg))
			}
		}
	}
	if err := apivalidation.ValidateAnnotationsSize(annotations); err != nil {
		errs = append(errs, field.TooLong(p, "", apivalidation.TotalAnnotationSizeLimitB))
	}
	return errs
}

// validateHeaders checks HTTP header names, and refuses the headers that
// carry a credential (X-Vault-Token, Authorization, ...: vaultheader); values
// are never printed.
func validateHeaders(headers map[string]string, p *field.Path) field.ErrorList {
	if allEntries(headers, func(k, _ string) bool {
		return len(validation.IsHTTPHeaderName(k)) == 0 && !vaultheader.Forbidden(k)
	}) {
		return nil
	}
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		for _, msg := range validation.IsHTTPHeaderName(k) {
			errs = append(errs, field.Invalid(p, k, msg))
		}
		if vaultheader.Forbidden(k) {
			errs = append(errs, field.Forbidden(p.Key(k), vaultheader.Reason))
		}
	}
	return errs
}

// validateRequired reports an empty value as required.
func validateRequired(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	return nil
}

// validateEnum checks v against allowed; empty is accepted unless required.
func validateEnum(v string, required bool, p *field.Path, allowed ...string) field.ErrorList {
	if v == "" {
		if required {
			return field.ErrorList{field.Required(p, "")}
		}
		return nil
	}
	if !slices.Contains(allowed, v) {
		return field.ErrorList{field.NotSupported(p, v, allowed)}
	}
	return nil
}

// validateVaultPath checks a Vault mount, path or path segment: it must not
// start with "/" nor contain a ".." segment, so it can never leave its mount.
func validateVaultPath(v string, required bool, p *field.Path) field.ErrorList {
	if v == "" {
		if required {
			return field.ErrorList{field.Required(p, "")}
		}
		return nil
	}
	var errs field.ErrorList
	if strings.HasPrefix(v, "/") {
		errs = append(errs, field.Invalid(p, v, "must not start with '/'"))
	}
	return append(errs, validateNoDotDot(v, p)...)
}

// validateNoDotDot rejects a path with a ".." segment.
func validateNoDotDot(v string, p *field.Path) field.ErrorList {
	for seg := range strings.SplitSeq(v, "/") {
		if seg == ".." {
			return field.ErrorList{field.Invalid(p, v, "must not contain a '..' segment")}
		}
	}
	return nil
}

// validateDuration checks v against the VSO duration pattern (s, m, h).
func validateDuration(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	if _, err := ParseDuration(v); err != nil {
		return field.ErrorList{field.Invalid(p, v, "must be a duration like 30s, 1.5m or 24h (units s, m, h)")}
	}
	return nil
}

// validatePKIDuration checks v against the VSO PKI ttl pattern (s, m, h, d).
func validatePKIDuration(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	if _, err := ParsePKIDuration(v); err != nil {
		return field.ErrorList{field.Invalid(p, v, "must be a duration like 30s, 1.5m, 24h or 30d (units s, m, h, d)")}
	}
	return nil
}

// validateRegexps checks that each pattern compiles as Go RE2.
func validateRegexps(patterns []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, pat := range patterns {
		if _, err := regexp.Compile(pat); err != nil {
			errs = append(errs, field.Invalid(p.Index(i), pat, err.Error()))
		}
	}
	return errs
}

// isValidName reports whether validateName(v, true, p) reports nothing,
// without building p.
func isValidName(v string) bool {
	return v != "" && isDNS1123Subdomain(v)
}

// validateName checks a Kubernetes object name (DNS subdomain).
func validateName(v string, required bool, p *field.Path) field.ErrorList {
	if v == "" {
		if required {
			return field.ErrorList{field.Required(p, "")}
		}
		return nil
	}
	var errs field.ErrorList
	for _, msg := range dns1123Subdomain(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

// validateNamespace checks a Kubernetes namespace name (DNS label).
func validateNamespace(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range dns1123Label(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

// validateRef checks a VSO resource reference "name" or "namespace/name".
// Empty means the default object and is accepted.
func validateRef(ref string, p *field.Path) field.ErrorList {
	if ref == "" {
		return nil
	}
	if strings.Count(ref, "/") > 1 {
		return field.ErrorList{field.Invalid(p, ref, "must be <name> or <namespace>/<name>")}
	}
	var errs field.ErrorList
	ns, name, hasNS := strings.Cut(ref, "/")
	if !hasNS {
		name = ref
	} else {
		if ns == "" {
			errs = append(errs, field.Invalid(p, ref, "namespace before '/' must not be empty"))
		}
		for _, msg := range dns1123Label(ns) {
			if ns != "" {
				errs = append(errs, field.Invalid(p, ref, "namespace: "+msg))
			}
		}
	}
	if name == "" {
		return append(errs, field.Invalid(p, ref, "name after '/' must not be empty"))
	}
	for _, msg := range dns1123Subdomain(name) {
		errs = append(errs, field.Invalid(p, ref, "name: "+msg))
	}
	return errs
}

// validateSecretKey checks a Secret data key.
func validateSecretKey(k string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(k) {
		errs = append(errs, field.Invalid(p, k, msg))
	}
	return errs
}

// validateHTTPURL checks an absolute http(s) URL. The value is not printed:
// it could carry user info.
func validateHTTPURL(v string, p *field.Path) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return field.ErrorList{field.Invalid(p, snip, "must be an absolute http or https URL, e.g. https://vault.example.com:8200")}
	}
	return nil
}

// validateMinInt64 checks v >= minimum when v is set (non-zero).
func validateMinInt64(v, minimum int64, p *field.Path) field.ErrorList {
	if v != 0 && v < minimum {
		return field.ErrorList{field.Invalid(p, v, fmt.Sprintf("must be at least %d", minimum))}
	}
	return nil
}

// allEntries reports whether ok holds for every entry of m, in map order and
// without allocating. The validators use it to skip, for a map where nothing
// is wrong (the usual case), the sorting of its keys and the full checks that
// only matter to report errors in a stable order.
func allEntries[V any](m map[string]V, ok func(string, V) bool) bool {
	for k, v := range m {
		if !ok(k, v) {
			return false
		}
	}
	return true
}
