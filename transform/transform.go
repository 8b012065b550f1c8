package transform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// KeyRaw is the Secret key that holds the whole Vault response.
const KeyRaw = "_raw"

// Input is the data one Vault response gives (VSO's SecretInput plus the raw
// response). Build never modifies it: templates work on deep copies, so one
// Input may be shared by several objects and by concurrent Builds.
type Input struct {
	// Namespace and Name identify the owning object (VaultStaticSecret etc.);
	// they name unnamed inline templates ("<ns>/<name>/<key>"), default the
	// namespace of TransformationRefs and appear in errors.
	Namespace, Name string
	// Fields is VSO's "d": kv-v1 .data, kv-v2 .data.data, others .data. Pass
	// the values as Vault's client decoded them (json.Number for numbers).
	Fields map[string]any
	// Response is the whole Vault response .data: it becomes _raw, and its
	// "metadata" map (kv-v2) becomes .Metadata.
	Response map[string]any
	// Annotations and Labels are the owning object's own metadata.
	Annotations, Labels map[string]string
	// WrapData is the response-wrapping information (.WrapData, VSO's
	// VaultDynamicSecret); nil when the response was not wrapped.
	WrapData map[string]any
}

// Resolved is a transformation with its SecretTransformation refs already
// looked up by the caller: Refs[i] is the object for Spec.TransformationRefs[i]
// (nil if it does not exist). The caller decides names, namespaces and whether
// the reference is allowed.
type Resolved struct {
	Spec v1beta1.Transformation
	Refs []*v1beta1.SecretTransformation
}

// Build returns the Secret data for one Vault response: VSO's
// SecretDataBuilder.WithVaultData and makeK8sData. See the package
// documentation for the rules. Errors never contain secret values. The
// templates run within DefaultBounds.
func Build(r Resolved, in Input) (map[string][]byte, error) {
	return BuildContext(context.Background(), r, in, DefaultBounds())
}

// BuildContext is Build within b, stopping when ctx ends.
func BuildContext(ctx context.Context, r Resolved, in Input, b Bounds) (map[string][]byte, error) {
	g, err := gather(r, in.Namespace, in.Name)
	if err != nil {
		return nil, err
	}

	var raw []byte
	if !r.Spec.ExcludeRaw {
		if raw, err = json.Marshal(in.Response); err != nil {
			return nil, &EncodeError{Key: KeyRaw, Detail: redactJSONError(err)}
		}
	}

	// VSO hands the same map to the templates and to the field copy, so a
	// template's {{set .Secrets ...}} shows up in the Secret; keep that, but on
	// a copy, so the caller's maps stay untouched. Without templates nothing
	// writes to the fields.
	fields := in.Fields
	var rendered map[string][]byte
	if len(g.templates) > 0 {
		fields = deepCopyMap(in.Fields)
		metadata, ok := in.Response["metadata"].(map[string]any)
		if ok {
			metadata = deepCopyMap(metadata)
		} else {
			metadata = map[string]any{}
		}
		input := &templateInput{
			Secrets:     fields,
			Metadata:    metadata,
			Annotations: stringMap(in.Annotations),
			Labels:      stringMap(in.Labels),
			WrapData:    deepCopyMap(in.WrapData),
		}
		rendered, err = render(ctx, g, input, in.Namespace+"/"+in.Name, b)
		if err != nil {
			return nil, err
		}
	}
	return makeK8sData(fields, rendered, raw, r.Spec.ExcludeRaw, g)
}

// Check parses every template and compiles every include/exclude pattern of
// r without Vault data, and reports all problems at once. Unnamed inline
// templates are named as if the owner were unknown ("//<key>"); use CheckFor
// to get the names Build uses.
func Check(r Resolved) error {
	return CheckFor(r, "", "")
}

// CheckFor is Check for the owning object namespace/name.
func CheckFor(r Resolved, namespace, name string) error {
	g, err := gather(r, namespace, name)
	if err != nil {
		return err
	}
	var errs []error
	if len(g.templates) > 0 {
		set := newSet()
		parsed := true
		for _, kt := range g.templates {
			if err := parseOne(set, kt); err != nil {
				errs = append(errs, err)
				parsed = false
			}
		}
		if parsed {
			errs = append(errs, undefinedCalls(set)...)
		}
	}
	for _, pats := range [][]string{g.excludes, g.includes} {
		for _, p := range pats {
			if _, err := compile(p); err != nil {
				errs = append(errs, fmt.Errorf("transformation pattern: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// TemplateKeys is the output-key rule: the Secret keys that r's templates
// write for the object namespace/name, sorted, whatever the Vault data (an
// inline template's map key; a templateRef's keyOverride, else its name;
// every template of a SecretTransformation referenced without
// templateRefs, unless a template of that name came first). Source
// templates write no key. Build adds `_raw` (unless excluded) and the
// Vault fields that survive the includes and excludes.
func TemplateKeys(r Resolved, namespace, name string) ([]string, error) {
	g, err := gather(r, namespace, name)
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, kt := range g.templates {
		if !kt.isSource() {
			keys[kt.key] = true
		}
	}
	return slices.Sorted(maps.Keys(keys)), nil
}

// HasTemplates reports whether r has any template, counting source templates,
// as VSO does when it decides on the kubernetes.io/tls layout (TLSLayout).
func HasTemplates(r Resolved) bool {
	if len(r.Spec.Templates) > 0 {
		return true
	}
	for i, ref := range r.Spec.TransformationRefs {
		if len(ref.TemplateRefs) > 0 {
			return true
		}
		if i < len(r.Refs) && r.Refs[i] != nil {
			st := r.Refs[i].Spec
			if len(st.SourceTemplates) > 0 || len(st.Templates) > 0 {
				return true
			}
		}
	}
	return false
}

// makeK8sData is VSO's makeK8sData: _raw, then the rendered templates, then
// the filtered fields that are not already set.
func makeK8sData(fields map[string]any, rendered map[string][]byte, raw []byte, excludeRaw bool, g *gathered) (map[string][]byte, error) {
	data := map[string][]byte{}
	if !excludeRaw {
		if _, ok := fields[KeyRaw]; ok {
			return nil, ErrRawNotPermitted
		}
		if _, ok := rendered[KeyRaw]; ok {
			return nil, ErrRawNotPermitted
		}
		data[KeyRaw] = raw
	}
	for k, v := range rendered {
		data[k] = v
	}

	filtered, err := filterFields(fields, g.excludes, g.includes)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(filtered)) {
		if _, ok := data[k]; ok {
			continue
		}
		b, err := encodeValue(filtered[k])
		if err != nil {
			return nil, &EncodeError{Key: k, Detail: redactJSONError(err)}
		}
		data[k] = b
	}
	return data, nil
}

// encodeValue is VSO's marshalJSON: strings verbatim, anything else as Go's
// json.Marshal writes it (json.Number and integral float64 as plain digits,
// bool as true/false, nil as null, maps with sorted keys, HTML-escaped).
func encodeValue(v any) ([]byte, error) {
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	return json.Marshal(v)
}

// redactJSONError keeps the type in json.UnsupportedTypeError and drops every
// other message, which may quote the value.
func redactJSONError(err error) string {
	var te *json.UnsupportedTypeError
	if errors.As(err, &te) {
		return te.Error()
	}
	return "json: cannot encode value <redacted>"
}

// filterFields is VSO's filterData: excludes first (drop keys matching any
// exclude), then includes (keep keys matching any include). Patterns are RE2,
// unanchored, and compiled only when a key reaches them, as in VSO.
func filterFields(d map[string]any, excludes, includes []string) (map[string]any, error) {
	if len(excludes) == 0 && len(includes) == 0 {
		return d, nil
	}
	m := map[string]any{}
	if len(excludes) > 0 {
		for _, k := range slices.Sorted(maps.Keys(d)) {
			matched, err := matchAny(excludes, k)
			if err != nil {
				return nil, err
			}
			if !matched {
				m[k] = d[k]
			}
		}
	} else {
		m = maps.Clone(d)
	}
	if len(includes) > 0 {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			matched, err := matchAny(includes, k)
			if err != nil {
				return nil, err
			}
			if !matched {
				delete(m, k)
			}
		}
	}
	return m, nil
}

func matchAny(pats []string, key string) (bool, error) {
	for _, p := range pats {
		re, err := compile(p)
		if err != nil {
			return false, fmt.Errorf("transformation pattern: %w", err)
		}
		if re.MatchString(key) {
			return true, nil
		}
	}
	return false, nil
}

// stringMap converts the owner's annotations or labels for templates: nil when
// there are none (as for an object read from the API server).
func stringMap(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// deepCopyMap copies the maps and slices of decoded JSON; scalars (string,
// json.Number, float64, bool, nil) are immutable and shared.
func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopyValue(e)
		}
		return out
	case map[string]string:
		return maps.Clone(x)
	case []string:
		return slices.Clone(x)
	default:
		return v
	}
}
