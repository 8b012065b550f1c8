package v1beta1

import (
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Rollout restart target kinds (RolloutRestartTarget.Kind).
const (
	RolloutKindDeployment  = "Deployment"
	RolloutKindDaemonSet   = "DaemonSet"
	RolloutKindStatefulSet = "StatefulSet"
	RolloutKindArgoRollout = "argo.Rollout"
)

// rolloutKinds are the allowed RolloutRestartTarget.Kind values, in the order
// errors list them.
var rolloutKinds = []string{RolloutKindDeployment, RolloutKindDaemonSet, RolloutKindStatefulSet, RolloutKindArgoRollout}

// RolloutResource is what a rollout target kind is in the cluster.
type RolloutResource struct {
	Group, Version, Kind, Resource string
}

// rolloutResources are the rollout target kinds' resources: the renderer
// finds a target among the objects it prints by group and kind, the
// companion patches it by group, version and resource.
var rolloutResources = map[string]RolloutResource{
	RolloutKindDeployment:  {Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments"},
	RolloutKindDaemonSet:   {Group: "apps", Version: "v1", Kind: "DaemonSet", Resource: "daemonsets"},
	RolloutKindStatefulSet: {Group: "apps", Version: "v1", Kind: "StatefulSet", Resource: "statefulsets"},
	RolloutKindArgoRollout: {Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout", Resource: "rollouts"},
}

// RolloutResourceOf is the resource of a RolloutRestartTarget.Kind; false
// for a kind that is not one of the RolloutKind* values.
func RolloutResourceOf(kind string) (RolloutResource, bool) {
	r, ok := rolloutResources[kind]
	return r, ok
}

// IsRolloutResourceKind tells whether objects of a Kubernetes kind
// (Deployment, Rollout, ...) can be rollout targets.
func IsRolloutResourceKind(kind string) bool {
	for _, r := range rolloutResources {
		if r.Kind == kind {
			return true
		}
	}
	return false
}

// Destination is where the rendered Kubernetes Secret goes.
type Destination struct {
	// Name of the Secret. Required.
	Name string `json:"name"`
	// Create the Secret. If false, VSO only replaces the data of an existing
	// Secret and ignores Labels, Annotations and Type.
	Create bool `json:"create,omitempty"`
	// Overwrite an existing Secret that is not owned.
	Overwrite bool `json:"overwrite,omitempty"`
	// Labels of the Secret (create only); owner labels win on conflict.
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations of the Secret (create only); they replace all others.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Type of the Secret (create only); empty means Opaque.
	Type corev1.SecretType `json:"type,omitempty"`
	// Transformation of the Vault data into Secret data.
	Transformation Transformation `json:"transformation,omitempty"`
}

// Transformation configures templates and key filters for a destination.
type Transformation struct {
	// Templates keyed by the output Secret key; they take precedence over
	// templates from TransformationRefs.
	Templates map[string]Template `json:"templates,omitempty"`
	// TransformationRefs to SecretTransformation objects.
	TransformationRefs []TransformationRef `json:"transformationRefs,omitempty"`
	// Includes are unanchored RE2 patterns on source keys, applied after
	// Excludes.
	Includes []string `json:"includes,omitempty"`
	// Excludes are unanchored RE2 patterns on source keys, applied first.
	Excludes []string `json:"excludes,omitempty"`
	// ExcludeRaw drops the "_raw" key.
	ExcludeRaw bool `json:"excludeRaw,omitempty"`
}

// Template is a Go text/template.
type Template struct {
	// Name of the template; VSO generates one when empty.
	Name string `json:"name,omitempty"`
	// Text of the template. Required.
	Text string `json:"text"`
}

// TransformationRef refers to a SecretTransformation.
type TransformationRef struct {
	// Namespace of the SecretTransformation; empty means the consumer's.
	Namespace string `json:"namespace,omitempty"`
	// Name of the SecretTransformation. Required.
	Name string `json:"name"`
	// TemplateRefs selects templates; empty means all of them.
	TemplateRefs []TemplateRef `json:"templateRefs,omitempty"`
	// IgnoreIncludes of the SecretTransformation.
	IgnoreIncludes bool `json:"ignoreIncludes,omitempty"`
	// IgnoreExcludes of the SecretTransformation.
	IgnoreExcludes bool `json:"ignoreExcludes,omitempty"`
}

// TemplateRef selects one template of a SecretTransformation.
type TemplateRef struct {
	// Name is the key in the SecretTransformation's spec.templates. Required.
	Name string `json:"name"`
	// KeyOverride is the output key; empty means Name.
	KeyOverride string `json:"keyOverride,omitempty"`
}

// RolloutRestartTarget is a workload in the consumer's namespace that is
// restarted when the Secret data changes.
type RolloutRestartTarget struct {
	// Kind is one of Deployment, DaemonSet, StatefulSet, argo.Rollout.
	Kind string `json:"kind"`
	// Name of the workload.
	Name string `json:"name"`
}

// SyncConfig configures how VSO watches a static secret.
type SyncConfig struct {
	// InstantUpdates subscribes to Vault (Enterprise) KV events.
	InstantUpdates bool `json:"instantUpdates,omitempty"`
}

// validate checks the destination at the fixed paths p (see paths.go).
func (d *Destination) validate(p *destinationFieldPaths) field.ErrorList {
	errs := validateName(d.Name, true, p.name)
	errs = append(errs, validateLabels(d.Labels, p.labels)...)
	errs = append(errs, validateAnnotations(d.Annotations, p.annotations)...)
	return append(errs, d.Transformation.validate(&p.transformation)...)
}

// validate checks the transformation at the fixed paths p (see paths.go).
func (t *Transformation) validate(p *transformationFieldPaths) field.ErrorList {
	errs := validateTemplates(t.Templates, p.templates)
	for i := range t.TransformationRefs {
		if r := &t.TransformationRefs[i]; !r.valid() {
			errs = append(errs, r.validate(p.transformationRefs.Index(i))...)
		}
	}
	errs = append(errs, validateRegexps(t.Includes, p.includes)...)
	return append(errs, validateRegexps(t.Excludes, p.excludes)...)
}

// validateTemplates checks output keys and that every template has text.
// Template text is never printed.
func validateTemplates(templates map[string]Template, p *field.Path) field.ErrorList {
	if allEntries(templates, func(k string, t Template) bool {
		return t.Text != "" && len(validation.IsConfigMapKey(k)) == 0
	}) {
		return nil
	}
	var errs field.ErrorList
	for _, k := range slices.Sorted(maps.Keys(templates)) {
		errs = append(errs, validateSecretKey(k, p)...)
		if templates[k].Text == "" {
			errs = append(errs, field.Required(p.Key(k).Child("text"), ""))
		}
	}
	return errs
}

// valid reports whether validate reports nothing, without building the
// paths validate needs only to report errors.
func (r *TransformationRef) valid() bool {
	if !isValidName(r.Name) || (r.Namespace != "" && len(dns1123Label(r.Namespace)) != 0) {
		return false
	}
	for _, tr := range r.TemplateRefs {
		if tr.Name == "" || (tr.KeyOverride != "" && len(validation.IsConfigMapKey(tr.KeyOverride)) != 0) {
			return false
		}
	}
	return true
}

func (r *TransformationRef) validate(p *field.Path) field.ErrorList {
	errs := validateNamespace(r.Namespace, p.Child("namespace"))
	errs = append(errs, validateName(r.Name, true, p.Child("name"))...)
	for i, tr := range r.TemplateRefs {
		tp := p.Child("templateRefs").Index(i)
		errs = append(errs, validateRequired(tr.Name, tp.Child("name"))...)
		if tr.KeyOverride != "" {
			errs = append(errs, validateSecretKey(tr.KeyOverride, tp.Child("keyOverride"))...)
		}
	}
	return errs
}

func validateRolloutRestartTargets(targets []RolloutRestartTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range targets {
		if slices.Contains(rolloutKinds, t.Kind) && isValidName(t.Name) {
			continue // valid: its paths are not built
		}
		tp := p.Index(i)
		errs = append(errs, validateEnum(t.Kind, true, tp.Child("kind"), rolloutKinds...)...)
		errs = append(errs, validateName(t.Name, true, tp.Child("name"))...)
	}
	return errs
}
