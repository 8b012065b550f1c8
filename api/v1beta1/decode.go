package v1beta1

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	k8sjson "sigs.k8s.io/json"
)

// DecodeError lists every problem found in one object by Decode. Errs never
// hold a value that could be secret.
type DecodeError struct {
	// Kind, Name and Namespace identify the object as far as they could be
	// read; any of them may be empty.
	Kind      string
	Name      string
	Namespace string
	// Errs has one entry per problem, with its field path.
	Errs field.ErrorList
}

// Error reads like `VaultStaticSecret "webapp-config": spec.mount: Required value`;
// several problems are joined with "; ".
func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.Kind != "" {
		b.WriteString(e.Kind)
	} else {
		b.WriteString("object")
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " %q", e.Name)
	}
	b.WriteString(": ")
	for i, fe := range e.Errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.Error())
	}
	return b.String()
}

// Unwrap returns the field errors, so errors.As finds a *field.Error.
func (e *DecodeError) Unwrap() []error {
	errs := make([]error, len(e.Errs))
	for i, fe := range e.Errs {
		errs[i] = fe
	}
	return errs
}

// header is what Decode reads before it knows the kind.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// Decode decodes one object given as JSON and validates it.
//
// Unknown and duplicate fields, wrong types, an apiVersion other than
// secrets.hashicorp.com/v1beta1 and unsupported kinds are errors, as is every
// problem that Validate finds. All of them are returned at once as a
// *DecodeError. A wrong type stops decoding, so it is reported alone. JSON
// syntax errors and non-object input are returned as plain errors. On error
// the returned Object is nil.
func Decode(data []byte) (Object, error) {
	var h header
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(data, &h); err != nil {
		if isSyntax, _ := k8sjson.SyntaxErrorOffset(err); isSyntax {
			return nil, fmt.Errorf("parsing JSON: %w", err)
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field == "" {
			return nil, fmt.Errorf("want a JSON object, got %s", firstWord(te.Value))
		}
		// Wrong types in the header are reported by the strict pass below.
	}
	derr := &DecodeError{Kind: h.Kind, Name: h.Metadata.Name, Namespace: h.Metadata.Namespace}

	if h.APIVersion != APIVersion {
		derr.Errs = append(derr.Errs, field.NotSupported(field.NewPath("apiVersion"), h.APIVersion, []string{APIVersion}))
		return nil, derr
	}
	obj := NewObject(h.Kind)
	if obj == nil {
		derr.Errs = append(derr.Errs, kindError(h.Kind)) // unsupported.go
		return nil, derr
	}

	strict, err := k8sjson.UnmarshalStrict(data, obj)
	if err != nil {
		derr.Errs = append(derr.Errs, decodeErrorToField(err))
		return nil, derr
	}
	for _, e := range strict {
		derr.Errs = append(derr.Errs, strictErrorToField(e))
	}
	derr.Errs = append(derr.Errs, obj.Validate()...)
	if len(derr.Errs) > 0 {
		return nil, derr
	}
	return obj, nil
}

// strictFieldError reads a strict error of sigs.k8s.io/json.
func strictFieldError(e error) (path string, duplicate, ok bool) {
	fe, ok := errors.AsType[k8sjson.FieldError](e)
	if !ok {
		return "", false, false
	}
	return fe.FieldPath(), strings.HasPrefix(e.Error(), "duplicate field"), true
}

func strictErrorToField(e error) *field.Error {
	path, duplicate, ok := strictFieldError(e)
	if !ok {
		return field.InternalError(nil, e)
	}
	detail := "unknown field"
	if duplicate {
		detail = "duplicate field"
	}
	return &field.Error{Type: field.ErrorTypeForbidden, Field: path, BadValue: "", Detail: detail}
}

// decodeErrorToField turns a non-strict decoding error into a field error.
// The JSON value itself is never included.
func decodeErrorToField(err error) *field.Error {
	te, ok := errors.AsType[*json.UnmarshalTypeError](err)
	if !ok {
		return &field.Error{Type: field.ErrorTypeInvalid, Field: "<root>", BadValue: field.OmitValueType{}, Detail: err.Error()}
	}
	path := te.Field
	if path == "" {
		path = "<root>"
	}
	if te.Type == secretKeyRefType {
		switch te.Value {
		case secretKeyRefUnknownField, secretKeyRefDuplicateField:
			return &field.Error{Type: field.ErrorTypeForbidden, Field: path, BadValue: "", Detail: te.Value}
		case secretKeyRefMissingName:
			return &field.Error{Type: field.ErrorTypeRequired, Field: path, BadValue: ""}
		}
	}
	detail := fmt.Sprintf("expected %s, got %s", describeType(te.Type), firstWord(te.Value))
	return &field.Error{Type: field.ErrorTypeTypeInvalid, Field: path, BadValue: field.OmitValueType{}, Detail: detail}
}

// describeType names a Go type in JSON terms.
func describeType(t reflect.Type) string {
	if t == nil {
		return "a different type"
	}
	if t == secretKeyRefType {
		return "string or object"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	default:
		return t.String()
	}
}

// firstWord keeps the JSON kind of an UnmarshalTypeError value ("number 5"
// becomes "number"), so the value itself never reaches an error.
func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
