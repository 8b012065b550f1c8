package renderer

import (
	"context"
	"fmt"
	"strings"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/vault"
)

// defaultName is the name VSO falls back to when a ref is empty.
const defaultName = "default"

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

// resolver turns refs into Vault identities and transformations, in two
// steps: plan follows a consumer's vaultAuthRef to its VaultAuth and
// VaultConnection and checks them (pure: lookups in the index, errors at a
// field path); identity then fetches what the plan names through
// Options.Credentials (the only I/O: Secret keys, a service-account token
// source) and yields the vault.Identity.
type resolver struct {
	opts  *Options
	ix    index
	plans map[string]*identityPlan
	ids   map[*identityPlan]*vault.Identity
}

func newResolver(opts *Options, ix index) *resolver {
	return &resolver{opts: opts, ix: ix, plans: map[string]*identityPlan{}, ids: map[*identityPlan]*vault.Identity{}}
}

// refError is a resolution failure located at a field.
type refError struct {
	field string
	err   error
	hint  string
}

func (e *refError) Error() string { return e.err.Error() }
func (e *refError) Unwrap() error { return e.err }

func refErr(field, hint string, format string, args ...any) *refError {
	return &refError{field: field, err: fmt.Errorf(format, args...), hint: hint}
}

// identityRefs are the objects a consumer's vaultAuthRef leads to.
type identityRefs struct {
	auth   *v1beta1.VaultAuth // nil: no VaultAuth applies (VAULT_TOKEN)
	authNS string
	conn   *v1beta1.VaultConnection // nil: the defaults
	connNS string
}

// identityPlan is a consumer's Vault identity as its refs say, before any
// credential is fetched.
type identityPlan struct {
	consumerNS string
	refs       identityRefs
	conn       vault.Connection // CACert: the operator's until identity reads caCertSecretRef
	creds      bool             // false: refs only (offline, or a Secret the companion fills)
}

// follow finds the VaultAuth and VaultConnection of a consumer's
// vaultAuthRef, as VSO does: "default" objects when a ref is empty, refs
// resolved in the consumer's (VaultAuth) or the VaultAuth's
// (VaultConnection) namespace, allowedNamespaces checked.
func (r *resolver) follow(consumerNS, authRef string) (identityRefs, *refError) {
	var refs identityRefs
	if authRef == "" {
		if vo := r.ix.get(v1beta1.KindVaultAuth, consumerNS, defaultName); vo != nil {
			refs.auth, refs.authNS = vo.obj.(*v1beta1.VaultAuth), vo.ns
		} else if r.opts.VaultToken == "" {
			return refs, refErr("spec.vaultAuthRef", "set spec.vaultAuthRef, add a VaultAuth named \"default\", or set VAULT_TOKEN",
				"no vaultAuthRef and no VaultAuth %q in namespace %q", defaultName, consumerNS)
		}
	} else {
		ns, name := v1beta1.ParseRef(authRef, consumerNS)
		vo := r.ix.get(v1beta1.KindVaultAuth, ns, name)
		if vo == nil {
			return refs, refErr("spec.vaultAuthRef", "add the VaultAuth to the app or fix the reference",
				"VaultAuth %s not found in the input", qualified(ns, name))
		}
		refs.auth, refs.authNS = vo.obj.(*v1beta1.VaultAuth), vo.ns
		if refs.authNS != consumerNS && !refs.auth.AllowsNamespace(consumerNS) {
			return refs, refErr("spec.vaultAuthRef", "list the consumer's namespace in the VaultAuth's spec.allowedNamespaces",
				"VaultAuth %s does not allow use from namespace %q", qualified(ns, name), consumerNS)
		}
	}
	ref := ""
	if refs.auth != nil {
		ref = refs.auth.Spec.VaultConnectionRef
	}
	if ref == "" {
		if vo := r.ix.get(v1beta1.KindVaultConnection, refs.authNS, defaultName); vo != nil {
			refs.conn, refs.connNS = vo.obj.(*v1beta1.VaultConnection), vo.ns
		}
		return refs, nil
	}
	ns, name := v1beta1.ParseRef(ref, refs.authNS)
	vo := r.ix.get(v1beta1.KindVaultConnection, ns, name)
	if vo == nil {
		return refs, refErr("spec.vaultAuthRef", "add the VaultConnection to the app or fix the VaultAuth's spec.vaultConnectionRef",
			"VaultConnection %s (referenced by the VaultAuth's spec.vaultConnectionRef) not found in the input", qualified(ns, name))
	}
	refs.conn, refs.connNS = vo.obj.(*v1beta1.VaultConnection), vo.ns
	return refs, nil
}

// plan resolves a consumer's vaultAuthRef to an identity plan (pure).
//
// With creds false (offline, or a Secret the companion fills) only the refs
// are checked: no credential will be fetched and no address is needed.
func (r *resolver) plan(consumerNS, authRef string, creds bool) (*identityPlan, *refError) {
	key := fmt.Sprintf("%s\x00%s\x00%t", consumerNS, authRef, creds)
	if p, ok := r.plans[key]; ok {
		return p, nil
	}
	refs, rerr := r.follow(consumerNS, authRef)
	if rerr != nil {
		return nil, rerr
	}
	conn, rerr := r.connection(refs, creds)
	if rerr != nil {
		return nil, rerr
	}
	if creds && r.opts.VaultToken == "" {
		if rerr := checkAuth(refs.auth); rerr != nil {
			return nil, rerr
		}
	}
	p := &identityPlan{consumerNS: consumerNS, refs: refs, conn: conn, creds: creds}
	r.plans[key] = p
	return p, nil
}

// connection is the Vault connection of refs (or the defaults), without
// the CA of a caCertSecretRef.
func (r *resolver) connection(refs identityRefs, creds bool) (vault.Connection, *refError) {
	var conn vault.Connection
	if vc := refs.conn; vc != nil {
		s := vc.Spec
		conn = vault.Connection{
			Address:       s.Address,
			Headers:       s.Headers,
			TLSServerName: s.TLSServerName,
			CACert:        r.opts.CACert,
			SkipTLSVerify: s.SkipTLSVerify,
		}
		if s.CACertPath != "" && len(r.opts.CACert) == 0 && creds {
			return conn, refErr("spec.vaultAuthRef", "use caCertSecretRef (generate reads it from the cluster; render from $"+credentials.SecretEnvName("<name>", "ca.crt")+"), or give the CA to vaultcmp: --vault-cacert or $VAULT_CACERT",
				"VaultConnection %s: spec.caCertPath %q is not read: vaultcmp never reads a file that a manifest names", vc.Name, s.CACertPath)
		}
		if s.Timeout != "" {
			d, err := v1beta1.ParseDuration(s.Timeout)
			if err != nil {
				return conn, refErr("spec.vaultAuthRef", "", "VaultConnection %s: spec.timeout: %w", vc.Name, err)
			}
			conn.Timeout = d
		}
	} else {
		conn.Address = r.opts.DefaultVaultAddress
		conn.CACert = r.opts.CACert
	}
	if r.opts.VaultAddress != "" {
		conn.Address = r.opts.VaultAddress
	}
	if conn.Address == "" && creds {
		return conn, refErr("spec.vaultAuthRef", "reference a VaultConnection, add one named \"default\", or set --default-vault-address or VAULT_ADDR",
			"no Vault address")
	}
	return conn, nil
}

// checkAuth refuses what a VaultAuth asks that vaultcmp never does, before
// any credential is fetched.
func checkAuth(va *v1beta1.VaultAuth) *refError {
	s := va.Spec
	switch s.Method {
	case "appRole":
		if p := s.AppRole.SecretIDPath; p != "" {
			return authErr(va, fmt.Errorf("spec.appRole.secretIDPath %q is not read: vaultcmp never reads a file that a manifest names; use spec.appRole.secretRef (generate reads it from the app's namespace; render from $%s)",
				p, credentials.SecretEnvName("<name>", "id")), "")
		}
	case "jwt", "kubernetes":
	default:
		return authErr(va, fmt.Errorf("method %q is not supported by vaultcmp", s.Method), "use kubernetes, jwt or appRole, or set VAULT_TOKEN")
	}
	return nil
}

func authErr(va *v1beta1.VaultAuth, err error, hint string) *refError {
	return &refError{field: "spec.vaultAuthRef", err: fmt.Errorf("VaultAuth %s: %w", va.Name, err), hint: hint}
}

// identity fetches what p names (the I/O step): the CA of a
// caCertSecretRef, the secretRef of an AppRole or JWT login, the promise of
// a service-account token (minted when the login is sent).
func (r *resolver) identity(ctx context.Context, p *identityPlan) (*vault.Identity, *refError) {
	if id, ok := r.ids[p]; ok {
		return id, nil
	}
	conn := p.conn
	id := &vault.Identity{Connection: conn}
	if p.creds {
		if vc := p.refs.conn; vc != nil && vc.Spec.CACertSecretRef != "" {
			ca, err := r.opts.Credentials.SecretValue(ctx, p.refs.connNS, vc.Spec.CACertSecretRef, "ca.crt")
			if err != nil {
				return nil, refErr("spec.vaultAuthRef", "", "VaultConnection %s: spec.caCertSecretRef: %w", vc.Name, err)
			}
			id.Connection.CACert = ca
		}
		a, rerr := r.auth(ctx, p.refs.auth, p.consumerNS)
		if rerr != nil {
			return nil, rerr
		}
		id.Auth = a
	}
	r.ids[p] = id
	return id, nil
}

// auth resolves how to log in, with VAULT_TOKEN first; checkAuth has
// passed.
func (r *resolver) auth(ctx context.Context, va *v1beta1.VaultAuth, consumerNS string) (vault.Auth, *refError) {
	if r.opts.VaultToken != "" {
		return vault.TokenAuth(r.opts.VaultToken), nil
	}
	s := va.Spec
	var a vault.Auth
	switch s.Method {
	case "appRole":
		c := s.AppRole
		secretID, err := r.appRoleSecretID(ctx, c, consumerNS)
		if err != nil {
			return a, authErr(va, err, "")
		}
		a = vault.AppRoleAuth(mountOr(s.Mount, "approle"), c.RoleID, secretID)
	case "jwt":
		c := s.JWT
		if !c.SecretRef.IsZero() {
			b, err := r.opts.Credentials.SecretValue(ctx, consumerNS, c.SecretRef.Name, c.SecretRef.KeyOr("jwt"))
			if err != nil {
				return a, authErr(va, fmt.Errorf("spec.jwt.secretRef: %w", err), "")
			}
			a = vault.JWTTokenAuth("jwt", mountOr(s.Mount, "jwt"), c.Role, strings.TrimSpace(string(b)))
			break
		}
		if err := r.opts.Credentials.CanMintTokens(); err != nil {
			return a, authErr(va, fmt.Errorf("spec.jwt.serviceAccount: %w", err), serviceAccountHint)
		}
		a = vault.JWTAuth("jwt", mountOr(s.Mount, "jwt"), c.Role, r.saToken(consumerNS, c.ServiceAccount, c.TokenAudiences, c.ExpirationSeconds()))
		a.Subject, a.Audiences = qualified(consumerNS, c.ServiceAccount), c.TokenAudiences
	case "kubernetes":
		c := s.Kubernetes
		if err := r.opts.Credentials.CanMintTokens(); err != nil {
			return a, authErr(va, fmt.Errorf("spec.kubernetes.serviceAccount: %w", err), serviceAccountHint)
		}
		a = vault.JWTAuth("kubernetes", mountOr(s.Mount, "kubernetes"), c.Role, r.saToken(consumerNS, c.ServiceAccount, c.TokenAudiences, c.ExpirationSeconds()))
		a.Subject, a.Audiences = qualified(consumerNS, c.ServiceAccount), c.TokenAudiences
	default:
		return a, checkAuth(va)
	}
	a.Namespace = s.Namespace
	a.Headers = s.Headers
	return a, nil
}

func (r *resolver) appRoleSecretID(ctx context.Context, c *v1beta1.VaultAuthConfigAppRole, consumerNS string) (string, error) {
	b, err := r.opts.Credentials.SecretValue(ctx, consumerNS, c.SecretRef.Name, c.SecretRef.KeyOr("id"))
	if err != nil {
		return "", fmt.Errorf("spec.appRole.secretRef: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func mountOr(m, def string) string {
	if m == "" {
		return def
	}
	return m
}

const serviceAccountHint = "kubernetes auth logs in as a service account: render in the cluster (vaultcmp generate), or set VAULT_TOKEN for a local render"

// saToken mints a service-account token when the login needs it (not when a
// cached Vault token is used).
func (r *resolver) saToken(ns, sa string, audiences []string, exp int64) vault.JWTSource {
	creds := r.opts.Credentials
	return func(ctx context.Context) (string, error) {
		return creds.ServiceAccountToken(ctx, ns, sa, audiences, exp)
	}
}

// transformations resolves a consumer's transformationRefs.
func (r *resolver) transformations(consumerNS string, t v1beta1.Transformation) ([]*v1beta1.SecretTransformation, *refError) {
	var out []*v1beta1.SecretTransformation
	for i, ref := range t.TransformationRefs {
		ns := ref.Namespace
		if ns == "" {
			ns = consumerNS
		}
		vo := r.ix.get(v1beta1.KindSecretTransformation, ns, ref.Name)
		if vo == nil {
			return nil, refErr(fmt.Sprintf("spec.destination.transformation.transformationRefs[%d]", i),
				"add the SecretTransformation to the app or fix the reference",
				"SecretTransformation %s not found in the input", qualified(ns, ref.Name))
		}
		out = append(out, vo.obj.(*v1beta1.SecretTransformation))
	}
	return out, nil
}
