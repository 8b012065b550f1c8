package renderer

import (
	"context"
	"fmt"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/vault"
)

// vaultObject is a decoded Vault object with its source.
type vaultObject struct {
	src *Object
	obj v1beta1.Object
	ns  string // effective namespace (the destination's when the object has none)
}

// index finds Vault objects by kind and namespace/name.
type index map[string]*vaultObject

func indexKey(kind, ns, name string) string { return kind + "\x00" + ns + "\x00" + name }

func (ix index) get(kind, ns, name string) *vaultObject { return ix[indexKey(kind, ns, name)] }

// resolver turns refs into Vault identities and transformations. The
// identity is package identity's two steps: identity.Resolve (pure: the
// consumer's vaultAuthRef followed through the index, errors at a field
// path) and identity.Fetch (the only I/O: what the plan names, through
// Options.Credentials); the resolver only remembers their results, so one
// plan and one identity serve every consumer that shares them.
type resolver struct {
	opts  *Options
	ix    index
	plans map[string]*identity.Plan
	ids   map[*identity.Plan]*vault.Identity
}

func newResolver(opts *Options, ix index) *resolver {
	return &resolver{opts: opts, ix: ix, plans: map[string]*identity.Plan{}, ids: map[*identity.Plan]*vault.Identity{}}
}

// refError is a resolution failure located at a field of the consumer.
type refError = identity.FieldError

func refErr(field, hint string, format string, args ...any) *refError {
	return &refError{Field: field, Err: fmt.Errorf(format, args...), Hint: hint}
}

// lookup is the index as identity.Resolve reads it.
func (r *resolver) lookup(kind, ns, name string) (v1beta1.Object, string, bool) {
	vo := r.ix.get(kind, ns, name)
	if vo == nil {
		return nil, "", false
	}
	return vo.obj, vo.ns, true
}

// plan resolves a consumer's vaultAuthRef to an identity plan (pure), once
// per namespace, ref and login.
//
// With login false (offline, or a Secret the companion fills) only the
// refs are checked: no credential will be fetched and no address is needed.
func (r *resolver) plan(consumerNS, authRef string, login bool) (*identity.Plan, *refError) {
	key := fmt.Sprintf("%s\x00%s\x00%t", consumerNS, authRef, login)
	if p, ok := r.plans[key]; ok {
		return p, nil
	}
	o := r.opts
	p, ferr := identity.Resolve(r.lookup, consumerNS, authRef, login, identity.Options{
		DefaultVaultAddress: o.DefaultVaultAddress, VaultAddress: o.VaultAddress, CACert: o.CACert, VaultToken: o.VaultToken,
		Tenancy: o.Tenancy, Tenant: o.Namespace, Platform: o.Platform,
	})
	if ferr != nil {
		return nil, ferr
	}
	r.plans[key] = p
	return p, nil
}

// identity fetches what p names (identity.Fetch), once per plan.
func (r *resolver) identity(ctx context.Context, p *identity.Plan) (*vault.Identity, *refError) {
	if id, ok := r.ids[p]; ok {
		return id, nil
	}
	id, ferr := identity.Fetch(ctx, p, r.opts.Credentials)
	if ferr != nil {
		return nil, ferr
	}
	r.ids[p] = id
	return id, nil
}

// transformations resolves a consumer's transformationRefs.
func (r *resolver) transformations(consumerNS string, t v1beta1.Transformation) ([]*v1beta1.SecretTransformation, *refError) {
	var out []*v1beta1.SecretTransformation
	for i, ref := range t.TransformationRefs {
		ns := ref.Namespace
		if ns == "" {
			ns = consumerNS
		}
		st, ok := identity.FindTransformation(r.lookup, r.opts.Platform, ns, ref.Name)
		if !ok {
			return nil, refErr(fmt.Sprintf("spec.destination.transformation.transformationRefs[%d]", i),
				"add the SecretTransformation to the app or to the platform objects, or fix the reference",
				"SecretTransformation %s not found in the input nor among the platform objects", names.Qualified(ns, ref.Name))
		}
		out = append(out, st)
	}
	return out, nil
}
