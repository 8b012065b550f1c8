package v1beta1

import (
	"encoding/json"
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// KindVaultAuthGlobal is the kind of a VaultAuthGlobal.
const KindVaultAuthGlobal = "VaultAuthGlobal"

// VaultAuthGlobal holds defaults that VaultAuths referring to it through
// spec.vaultAuthGlobalRef inherit (VSO's merge rules: [MergeVaultAuthGlobal]).
type VaultAuthGlobal struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec VaultAuthGlobalSpec `json:"spec"`
	// Status is accepted and ignored.
	Status json.RawMessage `json:"status,omitempty"`
}

// VaultAuthGlobalSpec is the spec of a VaultAuthGlobal (VSO's JSON).
type VaultAuthGlobalSpec struct {
	// AllowedNamespaces of the VaultAuths that may refer to it; unset: its
	// own namespace only (and every namespace for "default" in the
	// operator's namespace).
	AllowedNamespaces []string `json:"allowedNamespaces,omitempty"`
	// VaultConnectionRef is used when the VaultAuth has none.
	VaultConnectionRef string `json:"vaultConnectionRef,omitempty"`
	// DefaultVaultNamespace is the Vault namespace when neither the
	// VaultAuth nor the method block sets one.
	DefaultVaultNamespace string `json:"defaultVaultNamespace,omitempty"`
	// DefaultAuthMethod is the method when the VaultAuth sets none.
	DefaultAuthMethod string `json:"defaultAuthMethod,omitempty"`
	// DefaultMount is the mount when neither the VaultAuth nor the method
	// block sets one.
	DefaultMount string `json:"defaultMount,omitempty"`
	// DefaultParams of the login, merged by mergeStrategy.params.
	DefaultParams map[string]string `json:"params,omitempty"`
	// DefaultHeaders of the login, merged by mergeStrategy.headers.
	DefaultHeaders map[string]string `json:"headers,omitempty"`

	Kubernetes *VaultAuthGlobalConfigKubernetes `json:"kubernetes,omitempty"`
	AppRole    *VaultAuthGlobalConfigAppRole    `json:"appRole,omitempty"`
	JWT        *VaultAuthGlobalConfigJWT        `json:"jwt,omitempty"`
	AWS        *VaultAuthGlobalConfigAWS        `json:"aws,omitempty"`
	GCP        *VaultAuthGlobalConfigGCP        `json:"gcp,omitempty"`
}

// GlobalMethodCommon are the fields every per-method block of a
// VaultAuthGlobal adds to the VaultAuth's method block.
type GlobalMethodCommon struct {
	// Namespace in Vault of the login.
	Namespace string `json:"namespace,omitempty"`
	// Mount of the auth method.
	Mount string `json:"mount,omitempty"`
	// Params of the login.
	Params map[string]string `json:"params,omitempty"`
	// Headers of the login.
	Headers map[string]string `json:"headers,omitempty"`
}

// VaultAuthGlobalConfigKubernetes is the kubernetes block of a VaultAuthGlobal.
type VaultAuthGlobalConfigKubernetes struct {
	VaultAuthConfigKubernetes `json:",inline"`
	GlobalMethodCommon        `json:",inline"`
}

// VaultAuthGlobalConfigJWT is the jwt block of a VaultAuthGlobal.
type VaultAuthGlobalConfigJWT struct {
	VaultAuthConfigJWT `json:",inline"`
	GlobalMethodCommon `json:",inline"`
}

// VaultAuthGlobalConfigAppRole is the appRole block of a VaultAuthGlobal.
type VaultAuthGlobalConfigAppRole struct {
	VaultAuthConfigAppRole `json:",inline"`
	GlobalMethodCommon     `json:",inline"`
}

// VaultAuthGlobalConfigAWS is the aws block of a VaultAuthGlobal.
type VaultAuthGlobalConfigAWS struct {
	VaultAuthConfigAWS `json:",inline"`
	GlobalMethodCommon `json:",inline"`
}

// VaultAuthGlobalConfigGCP is the gcp block of a VaultAuthGlobal.
type VaultAuthGlobalConfigGCP struct {
	VaultAuthConfigGCP `json:",inline"`
	GlobalMethodCommon `json:",inline"`
}

// GetKind returns KindVaultAuthGlobal.
func (*VaultAuthGlobal) GetKind() string { return KindVaultAuthGlobal }

var _ Object = &VaultAuthGlobal{}

// AllowsNamespace reports whether a VaultAuth of namespace ns may refer to
// this VaultAuthGlobal (VSO's isAllowedNamespace without the rule for the
// operator namespace's "default", left to the caller).
func (o *VaultAuthGlobal) AllowsNamespace(ns string) bool {
	return allowsNamespace(o.Namespace, o.Spec.AllowedNamespaces, ns)
}

func allowsNamespace(own string, allowed []string, ns string) bool {
	if ns == own {
		return true
	}
	if len(allowed) == 1 && allowed[0] == "*" {
		return true
	}
	for _, a := range allowed {
		if a == ns {
			return true
		}
	}
	return false
}

// Validate checks the object: every field alone (a VaultAuthGlobal holds
// defaults, so nothing of a method block is required here; the merged
// VaultAuth is checked whole where it is used).
func (o *VaultAuthGlobal) Validate() field.ErrorList {
	errs := validateObjectMeta(&o.ObjectMeta)
	s := &o.Spec
	p := specPath
	errs = append(errs, validateAllowedNamespaces(s.AllowedNamespaces, p.Child("allowedNamespaces"))...)
	errs = append(errs, validateRef(s.VaultConnectionRef, p.Child("vaultConnectionRef"))...)
	errs = append(errs, validateEnum(s.DefaultAuthMethod, false, p.Child("defaultAuthMethod"), methods...)...)
	errs = append(errs, validateVaultPath(s.DefaultMount, false, p.Child("defaultMount"))...)
	errs = append(errs, validateHeaders(s.DefaultHeaders, p.Child("headers"))...)
	common := func(c *GlobalMethodCommon, bp *field.Path) field.ErrorList {
		e := validateVaultPath(c.Mount, false, bp.Child("mount"))
		return append(e, validateHeaders(c.Headers, bp.Child("headers"))...)
	}
	if c := s.Kubernetes; c != nil {
		bp := p.Child(MethodKubernetes)
		errs = append(errs, c.validate(bp, true)...)
		errs = append(errs, common(&c.GlobalMethodCommon, bp)...)
	}
	if c := s.JWT; c != nil {
		bp := p.Child(MethodJWT)
		errs = append(errs, c.validate(bp, true)...)
		errs = append(errs, common(&c.GlobalMethodCommon, bp)...)
	}
	if c := s.AppRole; c != nil {
		bp := p.Child(MethodAppRole)
		errs = append(errs, c.validate(bp, true)...)
		errs = append(errs, common(&c.GlobalMethodCommon, bp)...)
	}
	if c := s.AWS; c != nil {
		bp := p.Child(MethodAWS)
		errs = append(errs, c.validate(bp, true)...)
		errs = append(errs, common(&c.GlobalMethodCommon, bp)...)
	}
	if c := s.GCP; c != nil {
		bp := p.Child(MethodGCP)
		errs = append(errs, c.validate(bp, true)...)
		errs = append(errs, common(&c.GlobalMethodCommon, bp)...)
	}
	return errs
}

// MergeVaultAuthGlobal is VSO's MergeInVaultAuthGlobal (common.go) once
// the VaultAuthGlobal g is found and allowed: a's spec completed from g,
// without vaultAuthGlobalRef. Empty fields of a's method block take g's
// (method from defaultAuthMethod; mount, Vault namespace: a's, else the
// method block's, else g's default; headers and params by
// vaultAuthGlobalRef.mergeStrategy: union (g's defaults, then the method
// block's, then a's win), replace (the first non-empty of a's, the method
// block's, g's defaults), none (a's only; the default)); vaultConnectionRef
// a's, else g's. The result is then checked as a VaultAuth without
// vaultAuthGlobalRef (every field required): an error names the field a
// is missing. a and g are not changed.
func MergeVaultAuthGlobal(a *VaultAuth, g *VaultAuthGlobal) (VaultAuthSpec, field.ErrorList) {
	s := a.Spec
	ref := s.VaultAuthGlobalRef
	s.VaultAuthGlobalRef = nil
	p := specPath
	gname := fmt.Sprintf("VaultAuthGlobal %s", qualified(g.Namespace, g.Name))
	if s.Method == "" {
		if g.Spec.DefaultAuthMethod == "" {
			return s, field.ErrorList{field.Required(p.Child("method"), "not set, and "+gname+" has no spec.defaultAuthMethod")}
		}
		s.Method = g.Spec.DefaultAuthMethod
	}
	var c *GlobalMethodCommon
	switch s.Method {
	case MethodKubernetes:
		if gb := g.Spec.Kubernetes; gb != nil {
			c = &gb.GlobalMethodCommon
			s.Kubernetes = mergeKubernetes(s.Kubernetes, &gb.VaultAuthConfigKubernetes)
		}
	case MethodJWT:
		if gb := g.Spec.JWT; gb != nil {
			c = &gb.GlobalMethodCommon
			s.JWT = mergeJWT(s.JWT, &gb.VaultAuthConfigJWT)
		}
	case MethodAppRole:
		if gb := g.Spec.AppRole; gb != nil {
			c = &gb.GlobalMethodCommon
			s.AppRole = mergeAppRole(s.AppRole, &gb.VaultAuthConfigAppRole)
		}
	case MethodAWS:
		if gb := g.Spec.AWS; gb != nil {
			c = &gb.GlobalMethodCommon
			s.AWS = mergeAWS(s.AWS, &gb.VaultAuthConfigAWS)
		}
	case MethodGCP:
		if gb := g.Spec.GCP; gb != nil {
			c = &gb.GlobalMethodCommon
			s.GCP = mergeGCP(s.GCP, &gb.VaultAuthConfigGCP)
		}
	}
	if c == nil {
		c = &GlobalMethodCommon{}
	}
	s.Mount = firstNonEmpty(s.Mount, c.Mount, g.Spec.DefaultMount)
	s.Namespace = firstNonEmpty(s.Namespace, c.Namespace, g.Spec.DefaultVaultNamespace)
	var hs, ps string
	if ref != nil && ref.MergeStrategy != nil {
		hs, ps = ref.MergeStrategy.Headers, ref.MergeStrategy.Params
	}
	s.Headers = mergeStrategy(hs, s.Headers, c.Headers, g.Spec.DefaultHeaders)
	s.Params = mergeStrategy(ps, s.Params, c.Params, g.Spec.DefaultParams)
	s.VaultConnectionRef = firstNonEmpty(s.VaultConnectionRef, g.Spec.VaultConnectionRef)

	errs := s.Validate()
	for _, e := range errs {
		if e.Type == field.ErrorTypeRequired {
			e.Detail = joinDetail(e.Detail, "not set in the VaultAuth nor supplied by "+gname)
		}
	}
	return s, errs
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// mergeStrategy is VSO's merge of headers or params: own wins.
func mergeStrategy(strategy string, own, method, defaults map[string]string) map[string]string {
	switch strategy {
	case MergeStrategyUnion:
		if len(own)+len(method)+len(defaults) == 0 {
			return nil
		}
		out := make(map[string]string, len(own)+len(method)+len(defaults))
		maps.Copy(out, defaults)
		maps.Copy(out, method)
		maps.Copy(out, own)
		return out
	case MergeStrategyReplace:
		for _, m := range []map[string]string{own, method, defaults} {
			if len(m) > 0 {
				return m
			}
		}
		return nil
	default: // none, or unset
		return own
	}
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func or[T comparable](own, def T) T {
	var zero T
	if own == zero {
		return def
	}
	return own
}

func orSlice(own, def []string) []string {
	if len(own) == 0 {
		return def
	}
	return own
}

func mergeKubernetes(own, g *VaultAuthConfigKubernetes) *VaultAuthConfigKubernetes {
	c := VaultAuthConfigKubernetes{}
	if own != nil {
		c = *own
	}
	c.Role, c.ServiceAccount = or(c.Role, g.Role), or(c.ServiceAccount, g.ServiceAccount)
	c.TokenAudiences = orSlice(c.TokenAudiences, g.TokenAudiences)
	c.TokenExpirationSeconds = or(c.TokenExpirationSeconds, g.TokenExpirationSeconds)
	return &c
}

func mergeJWT(own, g *VaultAuthConfigJWT) *VaultAuthConfigJWT {
	c := VaultAuthConfigJWT{}
	if own != nil {
		c = *own
	}
	c.Role, c.ServiceAccount = or(c.Role, g.Role), or(c.ServiceAccount, g.ServiceAccount)
	if c.SecretRef.IsZero() {
		c.SecretRef = g.SecretRef
	}
	c.TokenAudiences = orSlice(c.TokenAudiences, g.TokenAudiences)
	c.TokenExpirationSeconds = or(c.TokenExpirationSeconds, g.TokenExpirationSeconds)
	return &c
}

func mergeAppRole(own, g *VaultAuthConfigAppRole) *VaultAuthConfigAppRole {
	c := VaultAuthConfigAppRole{}
	if own != nil {
		c = *own
	}
	c.RoleID, c.SecretIDPath = or(c.RoleID, g.RoleID), or(c.SecretIDPath, g.SecretIDPath)
	if c.SecretRef.IsZero() {
		c.SecretRef = g.SecretRef
	}
	return &c
}

func mergeAWS(own, g *VaultAuthConfigAWS) *VaultAuthConfigAWS {
	c := VaultAuthConfigAWS{}
	if own != nil {
		c = *own
	}
	c.Role, c.Region, c.HeaderValue = or(c.Role, g.Role), or(c.Region, g.Region), or(c.HeaderValue, g.HeaderValue)
	c.SessionName, c.STSEndpoint, c.IAMEndpoint = or(c.SessionName, g.SessionName), or(c.STSEndpoint, g.STSEndpoint), or(c.IAMEndpoint, g.IAMEndpoint)
	c.SecretRef, c.IRSAServiceAccount = or(c.SecretRef, g.SecretRef), or(c.IRSAServiceAccount, g.IRSAServiceAccount)
	return &c
}

func mergeGCP(own, g *VaultAuthConfigGCP) *VaultAuthConfigGCP {
	c := VaultAuthConfigGCP{}
	if own != nil {
		c = *own
	}
	c.Role, c.WorkloadIdentityServiceAccount = or(c.Role, g.Role), or(c.WorkloadIdentityServiceAccount, g.WorkloadIdentityServiceAccount)
	c.Region, c.ClusterName, c.ProjectID = or(c.Region, g.Region), or(c.ClusterName, g.ClusterName), or(c.ProjectID, g.ProjectID)
	return &c
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
