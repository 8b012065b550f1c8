package v1beta1

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Auth methods (VaultAuthSpec.Method).
const (
	MethodKubernetes = "kubernetes"
	MethodJWT        = "jwt"
	MethodAppRole    = "appRole"
	MethodAWS        = "aws"
	MethodGCP        = "gcp"
)

// Merge strategies (MergeStrategy.Headers and .Params).
const (
	MergeStrategyUnion   = "union"
	MergeStrategyReplace = "replace"
	MergeStrategyNone    = "none"
)

// Default secret keys of the SecretKeyRef fields.
const (
	DefaultAppRoleSecretKey = "id"
	DefaultJWTSecretKey     = "jwt"
)

// DefaultTokenExpirationSeconds is VSO's default and minimum lifetime of a
// requested ServiceAccount token.
const DefaultTokenExpirationSeconds int64 = 600

// VaultAuth says how to log in to Vault.
type VaultAuth struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultAuthSpec `json:"spec"`
	// Status is accepted and ignored.
	Status json.RawMessage `json:"status,omitempty"`
}

// VaultAuthSpec is the spec of a VaultAuth.
type VaultAuthSpec struct {
	// VaultConnectionRef is "name" (the VaultAuth's namespace) or
	// "namespace/name"; empty means the default connection.
	VaultConnectionRef string `json:"vaultConnectionRef,omitempty"`
	// VaultAuthGlobalRef refers to a VaultAuthGlobal that supplies defaults.
	VaultAuthGlobalRef *VaultAuthGlobalRef `json:"vaultAuthGlobalRef,omitempty"`
	// Namespace in Vault (Enterprise) to log in to.
	Namespace string `json:"namespace,omitempty"`
	// AllowedNamespaces of consumers; see AllowsNamespace.
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`
	// Method is one of kubernetes, jwt, appRole, aws, gcp.
	Method string `json:"method,omitempty"`
	// Mount of the auth method; the login path is auth/<mount>/login.
	Mount string `json:"mount,omitempty"`
	// Params of the login request.
	Params map[string]string `json:"params,omitempty"`
	// Headers of the login request.
	Headers map[string]string `json:"headers,omitempty"`
	// Kubernetes configuration, for method kubernetes.
	Kubernetes *VaultAuthConfigKubernetes `json:"kubernetes,omitempty"`
	// AppRole configuration, for method appRole.
	AppRole *VaultAuthConfigAppRole `json:"appRole,omitempty"`
	// JWT configuration, for method jwt.
	JWT *VaultAuthConfigJWT `json:"jwt,omitempty"`
	// AWS configuration, for method aws.
	AWS *VaultAuthConfigAWS `json:"aws,omitempty"`
	// GCP configuration, for method gcp.
	GCP *VaultAuthConfigGCP `json:"gcp,omitempty"`
	// StorageEncryption of VSO's client cache; accepted and unused here.
	StorageEncryption *StorageEncryption `json:"storageEncryption,omitempty"`
}

// VaultAuthConfigKubernetes logs in with a ServiceAccount token.
type VaultAuthConfigKubernetes struct {
	// Role in Vault. Required.
	Role string `json:"role,omitempty"`
	// ServiceAccount in the consumer's namespace. Required.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// TokenAudiences of the requested token.
	TokenAudiences []string `json:"audiences,omitempty"`
	// TokenExpirationSeconds of the requested token; see ExpirationSeconds.
	TokenExpirationSeconds int64 `json:"tokenExpirationSeconds,omitempty"`
}

// VaultAuthConfigJWT logs in with a JWT from a Secret or a ServiceAccount.
type VaultAuthConfigJWT struct {
	// Role in Vault. Required.
	Role string `json:"role,omitempty"`
	// SecretRef to a Secret in the consumer's namespace; default key "jwt".
	SecretRef SecretKeyRef `json:"secretRef,omitzero"`
	// ServiceAccount whose token is requested when SecretRef is not set.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// TokenAudiences of the requested token.
	TokenAudiences []string `json:"audiences,omitempty"`
	// TokenExpirationSeconds of the requested token; see ExpirationSeconds.
	TokenExpirationSeconds int64 `json:"tokenExpirationSeconds,omitempty"`
}

// VaultAuthConfigAppRole logs in with an AppRole role ID and secret ID.
type VaultAuthConfigAppRole struct {
	// RoleID of the AppRole. Required. Never printed in errors.
	RoleID string `json:"roleId,omitempty"`
	// SecretRef to a Secret in the consumer's namespace holding the secret
	// ID; default key "id". Exclusive with SecretIDPath.
	SecretRef SecretKeyRef `json:"secretRef,omitzero"`
	// SecretIDPath is an absolute file path holding the secret ID.
	// Exclusive with SecretRef.
	SecretIDPath string `json:"secretIDPath,omitempty"`
}

// VaultAuthConfigAWS logs in with AWS IAM credentials.
type VaultAuthConfigAWS struct {
	Role               string `json:"role,omitempty"`
	Region             string `json:"region,omitempty"`
	HeaderValue        string `json:"headerValue,omitempty"`
	SessionName        string `json:"sessionName,omitempty"`
	STSEndpoint        string `json:"stsEndpoint,omitempty"`
	IAMEndpoint        string `json:"iamEndpoint,omitempty"`
	SecretRef          string `json:"secretRef,omitempty"`
	IRSAServiceAccount string `json:"irsaServiceAccount,omitempty"`
}

// VaultAuthConfigGCP logs in with GKE workload identity.
type VaultAuthConfigGCP struct {
	Role                           string `json:"role,omitempty"`
	WorkloadIdentityServiceAccount string `json:"workloadIdentityServiceAccount,omitempty"`
	Region                         string `json:"region,omitempty"`
	ClusterName                    string `json:"clusterName,omitempty"`
	ProjectID                      string `json:"projectID,omitempty"`
}

// StorageEncryption configures VSO's client cache encryption via Transit.
type StorageEncryption struct {
	Mount   string `json:"mount"`
	KeyName string `json:"keyName"`
}

// VaultAuthGlobalRef refers to a VaultAuthGlobal.
type VaultAuthGlobalRef struct {
	Name          string         `json:"name,omitempty"`
	Namespace     string         `json:"namespace,omitempty"`
	MergeStrategy *MergeStrategy `json:"mergeStrategy,omitempty"`
	AllowDefault  *bool          `json:"allowDefault,omitempty"`
}

// MergeStrategy of headers and params with a VaultAuthGlobal.
type MergeStrategy struct {
	Headers string `json:"headers,omitempty"`
	Params  string `json:"params,omitempty"`
}

// GetKind returns KindVaultAuth.
func (*VaultAuth) GetKind() string { return KindVaultAuth }

// AllowsNamespace reports whether a consumer in namespace ns may use this
// VaultAuth, as VSO does: its own namespace always; unset AllowedNamespaces
// allows nothing else; exactly ["*"] allows all; else the listed ones.
// VSO's extra rule for the "default" VaultAuth of the operator namespace is
// left to the caller.
func (o *VaultAuth) AllowsNamespace(ns string) bool {
	if ns == o.Namespace {
		return true
	}
	allowed := o.Spec.AllowedNamespaces
	if len(allowed) == 1 && allowed[0] == "*" {
		return true
	}
	return slices.Contains(allowed, ns)
}

// ExpirationSeconds returns TokenExpirationSeconds, or 600 when unset.
func (c *VaultAuthConfigKubernetes) ExpirationSeconds() int64 {
	return expirationOrDefault(c.TokenExpirationSeconds)
}

// ExpirationSeconds returns TokenExpirationSeconds, or 600 when unset.
func (c *VaultAuthConfigJWT) ExpirationSeconds() int64 {
	return expirationOrDefault(c.TokenExpirationSeconds)
}

func expirationOrDefault(v int64) int64 {
	if v == 0 {
		return DefaultTokenExpirationSeconds
	}
	return v
}

var methods = []string{MethodKubernetes, MethodJWT, MethodAppRole, MethodAWS, MethodGCP}

// Validate checks the object; see the package documentation. With a
// vaultAuthGlobalRef, fields that the global may supply are not required.
func (o *VaultAuth) Validate() field.ErrorList {
	return append(validateObjectMeta(&o.ObjectMeta), o.Spec.Validate()...)
}

// Validate checks the spec alone, at paths under spec: the rules a
// VaultAuth's spec obeys wherever it is carried (the companion's contract
// holds it without its object).
func (s *VaultAuthSpec) Validate() field.ErrorList {
	var errs field.ErrorList
	p := specPath
	global := s.VaultAuthGlobalRef != nil
	errs = append(errs, validateRef(s.VaultConnectionRef, p.Child("vaultConnectionRef"))...)
	if global {
		errs = append(errs, s.VaultAuthGlobalRef.validate(p.Child("vaultAuthGlobalRef"))...)
	}
	errs = append(errs, validateAllowedNamespaces(s.AllowedNamespaces, p.Child("allowedNamespaces"))...)
	errs = append(errs, validateEnum(s.Method, !global, p.Child("method"), methods...)...)
	errs = append(errs, validateVaultPath(s.Mount, !global, p.Child("mount"))...)
	errs = append(errs, validateHeaders(s.Headers, p.Child("headers"))...)

	blocks := []struct {
		method   string
		set      bool
		validate func(*field.Path, bool) field.ErrorList
	}{
		{MethodKubernetes, s.Kubernetes != nil, func(p *field.Path, r bool) field.ErrorList { return s.Kubernetes.validate(p, r) }},
		{MethodJWT, s.JWT != nil, func(p *field.Path, r bool) field.ErrorList { return s.JWT.validate(p, r) }},
		{MethodAppRole, s.AppRole != nil, func(p *field.Path, r bool) field.ErrorList { return s.AppRole.validate(p, r) }},
		{MethodAWS, s.AWS != nil, func(p *field.Path, r bool) field.ErrorList { return s.AWS.validate(p, r) }},
		{MethodGCP, s.GCP != nil, func(p *field.Path, r bool) field.ErrorList { return s.GCP.validate(p, r) }},
	}
	for _, b := range blocks {
		bp := p.Child(b.method)
		switch {
		case b.set && slices.Contains(methods, s.Method) && s.Method != b.method:
			errs = append(errs, field.Forbidden(bp, fmt.Sprintf("requires method %q, not %q", b.method, s.Method)))
		case b.set:
			errs = append(errs, b.validate(bp, global)...)
		case s.Method == b.method && !global:
			errs = append(errs, field.Required(bp, fmt.Sprintf("required for method %q", b.method)))
		}
	}

	if se := s.StorageEncryption; se != nil {
		sp := p.Child("storageEncryption")
		errs = append(errs, validateVaultPath(se.Mount, true, sp.Child("mount"))...)
		errs = append(errs, validateRequired(se.KeyName, sp.Child("keyName"))...)
	}
	return errs
}

func validateAllowedNamespaces(nss []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ns := range nss {
		if ns == "*" {
			if len(nss) != 1 {
				errs = append(errs, field.Invalid(p.Index(i), ns, `"*" must be the only element`))
			}
			continue
		}
		errs = append(errs, validateNamespace(ns, p.Index(i))...)
		if ns == "" {
			errs = append(errs, field.Required(p.Index(i), ""))
		}
	}
	return errs
}

// VSO's CRD patterns for VaultAuthGlobalRef.
const (
	globalNamePattern      = `^([a-z0-9.-]{1,253})$`
	globalNamespacePattern = `^([a-z0-9-]{1,63})$`
)

// Compiled on first use: {1,253} makes a large program, and every process
// (vaultcmp version, discover) would pay for it at start.
var (
	globalNameRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(globalNamePattern) })
	globalNamespaceRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(globalNamespacePattern) })
)

func (g *VaultAuthGlobalRef) validate(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if g.Name != "" && !globalNameRE().MatchString(g.Name) {
		errs = append(errs, field.Invalid(p.Child("name"), g.Name, "must match "+globalNamePattern))
	}
	if g.Namespace != "" && !globalNamespaceRE().MatchString(g.Namespace) {
		errs = append(errs, field.Invalid(p.Child("namespace"), g.Namespace, "must match "+globalNamespacePattern))
	}
	if ms := g.MergeStrategy; ms != nil {
		strategies := []string{MergeStrategyUnion, MergeStrategyReplace, MergeStrategyNone}
		errs = append(errs, validateEnum(ms.Headers, false, p.Child("mergeStrategy", "headers"), strategies...)...)
		errs = append(errs, validateEnum(ms.Params, false, p.Child("mergeStrategy", "params"), strategies...)...)
	}
	return errs
}

// validate checks the block; relaxed skips what a VaultAuthGlobal may supply.
func (c *VaultAuthConfigKubernetes) validate(p *field.Path, relaxed bool) field.ErrorList {
	var errs field.ErrorList
	if !relaxed {
		errs = append(errs, validateRequired(c.Role, p.Child("role"))...)
	}
	errs = append(errs, validateName(c.ServiceAccount, !relaxed, p.Child("serviceAccount"))...)
	return append(errs, validateMinInt64(c.TokenExpirationSeconds, DefaultTokenExpirationSeconds, p.Child("tokenExpirationSeconds"))...)
}

func (c *VaultAuthConfigJWT) validate(p *field.Path, relaxed bool) field.ErrorList {
	var errs field.ErrorList
	if !relaxed {
		errs = append(errs, validateRequired(c.Role, p.Child("role"))...)
		if c.SecretRef.IsZero() && c.ServiceAccount == "" {
			errs = append(errs, field.Required(p.Child("secretRef"), "one of secretRef or serviceAccount is required"))
		}
	}
	errs = append(errs, c.SecretRef.validate(p.Child("secretRef"))...)
	errs = append(errs, validateName(c.ServiceAccount, false, p.Child("serviceAccount"))...)
	return append(errs, validateMinInt64(c.TokenExpirationSeconds, DefaultTokenExpirationSeconds, p.Child("tokenExpirationSeconds"))...)
}

func (c *VaultAuthConfigAppRole) validate(p *field.Path, relaxed bool) field.ErrorList {
	var errs field.ErrorList
	if !relaxed {
		// Never pass RoleID as a value: it is a credential.
		errs = append(errs, validateRequired(c.RoleID, p.Child("roleId"))...)
	}
	hasRef, hasPath := !c.SecretRef.IsZero(), c.SecretIDPath != ""
	switch {
	case hasRef && hasPath:
		errs = append(errs, field.Forbidden(p.Child("secretIDPath"), "may not be set together with secretRef"))
	case !hasRef && !hasPath && !relaxed:
		errs = append(errs, field.Required(p.Child("secretRef"), "exactly one of secretRef or secretIDPath is required"))
	}
	errs = append(errs, c.SecretRef.validate(p.Child("secretRef"))...)
	if hasPath {
		sp := p.Child("secretIDPath")
		if c.SecretIDPath[0] != '/' {
			errs = append(errs, field.Invalid(sp, c.SecretIDPath, "must be an absolute path"))
		}
		errs = append(errs, validateNoDotDot(c.SecretIDPath, sp)...)
	}
	return errs
}

func (c *VaultAuthConfigAWS) validate(p *field.Path, relaxed bool) field.ErrorList {
	var errs field.ErrorList
	if !relaxed {
		errs = append(errs, validateRequired(c.Role, p.Child("role"))...)
	}
	errs = append(errs, validateName(c.SecretRef, false, p.Child("secretRef"))...)
	return append(errs, validateName(c.IRSAServiceAccount, false, p.Child("irsaServiceAccount"))...)
}

func (c *VaultAuthConfigGCP) validate(p *field.Path, relaxed bool) field.ErrorList {
	var errs field.ErrorList
	if !relaxed {
		errs = append(errs, validateRequired(c.Role, p.Child("role"))...)
	}
	return append(errs, validateName(c.WorkloadIdentityServiceAccount, !relaxed, p.Child("workloadIdentityServiceAccount"))...)
}

func (r SecretKeyRef) validate(p *field.Path) field.ErrorList {
	if r.IsZero() {
		return nil
	}
	errs := validateName(r.Name, true, p.Child("name"))
	if r.Key != "" {
		errs = append(errs, validateSecretKey(r.Key, p.Child("key"))...)
	}
	return errs
}
