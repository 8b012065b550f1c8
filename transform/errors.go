package transform

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ErrRawNotPermitted is returned by Build when a source field or a template
// output is named "_raw" while _raw is not excluded. The message is VSO's.
var ErrRawNotPermitted = fmt.Errorf("key '%s' not permitted in Secret data", KeyRaw)

// ErrTransformationNotFound is returned when Resolved.Refs has no object for a
// TransformationRef.
var ErrTransformationNotFound = errors.New("not found")

// DuplicateTemplateNameError means two templates of one transformation (inline,
// referenced or source) have the same name.
type DuplicateTemplateNameError struct {
	Name string
}

func (e *DuplicateTemplateNameError) Error() string {
	return fmt.Sprintf("duplicate template name %q", e.Name)
}

// DuplicateTransformationRefError means the same SecretTransformation is
// referenced twice.
type DuplicateTransformationRefError struct {
	Namespace, Name string
}

func (e *DuplicateTransformationRefError) Error() string {
	return fmt.Sprintf("duplicate SecretTransformation ref %s/%s", e.Namespace, e.Name)
}

// TemplateNotFoundError means a TemplateRef names a template that the
// SecretTransformation does not have.
type TemplateNotFoundError struct {
	// Name of the missing template (TemplateRef.Name).
	Name string
	// Namespace and Object name the SecretTransformation.
	Namespace, Object string
	GVK               schema.GroupVersionKind
}

func (e *TemplateNotFoundError) Error() string {
	return fmt.Sprintf("template %q not found in object %s/%s, %s", e.Name, e.Namespace, e.Object, e.GVK)
}

// RenderError is a template execution failure. Its message names the
// template, the output key and the owning object, and never where in the
// template or on what value it failed: text/template's message (line,
// column, action, sub-template) and Go's and sprig's (which quote values,
// e.g. "range can't iterate over <value>" or the argument of fail) are
// dropped, because on a template over secret data the place of a failure
// is an oracle on the data. A bound (a limit, the end of the context) keeps
// its fixed message.
type RenderError struct {
	// Owner is "<namespace>/<name>" of the object that owns the transformation.
	Owner string `json:"owner"`
	// Template is the name of the executed template, Key its output key;
	// both empty when the failure is not one template's (a build process
	// killed at a limit).
	Template string `json:"template,omitempty"`
	Key      string `json:"key,omitempty"`
	// Detail is the fixed cause: execFailed, or the bound's message.
	Detail string `json:"detail"`
	// Err is the cause when it is a bound (*limits.Error, the end of the
	// context, ErrAddress, ErrCycle...); nil otherwise.
	Err error `json:"-"`
}

func (e *RenderError) Error() string {
	if e.Template == "" {
		return fmt.Sprintf("render the templates of %s: %s", e.Owner, e.Detail)
	}
	return fmt.Sprintf("render template %q for key %q of %s: %s", e.Template, e.Key, e.Owner, e.Detail)
}

func (e *RenderError) Unwrap() error { return e.Err }

// EncodeError means a value could not be JSON-encoded (for _raw or for a
// non-string field). The message does not contain the value.
type EncodeError struct {
	// Key is the field, or "_raw".
	Key string `json:"key"`
	// Detail is the redacted cause.
	Detail string `json:"detail"`
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("encode %q as JSON: %s", e.Key, e.Detail)
}
