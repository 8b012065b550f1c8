package renderer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/internal/safetext"
)

// MaxSecretSize is the kube-apiserver's bound on a Secret's data (the sum of
// its values, decoded).
const MaxSecretSize = 1 << 20

var kindRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// checkOutput checks every output object as the kube-apiserver would for
// what vaultcmp can see without a cluster: identity (apiVersion, kind,
// metadata.name or generateName, metadata.namespace) for every object, and
// for Secrets their keys and size. A problem names the object, the field and
// the key, never a value.
func checkOutput(res *Result) Problems {
	var probs Problems
	for i, obj := range res.objects {
		if obj == nil {
			continue // a Secret checked as it was built (job.transform)
		}
		var from *Object
		if i < len(res.from) {
			from = res.from[i]
		}
		for _, p := range checkObject(obj) {
			p.Object = outputWhere(obj, from)
			probs = append(probs, p)
		}
	}
	return probs
}

// outputWhere names an output object: its own kind and name, and the input
// object it comes from when that is another one.
func outputWhere(obj map[string]any, from *Object) string {
	out := &Object{Data: obj}
	self := fmt.Sprintf("%s %s", safetext.Clean(out.Kind()), safetext.Clean(names.Qualified(out.Namespace(), out.Name())))
	if from == nil {
		return self
	}
	if from.Kind() == out.Kind() && from.Name() == out.Name() {
		return from.Where()
	}
	return from.Where() + " → " + self
}

// checkObject is every problem checkOutput finds in one object.
func checkObject(obj map[string]any) []*Problem {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	generateName, _ := md["generateName"].(string)
	ns, _ := md["namespace"].(string)
	probs := checkIdentity(apiVersion, kind, name, generateName, ns)
	if apiVersion == "v1" && kind == "Secret" {
		probs = append(probs, checkSecret(obj)...)
	}
	return probs
}

// checkIdentity is checkObject's checks of an object's apiVersion, kind,
// metadata.name or generateName and metadata.namespace ("": none).
func checkIdentity(apiVersion, kind, name, generateName, ns string) []*Problem {
	var probs []*Problem
	add := func(field, hint string, format string, args ...any) {
		probs = append(probs, &Problem{Field: field, Hint: hint, Err: fmt.Errorf(format, args...)})
	}
	switch apiVersion {
	case "":
		add("apiVersion", "add apiVersion (e.g. v1, apps/v1)", "missing apiVersion")
	default:
		if msg := apiVersionProblem(apiVersion); msg != "" {
			add("apiVersion", "write apiVersion as VERSION or GROUP/VERSION", "invalid apiVersion %s: %s", safetext.Clean(apiVersion), msg)
		}
	}
	switch {
	case kind == "":
		add("kind", "add kind (e.g. ConfigMap)", "missing kind")
	case !kindRe.MatchString(kind):
		add("kind", "kind is a name such as ConfigMap", "invalid kind %s", safetext.Clean(kind))
	}
	switch {
	case name == "" && generateName == "":
		add("metadata.name", "add metadata.name", "missing metadata.name")
	case name != "":
		if msgs := nameProblems(apiVersion, kind, name); len(msgs) > 0 {
			add("metadata.name", "use a lower-case DNS name (RFC 1123)", "invalid name %s: %s", safetext.Clean(name), strings.Join(msgs, "; "))
		}
	}
	if ns != "" {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			add("metadata.namespace", "use a lower-case DNS label (RFC 1123)", "invalid namespace %s: %s", safetext.Clean(ns), strings.Join(msgs, "; "))
		}
	}
	return probs
}

func apiVersionProblem(v string) string {
	group, version, grouped := strings.Cut(v, "/")
	if !grouped {
		version, group = group, ""
	}
	if grouped {
		if msgs := validation.IsDNS1123Subdomain(group); len(msgs) > 0 {
			return "group: " + strings.Join(msgs, "; ")
		}
	}
	if msgs := validation.IsDNS1035Label(version); len(msgs) > 0 {
		return "version: " + strings.Join(msgs, "; ")
	}
	return ""
}

func nameProblems(apiVersion, kind, name string) []string {
	if msgs := content.IsPathSegmentName(name); len(msgs) > 0 {
		return msgs
	}
	if len(name) > validation.DNS1123SubdomainMaxLength {
		return []string{validation.MaxLenError(validation.DNS1123SubdomainMaxLength)}
	}
	if apiVersion == "v1" && (kind == "Secret" || kind == "ConfigMap") {
		return validation.IsDNS1123Subdomain(name)
	}
	return nil
}

// checkSecret checks a Secret's keys (validation.IsConfigMapKey) and size
// (MaxSecretSize, data and stringData together, as the apiserver merges them).
func checkSecret(obj map[string]any) []*Problem {
	if secretValid(obj) {
		return nil
	}
	return secretProblems(obj)
}

// secretProblems is checkSecret's every problem, keys in order.
func secretProblems(obj map[string]any) []*Problem {
	var probs []*Problem
	total := 0
	for _, field := range []string{"data", "stringData"} {
		m, _ := obj[field].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if msgs := validation.IsConfigMapKey(k); len(msgs) > 0 {
				probs = append(probs, &Problem{Field: field,
					Err:  fmt.Errorf("invalid Secret key %s: %s", safetext.Clean(k), strings.Join(msgs, "; ")),
					Hint: "Secret keys are made of letters, digits, '-', '_' and '.' (not '.' or '..'): rename the key in Vault or map it with a template, or drop it with excludes"})
			}
			switch v := m[k].(type) {
			case string:
				if field == "stringData" {
					total += len(v)
					continue
				}
				n, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					probs = append(probs, &Problem{Field: field, Err: fmt.Errorf("Secret key %s: the value is not base64", safetext.Clean(k)),
						Hint: "Secret data values are base64; use stringData for plain text"})
					continue
				}
				total += len(n)
			case nil:
			default:
				probs = append(probs, &Problem{Field: field, Err: fmt.Errorf("Secret key %s: the value is not a string", safetext.Clean(k)),
					Hint: "quote the value"})
			}
		}
	}
	if total > MaxSecretSize {
		probs = append(probs, &Problem{Field: "data",
			Err:  fmt.Errorf("the Secret holds %d bytes of data, more than the kube-apiserver's limit of %d (1MiB)", total, MaxSecretSize),
			Hint: "store less in one Secret: select keys with includes/excludes, exclude _raw (excludeRaw: true), or split the secret in Vault"})
	}
	return probs
}

// secretValid tells, without sorting the keys or decoding the values,
// that checkSecret finds nothing: most Secrets (every Secret of a large
// app) are valid, and checkSecret goes through them in order, decoding,
// only to word its problems. false: maybe a problem, ask checkSecret.
func secretValid(obj map[string]any) bool {
	total := 0
	for _, field := range []string{"data", "stringData"} {
		m, _ := obj[field].(map[string]any)
		for k, v := range m {
			if !secretKeyValid(k) {
				return false
			}
			s, ok := v.(string)
			switch {
			case v == nil:
			case !ok:
				return false
			case field == "stringData":
				total += len(s)
			default:
				n, ok := base64Len(s)
				if !ok {
					return false
				}
				total += n
			}
		}
	}
	return total <= MaxSecretSize
}

// secretKeyValid tells that checkSecret finds nothing wrong with a key.
func secretKeyValid(k string) bool { return len(validation.IsConfigMapKey(k)) == 0 }

// dataValid is secretValid for a Secret whose data is data, base64-encoded
// (an inline Secret's: see inlineSecret).
func dataValid(data map[string][]byte) bool {
	total := 0
	for k, v := range data {
		if !secretKeyValid(k) {
			return false
		}
		total += len(v)
	}
	return total <= MaxSecretSize
}

// base64Len is the decoded length of s when s is padded standard base64
// without line breaks (what encoding/base64 writes); ok false otherwise.
func base64Len(s string) (n int, ok bool) {
	if len(s)%4 != 0 {
		return 0, false
	}
	pad := len(s) - len(strings.TrimRight(s, "="))
	if pad > 2 {
		return 0, false
	}
	for i := 0; i < len(s)-pad; i++ {
		if !base64Letter(s[i]) {
			return 0, false
		}
	}
	return len(s)/4*3 - pad, true
}

// interrupted is the error of a render whose context ended (the deadline, or
// a signal): the cause, and the objects still waiting.
func interrupted(ctx context.Context, jobs []*job) error {
	var waiting []string
	for _, j := range jobs {
		if j.secret != nil || j.yaml != nil {
			continue // rendered
		}
		if j.err == nil || errors.Is(j.err, context.DeadlineExceeded) || errors.Is(j.err, context.Canceled) {
			waiting = append(waiting, j.vo.src.Where())
		}
	}
	cause := context.Cause(ctx)
	if len(waiting) == 0 {
		return fmt.Errorf("%w: nothing rendered", cause)
	}
	const shown = 10
	n, more := len(waiting), ""
	if len(waiting) > shown {
		more = fmt.Sprintf(" (and %d more)", len(waiting)-shown)
		waiting = waiting[:shown]
	}
	return fmt.Errorf("%w: nothing rendered; %d %s still waiting for Vault or templates: %s%s",
		cause, n, plural(n, "object was", "objects were"), strings.Join(waiting, ", "), more)
}
