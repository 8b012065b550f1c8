package identity

import (
	"fmt"
	"time"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/vault"
)

// DefaultName is the name VSO falls back to when a ref is empty.
const DefaultName = "default"

// FieldError is a resolution refusal located at a field of the consumer
// (the Vault object whose vaultAuthRef was followed).
type FieldError struct {
	Field string // e.g. spec.vaultAuthRef
	Err   error
	Hint  string // what to do about it; may be empty
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr is a refusal at the consumer's spec.vaultAuthRef.
func fieldErr(hint, format string, args ...any) *FieldError {
	return &FieldError{Field: "spec.vaultAuthRef", Err: fmt.Errorf(format, args...), Hint: hint}
}

// Lookup finds an object of the input by kind, namespace and name; ns is
// its effective namespace (the destination's when it has none).
type Lookup func(kind, namespace, name string) (obj v1beta1.Object, ns string, ok bool)

// Options are the operator's (or the person running render's) settings
// that take part in resolution.
type Options struct {
	// DefaultVaultAddress is used when no VaultConnection applies.
	DefaultVaultAddress string
	// VaultAddress (VAULT_ADDR) replaces every VaultConnection's address.
	VaultAddress string
	// CACert is the operator's PEM bundle; a caCertSecretRef replaces it.
	CACert []byte
	// VaultToken (VAULT_TOKEN) is used instead of every VaultAuth.
	VaultToken string
	// Tenancy (Argo CD apps, generate) lets only consumers of namespace
	// Tenant resolve: an app logs in only as the service accounts and with
	// the Secrets of its destination namespace.
	Tenancy bool
	Tenant  string
	// Platform is the operator's objects outside any app (nil: none, and
	// the operator's namespace is DefaultOperatorNamespace).
	Platform *Platform
}

// CheckTenant refuses a consumer of namespace consumerNS when tenancy is on
// and consumerNS is not tenant (fail closed: an empty tenant admits only
// consumers without a namespace).
func CheckTenant(tenancy bool, tenant, consumerNS string) *FieldError {
	if !tenancy || consumerNS == tenant {
		return nil
	}
	return &FieldError{Field: "metadata.namespace",
		Err:  fmt.Errorf("the app's destination namespace is %q: its Vault objects must be there, to log in as its own service accounts", tenant),
		Hint: "remove metadata.namespace or deploy the object with an app of that namespace"}
}

// SecretKey names one key of a Kubernetes Secret.
type SecretKey struct {
	Namespace, Name, Key string
}

// Auth is a VaultAuth by names: how to log in, with the mount defaulted by
// method, and which Secret key or service account gives the credential.
type Auth struct {
	Name           string // the VaultAuth's name, for messages; empty from a contract
	Method         string // kubernetes, jwt, appRole, aws, gcp (others are refused by Fetch)
	Mount          string
	Namespace      string // Vault namespace of the login
	Role           string // kubernetes/jwt role; appRole: the role id
	ServiceAccount string // kubernetes, jwt without SecretRef, aws irsaServiceAccount, gcp workloadIdentityServiceAccount: in Plan.Consumer
	Audiences      []string
	TokenSeconds   int64
	Headers        map[string]string
	SecretRef      *SecretKey        // appRole secret-id, jwt token; aws: the keys' Secret (Key empty)
	AWS            *contract.AWSAuth // method aws: region, endpoints, header, session name
	GCP            *contract.GCPAuth // method gcp: the GKE cluster (project, location, name)
}

// Plan is a consumer's Vault identity as its refs say, before any
// credential is fetched: it holds names, never a credential value (except
// the operator's own VAULT_TOKEN).
type Plan struct {
	// Consumer is the namespace whose service accounts log in.
	Consumer string
	// Connection is the Vault connection, with the operator's CA.
	Connection vault.Connection
	// ConnectionName is the VaultConnection's name, for messages.
	ConnectionName string
	// CACert is the caCertSecretRef (key ca.crt), nil when none.
	CACert *SecretKey
	// Auth is the VaultAuth by names; nil when none applies.
	Auth *Auth
	// Token is the operator's VAULT_TOKEN: Fetch uses it instead of Auth.
	Token string
	// Login is false when only the refs were checked (offline, or a Secret
	// the companion fills): Fetch then reads nothing and gives no Auth.
	Login bool
}

// refs are the objects a consumer's vaultAuthRef leads to.
type refs struct {
	auth   *v1beta1.VaultAuth // nil: no VaultAuth applies (VAULT_TOKEN); merged with its VaultAuthGlobal
	authNS string
	conn   *v1beta1.VaultConnection // nil: the defaults
	connNS string
	// connPlatform: conn is a platform object (its caCertSecretRef is in
	// a namespace no app reads).
	connPlatform bool
}

// Resolve follows the vaultAuthRef of a consumer in namespace consumerNS to
// its Plan (pure: lookups only), after CheckTenant. With login false (offline, or a Secret the
// companion fills) only the refs are checked: no credential will be
// fetched and no address is needed.
func Resolve(find Lookup, consumerNS, authRef string, login bool, o Options) (*Plan, *FieldError) {
	if ferr := CheckTenant(o.Tenancy, o.Tenant, consumerNS); ferr != nil {
		return nil, ferr
	}
	rs, ferr := follow(finder{app: find, pf: o.Platform}, consumerNS, authRef, o)
	if ferr != nil {
		return nil, ferr
	}
	p := &Plan{Consumer: consumerNS, Login: login}
	if ferr := p.connect(rs, login, o); ferr != nil {
		return nil, ferr
	}
	if va := rs.auth; va != nil {
		if login && o.VaultToken == "" {
			if ferr := checkAuth(va); ferr != nil {
				return nil, ferr
			}
		}
		p.Auth = authOf(va, consumerNS)
	}
	if login {
		p.Token = o.VaultToken
	}
	return p, nil
}

// follow finds the VaultAuth and VaultConnection of a consumer's
// vaultAuthRef as VSO does (common.go): an empty ref is the "default"
// object of the operator's namespace, which every namespace may use
// (vaultcmp then also tries the consumer's own "default"); "name" is in
// the consumer's namespace (VaultAuth) or the VaultAuth's
// (VaultConnection); each looked up in the app first, then among the
// platform objects; allowedNamespaces checked for the consumer's
// namespace; the VaultAuth merged with its VaultAuthGlobal.
func follow(f finder, consumerNS, authRef string, o Options) (refs, *FieldError) {
	var rs refs
	opNS := o.Platform.OperatorNamespace()
	var a found
	if authRef == "" {
		var ok bool
		if a, ok = f.find(v1beta1.KindVaultAuth, opNS, DefaultName); !ok {
			a, ok = f.find(v1beta1.KindVaultAuth, consumerNS, DefaultName)
		}
		if !ok && o.VaultToken == "" {
			return rs, fieldErr("set spec.vaultAuthRef, give the platform a VaultAuth \"default\" in namespace "+opNS+", add a VaultAuth named \"default\", or set VAULT_TOKEN",
				"no vaultAuthRef and no VaultAuth %q in namespace %q nor in the operator's namespace %q", DefaultName, consumerNS, opNS)
		}
	} else {
		ns, name := v1beta1.ParseRef(authRef, consumerNS)
		var ok bool
		if a, ok = f.find(v1beta1.KindVaultAuth, ns, name); !ok {
			return rs, fieldErr("add the VaultAuth to the app or to the platform objects, or fix the reference",
				"VaultAuth %s not found in the input nor among the platform objects", names.Qualified(ns, name))
		}
		va := a.obj.(*v1beta1.VaultAuth)
		if a.ns != consumerNS && !isDefault(a.ns, name, opNS) && !va.AllowsNamespace(consumerNS) {
			return rs, fieldErr("list the consumer's namespace in the VaultAuth's spec.allowedNamespaces",
				"VaultAuth %s does not allow use from namespace %q", names.Qualified(ns, name), consumerNS)
		}
	}
	if a.obj != nil {
		va := a.obj.(*v1beta1.VaultAuth)
		// A VaultAuthGlobal is allowed for the VaultAuth's namespace (VSO);
		// under tenancy an app's own VaultAuth counts as its destination
		// namespace's, whatever namespace it claims.
		target := a.ns
		if o.Tenancy && !a.platform {
			target = consumerNS
		}
		merged, ferr := mergeGlobal(f, va, a.ns, target, opNS)
		if ferr != nil {
			return rs, ferr
		}
		rs.auth, rs.authNS = merged, a.ns
	}
	ref := ""
	if rs.auth != nil {
		ref = rs.auth.Spec.VaultConnectionRef
	}
	var c found
	if ref == "" {
		ok := false
		if c, ok = f.find(v1beta1.KindVaultConnection, opNS, DefaultName); !ok && rs.auth != nil {
			c, ok = f.find(v1beta1.KindVaultConnection, rs.authNS, DefaultName)
		}
		if !ok {
			return rs, nil
		}
	} else {
		ns, name := v1beta1.ParseRef(ref, rs.authNS)
		var ok bool
		if c, ok = f.find(v1beta1.KindVaultConnection, ns, name); !ok {
			return rs, fieldErr("add the VaultConnection to the app or to the platform objects, or fix the VaultAuth's spec.vaultConnectionRef",
				"VaultConnection %s (referenced by the VaultAuth's spec.vaultConnectionRef) not found in the input nor among the platform objects", names.Qualified(ns, name))
		}
	}
	rs.conn, rs.connNS, rs.connPlatform = c.obj.(*v1beta1.VaultConnection), c.ns, c.platform
	return rs, nil
}

// connect sets p's connection from rs (or the defaults), without the CA of
// a caCertSecretRef.
func (p *Plan) connect(rs refs, login bool, o Options) *FieldError {
	conn := &p.Connection
	if vc := rs.conn; vc != nil {
		s := vc.Spec
		*conn = vault.Connection{
			Address:       s.Address,
			Headers:       s.Headers,
			TLSServerName: s.TLSServerName,
			CACert:        o.CACert,
			SkipTLSVerify: s.SkipTLSVerify,
		}
		p.ConnectionName = vc.Name
		if s.CACertSecretRef != "" && rs.connPlatform {
			return fieldErr("give the CA to vaultcmp instead (--vault-cacert, $VAULT_CACERT; the Helm value vaultCACert), and remove the platform VaultConnection's caCertSecretRef",
				"VaultConnection %s (a platform object): spec.caCertSecretRef is not read: an app's generate reads Secrets of its own namespace only", names.Qualified(rs.connNS, vc.Name))
		}
		if s.CACertSecretRef != "" {
			p.CACert = &SecretKey{Namespace: rs.connNS, Name: s.CACertSecretRef, Key: "ca.crt"}
		}
		if s.CACertPath != "" && len(o.CACert) == 0 && login {
			return fieldErr("use caCertSecretRef (generate reads it from the cluster; render from $"+credentials.SecretEnvName("<name>", "ca.crt")+"), or give the CA to vaultcmp: --vault-cacert or $VAULT_CACERT",
				"VaultConnection %s: spec.caCertPath %q is not read: vaultcmp never reads a file that a manifest names", vc.Name, s.CACertPath)
		}
		if s.Timeout != "" {
			d, err := v1beta1.ParseDuration(s.Timeout)
			if err != nil {
				return fieldErr("", "VaultConnection %s: spec.timeout: %w", vc.Name, err)
			}
			conn.Timeout = d
		}
	} else {
		conn.Address = o.DefaultVaultAddress
		conn.CACert = o.CACert
	}
	if o.VaultAddress != "" {
		conn.Address = o.VaultAddress
	}
	if conn.Address == "" && login {
		return fieldErr("reference a VaultConnection, add one named \"default\", or set --default-vault-address or VAULT_ADDR",
			"no Vault address")
	}
	return nil
}

// checkAuth refuses what a VaultAuth asks that vaultcmp never does, before
// any credential is fetched.
func checkAuth(va *v1beta1.VaultAuth) *FieldError {
	s := va.Spec
	if !contract.SupportedMethod(s.Method) {
		return unsupported(va.Name, s.Method)
	}
	if s.Method == v1beta1.MethodAppRole && s.AppRole != nil && s.AppRole.SecretIDPath != "" {
		return authErr(va.Name, "", fmt.Errorf("spec.appRole.secretIDPath %q is not read: vaultcmp never reads a file that a manifest names; use spec.appRole.secretRef (generate reads it from the app's namespace; render from $%s)",
			s.AppRole.SecretIDPath, credentials.SecretEnvName("<name>", "id")))
	}
	return nil
}

func unsupported(name, method string) *FieldError {
	return authErr(name, "use kubernetes, jwt, appRole, aws or gcp, or set VAULT_TOKEN", fmt.Errorf("method %q is not supported by vaultcmp", method))
}

// authErr is a refusal about the VaultAuth named name (empty: the one a
// contract carries).
func authErr(name, hint string, err error) *FieldError {
	return fieldErr(hint, "%s: %w", label("VaultAuth", name), err)
}

func label(kind, name string) string {
	if name == "" {
		return kind
	}
	return kind + " " + name
}

// authOf is a VaultAuth by names; Secrets and service accounts are the
// consumer's.
func authOf(va *v1beta1.VaultAuth, consumerNS string) *Auth {
	s := va.Spec
	a := &Auth{Name: va.Name, Method: s.Method, Mount: s.Mount, Namespace: s.Namespace, Headers: s.Headers}
	secret := func(r v1beta1.SecretKeyRef, def string) *SecretKey {
		if r.IsZero() {
			return nil
		}
		return &SecretKey{Namespace: consumerNS, Name: r.Name, Key: r.KeyOr(def)}
	}
	switch s.Method {
	case v1beta1.MethodKubernetes:
		a.Mount = mountOr(a.Mount, "kubernetes")
		if k := s.Kubernetes; k != nil {
			a.Role, a.ServiceAccount, a.Audiences, a.TokenSeconds = k.Role, k.ServiceAccount, k.TokenAudiences, k.ExpirationSeconds()
		}
	case v1beta1.MethodJWT:
		a.Mount = mountOr(a.Mount, "jwt")
		if j := s.JWT; j != nil {
			a.Role, a.ServiceAccount, a.Audiences, a.TokenSeconds = j.Role, j.ServiceAccount, j.TokenAudiences, j.ExpirationSeconds()
			a.SecretRef = secret(j.SecretRef, v1beta1.DefaultJWTSecretKey)
		}
	case v1beta1.MethodAppRole:
		a.Mount = mountOr(a.Mount, "approle")
		if ar := s.AppRole; ar != nil {
			a.Role = ar.RoleID
			a.SecretRef = secret(ar.SecretRef, v1beta1.DefaultAppRoleSecretKey)
		}
	case v1beta1.MethodAWS:
		a.Mount = mountOr(a.Mount, "aws")
		a.AWS = &contract.AWSAuth{}
		if c := s.AWS; c != nil {
			a.Role, a.ServiceAccount = c.Role, c.IRSAServiceAccount
			if c.SecretRef != "" {
				a.SecretRef = &SecretKey{Namespace: consumerNS, Name: c.SecretRef}
			}
			a.AWS = &contract.AWSAuth{Region: c.Region, HeaderValue: c.HeaderValue, SessionName: c.SessionName,
				STSEndpoint: c.STSEndpoint, IAMEndpoint: c.IAMEndpoint}
		}
	case v1beta1.MethodGCP:
		a.Mount = mountOr(a.Mount, "gcp")
		a.GCP = &contract.GCPAuth{}
		if c := s.GCP; c != nil {
			a.Role, a.ServiceAccount = c.Role, c.WorkloadIdentityServiceAccount
			a.GCP = &contract.GCPAuth{ProjectID: c.ProjectID, Region: c.Region, ClusterName: c.ClusterName}
		}
	}
	return a
}

func mountOr(m, def string) string {
	if m == "" {
		return def
	}
	return m
}

// timeout parses a contract's Go duration.
func timeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}
