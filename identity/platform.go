package identity

import (
	"errors"
	"fmt"
	"slices"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/internal/names"
)

// DefaultOperatorNamespace is the operator's namespace when none is given:
// that of VSO's Helm chart as HashiCorp's documentation installs it, so the
// platform objects of a cluster that runs VSO move over with their
// metadata unchanged.
const DefaultOperatorNamespace = "vault-secrets-operator-system"

// PlatformKinds are the kinds the operator may give as platform objects.
var PlatformKinds = []string{
	v1beta1.KindVaultConnection, v1beta1.KindVaultAuth, v1beta1.KindVaultAuthGlobal, v1beta1.KindSecretTransformation,
}

// Platform is the operator's VSO objects that live outside any app (VSO's
// objects of the operator namespace and of platform namespaces): the
// "default" VaultConnection and VaultAuth of Namespace are every
// namespace's defaults; the others are found by ref, after the app's own
// objects, and used only where their allowedNamespaces say. A nil
// *Platform has no objects and the default namespace.
type Platform struct {
	// Namespace is the operator's namespace.
	Namespace string
	objs      map[platformKey]v1beta1.Object
}

type platformKey struct{ kind, ns, name string }

// NewPlatform indexes objs (each already decoded and valid); an object
// without a namespace is in namespace (DefaultOperatorNamespace when
// empty). A kind other than PlatformKinds, or two objects of one kind,
// namespace and name, are refused.
func NewPlatform(namespace string, objs []v1beta1.Object) (*Platform, error) {
	if namespace == "" {
		namespace = DefaultOperatorNamespace
	}
	p := &Platform{Namespace: namespace, objs: make(map[platformKey]v1beta1.Object, len(objs))}
	var errs []error
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
		q := o.GetKind() + " " + names.Qualified(o.GetNamespace(), o.GetName())
		if !slices.Contains(PlatformKinds, o.GetKind()) {
			errs = append(errs, fmt.Errorf("%s: not a platform kind (VaultConnection, VaultAuth, VaultAuthGlobal, SecretTransformation)", q))
			continue
		}
		k := platformKey{o.GetKind(), o.GetNamespace(), o.GetName()}
		if _, dup := p.objs[k]; dup {
			errs = append(errs, fmt.Errorf("%s: defined twice", q))
			continue
		}
		p.objs[k] = o
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("platform objects: %w", err)
	}
	return p, nil
}

// OperatorNamespace is p's namespace, DefaultOperatorNamespace for nil.
func (p *Platform) OperatorNamespace() string {
	if p == nil || p.Namespace == "" {
		return DefaultOperatorNamespace
	}
	return p.Namespace
}

// Find is the platform object of kind in namespace ns named name.
func (p *Platform) Find(kind, ns, name string) (v1beta1.Object, bool) {
	if p == nil {
		return nil, false
	}
	o, ok := p.objs[platformKey{kind, ns, name}]
	return o, ok
}

// Len is the number of platform objects.
func (p *Platform) Len() int {
	if p == nil {
		return 0
	}
	return len(p.objs)
}

// found is an object found by ref: in the app's input, or a platform object.
type found struct {
	obj      v1beta1.Object
	ns       string
	platform bool
}

// finder looks a ref up as Resolve does: the app first, then the platform.
type finder struct {
	app Lookup
	pf  *Platform
}

func (f finder) find(kind, ns, name string) (found, bool) {
	if f.app != nil {
		if obj, objNS, ok := f.app(kind, ns, name); ok {
			return found{obj: obj, ns: objNS}, true
		}
	}
	if obj, ok := f.pf.Find(kind, ns, name); ok {
		return found{obj: obj, ns: ns, platform: true}, true
	}
	return found{}, false
}

// FindTransformation is the SecretTransformation a transformationRef names
// (namespace ns, the consumer's when the ref has none): the app's, else a
// platform object. VSO's SecretTransformation has no allowedNamespaces:
// any namespace may use it, as in VSO.
func FindTransformation(app Lookup, pf *Platform, ns, name string) (*v1beta1.SecretTransformation, bool) {
	f, ok := finder{app, pf}.find(v1beta1.KindSecretTransformation, ns, name)
	if !ok {
		return nil, false
	}
	st, ok := f.obj.(*v1beta1.SecretTransformation)
	return st, ok
}

// isDefault is VSO's rule for the "default" object of the operator's
// namespace: every namespace may use it.
func isDefault(ns, name, operatorNS string) bool {
	return name == DefaultName && ns == operatorNS
}

// mergeGlobal completes va (found in namespace authNS) with its
// vaultAuthGlobalRef, as VSO's MergeInVaultAuthGlobal: the global named
// by the ref (namespace: the ref's, else the VaultAuth's), or with
// allowDefault and no name the "default" one of the ref's namespace, else
// of the VaultAuth's, else of the operator's; allowed for target (the
// VaultAuth's namespace) by its allowedNamespaces or VSO's default rule.
// The result is a copy; va is not changed.
func mergeGlobal(f finder, va *v1beta1.VaultAuth, authNS, target, operatorNS string) (*v1beta1.VaultAuth, *FieldError) {
	ref := va.Spec.VaultAuthGlobalRef
	if ref == nil {
		return va, nil
	}
	q := names.Qualified(authNS, va.Name)
	var g found
	var gns, gname string
	switch {
	case ref.Name != "":
		gns, gname = ref.Namespace, ref.Name
		if gns == "" {
			gns = authNS
		}
		var ok bool
		if g, ok = f.find(v1beta1.KindVaultAuthGlobal, gns, gname); !ok {
			return nil, fieldErr("add the VaultAuthGlobal to the app or to the platform objects, or fix the VaultAuth's spec.vaultAuthGlobalRef",
				"VaultAuth %s: VaultAuthGlobal %s (spec.vaultAuthGlobalRef) not found in the input nor among the platform objects", q, names.Qualified(gns, gname))
		}
	case ref.AllowDefault != nil && *ref.AllowDefault:
		search := []string{authNS, operatorNS}
		if ref.Namespace != "" {
			search = []string{ref.Namespace}
		}
		ok := false
		for _, ns := range search {
			if g, ok = f.find(v1beta1.KindVaultAuthGlobal, ns, DefaultName); ok {
				gns, gname = ns, DefaultName
				break
			}
		}
		if !ok {
			return nil, fieldErr("add a VaultAuthGlobal named \"default\" or name one in spec.vaultAuthGlobalRef.name",
				"VaultAuth %s: spec.vaultAuthGlobalRef: no VaultAuthGlobal %q in namespaces %q", q, DefaultName, slices.Compact(search))
		}
	default:
		return nil, fieldErr("set spec.vaultAuthGlobalRef.name, or spec.vaultAuthGlobalRef.allowDefault: true",
			"VaultAuth %s: spec.vaultAuthGlobalRef.name: Required value: empty, and allowDefault is not true", q)
	}
	gobj, ok := g.obj.(*v1beta1.VaultAuthGlobal)
	if !ok {
		return nil, fieldErr("", "VaultAuth %s: %s is not a VaultAuthGlobal", q, names.Qualified(gns, gname))
	}
	if g.ns != target && !isDefault(g.ns, gname, operatorNS) && !gobj.AllowsNamespace(target) {
		return nil, fieldErr("list the VaultAuth's namespace in the VaultAuthGlobal's spec.allowedNamespaces",
			"VaultAuthGlobal %s does not allow use from namespace %q (by VaultAuth %s)", names.Qualified(g.ns, gname), target, q)
	}
	spec, errs := v1beta1.MergeVaultAuthGlobal(va, gobj)
	if len(errs) > 0 {
		return nil, fieldErr("set the field in the VaultAuth or in the VaultAuthGlobal",
			"VaultAuth %s with VaultAuthGlobal %s: %w", q, names.Qualified(g.ns, gname), errs.ToAggregate())
	}
	merged := *va
	merged.Spec = spec
	return &merged, nil
}
