package v1beta1

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// DecodeValue decodes and validates one object given as a decoded YAML or
// JSON value: maps are map[string]any, lists []any, scalars string, bool,
// nil, int, int64, uint64, float64 or json.Number. The result is exactly that
// of Decode(json.Marshal(v)): the same object, the same *DecodeError, the
// same plain errors. When v cannot be encoded as JSON, json.Marshal's error
// is returned as it is, so callers that used to marshal see no change.
//
// It exists for speed: the renderer holds every object as such a value, and
// going through JSON cost a marshal and two parses per object (about 13% of
// a 10,000-Secret render's CPU). See valueDecoder.
func DecodeValue(v map[string]any) (Object, error) {
	if obj, ok := decodeValueFast(v); ok {
		if errs := obj.Validate(); len(errs) > 0 {
			return nil, &DecodeError{Kind: obj.GetKind(), Name: obj.GetName(), Namespace: obj.GetNamespace(), Errs: errs}
		}
		return obj, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err //nolint:wrapcheck // the renderer's message stays the same as before DecodeValue
	}
	return Decode(raw)
}

// decodeValueFast decodes v into a new object without validating it. It
// reports false, and the caller takes the JSON path, for anything that the
// JSON path would report as a decoding error (unknown fields, wrong types,
// unsupported apiVersion or kind) and for every shape it does not handle
// itself. Error reporting is thus left to Decode alone: it is rare (one bad
// object fails the render), and matching encoding/json's error order and
// paths by hand would double this code for no speed.
func decodeValueFast(v map[string]any) (Object, bool) {
	if v["apiVersion"] != APIVersion {
		return nil, false
	}
	kind, _ := v["kind"].(string)
	obj := NewObject(kind)
	if obj == nil {
		return nil, false
	}
	rv := reflect.ValueOf(obj).Elem()
	if !decoderFor(rv.Type()).decode(rv, v) {
		return nil, false
	}
	return obj, true
}

// valueDecoder stores a decoded YAML/JSON value into a Go value of one type
// with the rules of sigs.k8s.io/json's strict, case-sensitive decoding, as
// if the value had been marshalled to JSON and unmarshalled:
//
//   - a JSON object goes into a struct by exact field name (encoding/json's
//     names, embedded structs promoted) or into a map with string keys; a
//     key that matches no field fails;
//   - null sets pointers, slices and maps to nil and leaves other values
//     alone; an empty list gives an empty, non-nil slice;
//   - a number goes into an integer only as encoding/json would parse its
//     JSON text (1.0 is 1; 1.5, out-of-range values and non-canonical
//     json.Number text fail);
//   - a type with its own UnmarshalJSON (SecretKeyRef, json.RawMessage,
//     metav1.Time, ...) gets the JSON of its value, as Decode gives it;
//   - strings must be valid UTF-8 (JSON would replace bad bytes).
//
// Anything else fails (decode returns false), and DecodeValue falls back to
// JSON: floats, interfaces, arrays, []byte, TextUnmarshaler types, ",string"
// fields, embedded pointers, conflicting field names.
type valueDecoder struct {
	typ  reflect.Type
	kind decoderKind
	elem *valueDecoder // pointer, slice and map elements
	// fields of a struct by JSON name; index as in reflect.Value.FieldByIndex.
	fields map[string]structField
}

type structField struct {
	index []int
	dec   *valueDecoder
}

type decoderKind uint8

const (
	unsupported decoderKind = iota
	stringKind
	boolKind
	intKind
	uintKind
	pointerKind
	sliceKind
	mapKind
	structKind
	unmarshalerKind
)

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	nullJSON            = []byte("null")
)

// decoders caches one *valueDecoder per type while it is built (under
// decodersMu); built holds finished ones, immutable and read without the
// lock by the renderer's concurrent decodes.
var (
	decodersMu sync.Mutex
	decoders   = map[reflect.Type]*valueDecoder{}
	built      sync.Map // reflect.Type → *valueDecoder
)

// decoderFor returns the decoder of t, building it (and those of the types it
// contains) on first use.
func decoderFor(t reflect.Type) *valueDecoder {
	if d, ok := built.Load(t); ok {
		return d.(*valueDecoder) //nolint:forcetypeassert // only *valueDecoder is stored
	}
	decodersMu.Lock()
	defer decodersMu.Unlock()
	d := buildDecoder(t)
	built.Store(t, d)
	return d
}

// buildDecoder needs decodersMu. A decoder is cached before its elements are
// built, so recursive types end.
func buildDecoder(t reflect.Type) *valueDecoder {
	if d, ok := decoders[t]; ok {
		return d
	}
	d := &valueDecoder{typ: t}
	decoders[t] = d
	isPointer := t.Kind() == reflect.Pointer
	switch {
	case !isPointer && reflect.PointerTo(t).Implements(unmarshalerType):
		if t.Name() != "" { // encoding/json calls only named types' methods directly
			d.kind = unmarshalerKind
		}
	case !isPointer && reflect.PointerTo(t).Implements(textUnmarshalerType),
		isPointer && t.Name() != "":
		// unsupported: left to JSON
	default:
		switch t.Kind() {
		case reflect.String:
			d.kind = stringKind
		case reflect.Bool:
			d.kind = boolKind
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			d.kind = intKind
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			d.kind = uintKind
		case reflect.Pointer:
			d.kind, d.elem = pointerKind, buildDecoder(t.Elem())
		case reflect.Slice:
			if t.Elem().Kind() != reflect.Uint8 { // []byte is base64 in JSON
				d.kind, d.elem = sliceKind, buildDecoder(t.Elem())
			}
		case reflect.Map:
			k := t.Key()
			if k.Kind() == reflect.String && !reflect.PointerTo(k).Implements(textUnmarshalerType) {
				d.kind, d.elem = mapKind, buildDecoder(t.Elem())
			}
		case reflect.Struct:
			if fields, ok := jsonFields(t); ok {
				d.kind, d.fields = structKind, fields
			}
		}
	}
	return d
}

// jsonFields lists the fields of struct t by JSON name as encoding/json
// sees them. It reports false for what the fast path leaves to JSON:
// embedded pointers, unexported embedded structs and two fields with one
// name (encoding/json's dominance rules).
func jsonFields(t reflect.Type) (map[string]structField, bool) {
	fields := map[string]structField{}
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			idx := append(index[:len(index):len(index)], i)
			if sf.Anonymous && name == "" {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					return false
				}
				if ft.Kind() == reflect.Struct {
					if !sf.IsExported() || !walk(ft, idx) {
						return false
					}
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if _, dup := fields[name]; dup {
				return false
			}
			dec := buildDecoder(sf.Type)
			if optionSet(opts, "string") {
				dec = &valueDecoder{typ: sf.Type, kind: unsupported}
			}
			fields[name] = structField{index: idx, dec: dec}
		}
		return true
	}
	if !walk(t, nil) {
		return nil, false
	}
	return fields, true
}

func optionSet(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// decode stores x into v (settable, of type d.typ). On false v may be
// partly written; the caller then discards the whole object.
func (d *valueDecoder) decode(v reflect.Value, x any) bool {
	switch n := x.(type) { // a nil map or list is null in JSON
	case map[string]any:
		if n == nil {
			x = nil
		}
	case []any:
		if n == nil {
			x = nil
		}
	}
	if x == nil {
		return d.decodeNull(v)
	}
	switch d.kind {
	case stringKind:
		s, ok := x.(string)
		if !ok || !utf8.ValidString(s) {
			return false
		}
		v.SetString(s)
	case boolKind:
		b, ok := x.(bool)
		if !ok {
			return false
		}
		v.SetBool(b)
	case intKind:
		n, ok := toInt64(x)
		if !ok || v.OverflowInt(n) {
			return false
		}
		v.SetInt(n)
	case uintKind:
		n, ok := toUint64(x)
		if !ok || v.OverflowUint(n) {
			return false
		}
		v.SetUint(n)
	case pointerKind:
		p := reflect.New(d.elem.typ)
		if !d.elem.decode(p.Elem(), x) {
			return false
		}
		v.Set(p)
	case sliceKind:
		list, ok := x.([]any)
		if !ok {
			return false
		}
		s := reflect.MakeSlice(d.typ, len(list), len(list))
		for i, e := range list {
			if !d.elem.decode(s.Index(i), e) {
				return false
			}
		}
		v.Set(s)
	case mapKind:
		obj, ok := x.(map[string]any)
		if !ok {
			return false
		}
		m := reflect.MakeMapWithSize(d.typ, len(obj))
		kt := d.typ.Key()
		for k, e := range obj {
			if !utf8.ValidString(k) {
				return false
			}
			ev := reflect.New(d.elem.typ).Elem()
			if !d.elem.decode(ev, e) {
				return false
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(kt), ev)
		}
		v.Set(m)
	case structKind:
		obj, ok := x.(map[string]any)
		if !ok {
			return false
		}
		for k, e := range obj {
			f, ok := d.fields[k]
			if !ok || !f.dec.decode(v.FieldByIndex(f.index), e) {
				return false
			}
		}
	case unmarshalerKind:
		raw, err := json.Marshal(x)
		if err != nil {
			return false
		}
		return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw) == nil
	default:
		return false
	}
	return true
}

// decodeNull is decode of JSON null: see valueDecoder.
func (d *valueDecoder) decodeNull(v reflect.Value) bool {
	switch d.kind {
	case unsupported:
		return false
	case unmarshalerKind:
		return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(nullJSON) == nil
	case pointerKind, sliceKind, mapKind:
		v.SetZero()
	}
	return true
}

// toInt64 converts a number as encoding/json parses its JSON text into an
// int64: floats only when whole (their JSON has no fraction or exponent).
func toInt64(x any) (int64, bool) {
	switch n := x.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float64:
		// Whole floats below 1e21 marshal without a fraction or exponent;
		// ±2^63 bounds what ParseInt accepts.
		if n != math.Trunc(n) || n < -(1<<63) || n >= 1<<63 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		// Only canonical text: "+1", "01" and "-0" are not what ParseInt
		// sees after json.Marshal (which rejects the first two).
		return i, err == nil && strconv.FormatInt(i, 10) == string(n)
	}
	return 0, false
}

// toUint64 is toInt64 for unsigned fields; floats are left to JSON.
func toUint64(x any) (uint64, bool) {
	switch n := x.(type) {
	case int:
		return uint64(n), n >= 0
	case int64:
		return uint64(n), n >= 0
	case uint64:
		return n, true
	case json.Number:
		u, err := strconv.ParseUint(string(n), 10, 64)
		return u, err == nil && strconv.FormatUint(u, 10) == string(n)
	}
	return 0, false
}
