package v1beta1

import (
	"bytes"
	"encoding/json"
	"reflect"

	k8sjson "sigs.k8s.io/json"
)

// SecretKeyRef names a key in a Kubernetes Secret in the consumer's
// namespace. In JSON it is either VSO's plain string (the Secret name; the key
// is then the field's default, e.g. "id" for AppRole) or an object
// {"name": ..., "key": ...}. The zero value means "not set".
type SecretKeyRef struct {
	// Name of the Secret. Required in the object form.
	Name string `json:"name"`
	// Key in the Secret's data. Empty means the field's default key.
	Key string `json:"key,omitempty"`
}

// Messages carried in json.UnmarshalTypeError.Value by UnmarshalJSON, so the
// decoder adds the field path; Decode turns them into field errors.
const (
	secretKeyRefUnknownField   = "unknown field"
	secretKeyRefDuplicateField = "duplicate field"
	secretKeyRefMissingName    = "missing name"
)

var secretKeyRefType = reflect.TypeFor[SecretKeyRef]()

// IsZero reports whether the ref is unset.
func (r SecretKeyRef) IsZero() bool { return r.Name == "" && r.Key == "" }

// KeyOr returns Key, or def when Key is empty.
func (r SecretKeyRef) KeyOr(def string) string {
	if r.Key == "" {
		return def
	}
	return r.Key
}

// UnmarshalJSON accepts a string (the Secret name) or an object {name, key}.
// Unknown or duplicate fields and a missing name are errors.
func (r *SecretKeyRef) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case bytes.Equal(data, []byte("null")):
		return nil
	case len(data) > 0 && data[0] == '"':
		var name string
		if err := json.Unmarshal(data, &name); err != nil {
			return err
		}
		*r = SecretKeyRef{Name: name}
		return nil
	case len(data) > 0 && data[0] == '{':
		type plain SecretKeyRef
		var p plain
		strict, err := k8sjson.UnmarshalStrict(data, &p)
		if err != nil {
			return err
		}
		if len(strict) > 0 { // the first strict error is reported
			path, duplicate, ok := strictFieldError(strict[0])
			if !ok {
				return strict[0]
			}
			msg := secretKeyRefUnknownField
			if duplicate {
				msg = secretKeyRefDuplicateField
			}
			return &json.UnmarshalTypeError{Value: msg, Type: secretKeyRefType, Field: path}
		}
		if p.Name == "" {
			return &json.UnmarshalTypeError{Value: secretKeyRefMissingName, Type: secretKeyRefType, Field: "name"}
		}
		*r = SecretKeyRef(p)
		return nil
	default:
		return &json.UnmarshalTypeError{Value: jsonKind(data), Type: secretKeyRefType}
	}
}

// MarshalJSON writes the string form when Key is empty, else the object.
func (r SecretKeyRef) MarshalJSON() ([]byte, error) {
	if r.Key == "" {
		return json.Marshal(r.Name)
	}
	type plain SecretKeyRef
	return json.Marshal(plain(r))
}

// jsonKind names the kind of a JSON value like encoding/json does.
func jsonKind(data []byte) string {
	if len(data) == 0 {
		return "value"
	}
	switch data[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	default:
		return "number"
	}
}
