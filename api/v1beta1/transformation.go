package v1beta1

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// SecretTransformation holds templates and filters shared by several
// Vault*Secret objects through Transformation.TransformationRefs.
type SecretTransformation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SecretTransformationSpec `json:"spec"`
	// Status is accepted and ignored.
	Status json.RawMessage `json:"status,omitempty"`
}

// SecretTransformationSpec is the spec of a SecretTransformation.
type SecretTransformationSpec struct {
	// Templates keyed by output Secret key (or TemplateRef.KeyOverride).
	Templates map[string]Template `json:"templates,omitempty"`
	// SourceTemplates are parsed into the template set but never emitted,
	// e.g. for {{define}} helpers.
	SourceTemplates []SourceTemplate `json:"sourceTemplates,omitempty"`
	// Includes are unioned into the consumer's includes.
	Includes []string `json:"includes,omitempty"`
	// Excludes are unioned into the consumer's excludes.
	Excludes []string `json:"excludes,omitempty"`
}

// SourceTemplate is a template that is parsed but not emitted.
type SourceTemplate struct {
	// Name of the template; VSO generates one when empty.
	Name string `json:"name,omitempty"`
	// Text of the template. Required.
	Text string `json:"text"`
}

// GetKind returns KindSecretTransformation.
func (*SecretTransformation) GetKind() string { return KindSecretTransformation }

// Validate checks the object; see the package documentation. Template text
// is checked for presence only; parsing needs the function map of the
// renderer.
func (o *SecretTransformation) Validate() field.ErrorList {
	errs := validateObjectMeta(&o.ObjectMeta)
	s, p := &o.Spec, &specTransformationPaths
	errs = append(errs, validateTemplates(s.Templates, p.templates)...)
	for i, st := range s.SourceTemplates {
		if st.Text == "" {
			errs = append(errs, field.Required(specPaths.sourceTemplates.Index(i).Child("text"), ""))
		}
	}
	errs = append(errs, validateRegexps(s.Includes, p.includes)...)
	return append(errs, validateRegexps(s.Excludes, p.excludes)...)
}
