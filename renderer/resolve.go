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

// resolver turns refs into Vault identities and transformations.
type resolver struct {
	opts  *Options
	ix    index
	cache map[string]*vault.Identity
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

// identity resolves a consumer's vaultAuthRef to a Vault identity.
//
// With creds false (offline, or a Secret the companion fills) only the refs
// are checked: no credential is fetched and no address is needed.
func (r *resolver) identity(ctx context.Context, consumerNS, authRef string, creds bool) (*vault.Identity, *refError) {
	var auth *v1beta1.VaultAuth
	var authNS string
	if authRef == "" {
		if vo := r.ix.get(v1beta1.KindVaultAuth, consumerNS, defaultName); vo != nil {
			auth, authNS = vo.obj.(*v1beta1.VaultAuth), vo.ns
		} else if r.opts.VaultToken == "" {
			return nil, refErr("spec.vaultAuthRef", "set spec.vaultAuthRef, add a VaultAuth named \"default\", or set VAULT_TOKEN",
				"no vaultAuthRef and no VaultAuth %q in namespace %q", defaultName, consumerNS)
		}
	} else {
		ns, name := v1beta1.ParseRef(authRef, consumerNS)
		vo := r.ix.get(v1beta1.KindVaultAuth, ns, name)
		if vo == nil {
			return nil, refErr("spec.vaultAuthRef", "add the VaultAuth to the app or fix the reference",
				"VaultAuth %s not found in the input", qualified(ns, name))
		}
		auth, authNS = vo.obj.(*v1beta1.VaultAuth), vo.ns
		if authNS != consumerNS && !auth.AllowsNamespace(consumerNS) {
			return nil, refErr("spec.vaultAuthRef", "list the consumer's namespace in the VaultAuth's spec.allowedNamespaces",
				"VaultAuth %s does not allow use from namespace %q", qualified(ns, name), consumerNS)
		}
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%t", consumerNS, authNS, authRef, creds)
	if id, ok := r.cache[key]; ok {
		return id, nil
	}
	conn, rerr := r.connection(ctx, auth, authNS, creds)
	if rerr != nil {
		return nil, rerr
	}
	if !creds {
		id := &vault.Identity{Connection: conn}
		r.cache[key] = id
		return id, nil
	}
	a, rerr := r.auth(ctx, auth, consumerNS)
	if rerr != nil {
		return nil, rerr
	}
	id := &vault.Identity{Connection: conn, Auth: a}
	r.cache[key] = id
	return id, nil
}

// connection resolves the VaultAuth's vaultConnectionRef (or the defaults).
func (r *resolver) connection(ctx context.Context, auth *v1beta1.VaultAuth, authNS string, creds bool) (vault.Connection, *refError) {
	var conn vault.Connection
	var vc *v1beta1.VaultConnection
	var vcNS string
	ref := ""
	if auth != nil {
		ref = auth.Spec.VaultConnectionRef
	}
	if ref == "" {
		if vo := r.ix.get(v1beta1.KindVaultConnection, authNS, defaultName); vo != nil {
			vc, vcNS = vo.obj.(*v1beta1.VaultConnection), vo.ns
		}
	} else {
		ns, name := v1beta1.ParseRef(ref, authNS)
		vo := r.ix.get(v1beta1.KindVaultConnection, ns, name)
		if vo == nil {
			return conn, refErr("spec.vaultAuthRef", "add the VaultConnection to the app or fix the VaultAuth's spec.vaultConnectionRef",
				"VaultConnection %s (referenced by the VaultAuth's spec.vaultConnectionRef) not found in the input", qualified(ns, name))
		}
		vc, vcNS = vo.obj.(*v1beta1.VaultConnection), vo.ns
	}
	if vc != nil {
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
		if s.CACertSecretRef != "" && creds {
			ca, err := r.opts.Credentials.SecretValue(ctx, vcNS, s.CACertSecretRef, "ca.crt")
			if err != nil {
				return conn, refErr("spec.vaultAuthRef", "", "VaultConnection %s: spec.caCertSecretRef: %w", vc.Name, err)
			}
			conn.CACert = ca
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

// auth resolves how to log in, with VAULT_TOKEN first.
func (r *resolver) auth(ctx context.Context, va *v1beta1.VaultAuth, consumerNS string) (vault.Auth, *refError) {
	if r.opts.VaultToken != "" {
		return vault.TokenAuth(r.opts.VaultToken), nil
	}
	s := va.Spec
	fail := func(err error, hint string) (vault.Auth, *refError) {
		return vault.Auth{}, &refError{field: "spec.vaultAuthRef", err: fmt.Errorf("VaultAuth %s: %w", va.Name, err), hint: hint}
	}
	var a vault.Auth
	switch s.Method {
	case "appRole":
		c := s.AppRole
		secretID, err := r.appRoleSecretID(ctx, c, consumerNS)
		if err != nil {
			return fail(err, "")
		}
		a = vault.AppRoleAuth(mountOr(s.Mount, "approle"), c.RoleID, secretID)
	case "jwt":
		c := s.JWT
		if !c.SecretRef.IsZero() {
			b, err := r.opts.Credentials.SecretValue(ctx, consumerNS, c.SecretRef.Name, c.SecretRef.KeyOr("jwt"))
			if err != nil {
				return fail(fmt.Errorf("spec.jwt.secretRef: %w", err), "")
			}
			a = vault.JWTTokenAuth("jwt", mountOr(s.Mount, "jwt"), c.Role, strings.TrimSpace(string(b)))
			break
		}
		if err := r.opts.Credentials.CanMintTokens(); err != nil {
			return fail(fmt.Errorf("spec.jwt.serviceAccount: %w", err), serviceAccountHint)
		}
		a = vault.JWTAuth("jwt", mountOr(s.Mount, "jwt"), c.Role, r.saToken(consumerNS, c.ServiceAccount, c.TokenAudiences, c.ExpirationSeconds()))
		a.Subject, a.Audiences = qualified(consumerNS, c.ServiceAccount), c.TokenAudiences
	case "kubernetes":
		c := s.Kubernetes
		if err := r.opts.Credentials.CanMintTokens(); err != nil {
			return fail(fmt.Errorf("spec.kubernetes.serviceAccount: %w", err), serviceAccountHint)
		}
		a = vault.JWTAuth("kubernetes", mountOr(s.Mount, "kubernetes"), c.Role, r.saToken(consumerNS, c.ServiceAccount, c.TokenAudiences, c.ExpirationSeconds()))
		a.Subject, a.Audiences = qualified(consumerNS, c.ServiceAccount), c.TokenAudiences
	default:
		return fail(fmt.Errorf("method %q is not supported by vaultcmp", s.Method), "use kubernetes, jwt or appRole, or set VAULT_TOKEN")
	}
	a.Namespace = s.Namespace
	a.Headers = s.Headers
	return a, nil
}

func (r *resolver) appRoleSecretID(ctx context.Context, c *v1beta1.VaultAuthConfigAppRole, consumerNS string) (string, error) {
	if c.SecretIDPath != "" {
		return "", fmt.Errorf("spec.appRole.secretIDPath %q is not read: vaultcmp never reads a file that a manifest names; use spec.appRole.secretRef (generate reads it from the app's namespace; render from $%s)",
			c.SecretIDPath, credentials.SecretEnvName("<name>", "id"))
	}
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
