package transform

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// keyedTemplate is VSO's KeyedTemplate: a template and the Secret key it
// renders to ("" for a source template, which is parsed but not emitted).
type keyedTemplate struct {
	key, name, text string
	// inline is true for the owner's own spec.destination.transformation.templates.
	inline bool
}

func (k keyedTemplate) isSource() bool { return k.key == "" }

// gathered is the outcome of gather: VSO's SecretTransformationOption without
// the object metadata.
type gathered struct {
	templates          []keyedTemplate // in VSO's parse/execute order
	excludes, includes []string        // unioned, deduplicated, sorted
}

// gather is VSO's helpers.gatherTemplates with the SecretTransformation lookups
// already done by the caller. Maps are walked in sorted key order so that
// errors and results do not depend on Go's map order.
//
// Deviation from VSO: a TemplateRef to an unnamed SecretTransformation template
// names it "<stns>/<stname>/<template>" (the name VSO's SecretTransformation
// controller validates it under); VSO fails with "template name empty".
func gather(r Resolved, ownerNS, ownerName string) (*gathered, error) {
	var errs []error
	out := &gathered{}
	seen := map[string]bool{}
	add := func(kt keyedTemplate) {
		if seen[kt.name] {
			errs = append(errs, &DuplicateTemplateNameError{Name: kt.name})
			return
		}
		seen[kt.name] = true
		out.templates = append(out.templates, kt)
	}

	t := r.Spec
	excludes := map[string]bool{}
	includes := map[string]bool{}
	addAll := func(m map[string]bool, pats []string) {
		for _, p := range pats {
			m[p] = true
		}
	}
	addAll(excludes, t.Excludes)
	addAll(includes, t.Includes)

	for _, key := range slices.Sorted(maps.Keys(t.Templates)) {
		tmpl := t.Templates[key]
		name := tmpl.Name
		if name == "" {
			name = fmt.Sprintf("%s/%s/%s", ownerNS, ownerName, key)
		}
		add(keyedTemplate{key: key, name: name, text: tmpl.Text, inline: true})
	}

	if len(r.Refs) != len(t.TransformationRefs) {
		return nil, fmt.Errorf("transform: %d transformationRefs but %d resolved SecretTransformations",
			len(t.TransformationRefs), len(r.Refs))
	}
	seenRefs := map[string]bool{}
	for i, ref := range t.TransformationRefs {
		st := r.Refs[i]
		ns := ref.Namespace
		if ns == "" {
			ns = ownerNS
		}
		if ns == "" && st != nil {
			ns = st.Namespace
		}
		objKey := ns + "/" + ref.Name
		if seenRefs[objKey] {
			errs = append(errs, &DuplicateTransformationRefError{Namespace: ns, Name: ref.Name})
			continue
		}
		seenRefs[objKey] = true
		if st == nil {
			errs = append(errs, fmt.Errorf("SecretTransformation %s %w", objKey, ErrTransformationNotFound))
			continue
		}

		if !ref.IgnoreExcludes {
			addAll(excludes, st.Spec.Excludes)
		}
		if !ref.IgnoreIncludes {
			addAll(includes, st.Spec.Includes)
		}

		for _, tr := range ref.TemplateRefs {
			if seen[tr.Name] {
				errs = append(errs, &DuplicateTemplateNameError{Name: tr.Name})
				continue
			}
			tmpl, ok := st.Spec.Templates[tr.Name]
			if !ok {
				errs = append(errs, &TemplateNotFoundError{
					Name: tr.Name, Namespace: ns, Object: ref.Name, GVK: gvkOf(st),
				})
				continue
			}
			key := tr.KeyOverride
			if key == "" {
				key = tr.Name
			}
			name := tmpl.Name
			if name == "" {
				name = fmt.Sprintf("%s/%s", objKey, tr.Name)
			}
			add(keyedTemplate{key: key, name: name, text: tmpl.Text})
		}

		for idx, src := range st.Spec.SourceTemplates {
			name := src.Name
			if name == "" {
				name = fmt.Sprintf("%s/%d", objKey, idx)
			}
			add(keyedTemplate{name: name, text: src.Text})
		}

		if len(ref.TemplateRefs) == 0 {
			for _, key := range slices.Sorted(maps.Keys(st.Spec.Templates)) {
				// VSO: "only add key/templates that have not already been seen,
				// first in takes precedence" (it looks the key up among the
				// template names).
				if seen[key] {
					continue
				}
				tmpl := st.Spec.Templates[key]
				name := tmpl.Name
				if name == "" {
					name = fmt.Sprintf("%s/%s", objKey, key)
				}
				add(keyedTemplate{key: key, name: name, text: tmpl.Text})
			}
		}
	}

	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	// VSO's KeyedTemplate.Cmp: source templates (key "") first, then by key
	// and name. The order decides which {{define}} wins and which template
	// runs first.
	slices.SortStableFunc(out.templates, func(a, b keyedTemplate) int {
		return cmp.Compare(a.key+"0"+a.name, b.key+"0"+b.name)
	})
	out.excludes = slices.Sorted(maps.Keys(excludes))
	out.includes = slices.Sorted(maps.Keys(includes))
	return out, nil
}

// gvkOf returns the SecretTransformation's group/version/kind, defaulting to
// secrets.hashicorp.com/v1beta1 SecretTransformation when TypeMeta is empty.
func gvkOf(st *v1beta1.SecretTransformation) schema.GroupVersionKind {
	apiVersion, kind := st.APIVersion, st.Kind
	if apiVersion == "" {
		apiVersion = v1beta1.APIVersion
	}
	if kind == "" {
		kind = v1beta1.KindSecretTransformation
	}
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}
