package contract

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// AuthMethods are the VaultAuth methods vaultcmp logs in with, in generate
// (identity.Resolve) as in the companion (Validate): the others are refused.
var AuthMethods = []string{v1beta1.MethodKubernetes, v1beta1.MethodJWT, v1beta1.MethodAppRole, v1beta1.MethodAWS, v1beta1.MethodGCP}

// SupportedMethod reports whether vaultcmp logs in with the VaultAuth method m.
func SupportedMethod(m string) bool { return slices.Contains(AuthMethods, m) }

// validateRules holds the contract to the rules generate applies to the VSO
// objects it came from (api/v1beta1's validation of the object, of the
// VaultConnection's and the VaultAuth's specs and of each
// SecretTransformation; identity's supported methods): a contract that
// generate could not have written is refused, whoever sealed it.
func (c *V1) validateRules() error {
	o := &c.Object
	meta := metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: o.Labels, Annotations: o.Annotations}
	var errs field.ErrorList
	var targets []v1beta1.RolloutRestartTarget
	switch {
	case o.Dynamic != nil:
		errs, targets = (&v1beta1.VaultDynamicSecret{ObjectMeta: meta, Spec: *o.Dynamic}).Validate(), o.Dynamic.RolloutRestartTargets
	case o.PKI != nil:
		errs, targets = (&v1beta1.VaultPKISecret{ObjectMeta: meta, Spec: *o.PKI}).Validate(), o.PKI.RolloutRestartTargets
	case o.Static != nil:
		errs, targets = (&v1beta1.VaultStaticSecret{ObjectMeta: meta, Spec: *o.Static}).Validate(), o.Static.RolloutRestartTargets
	}
	if len(errs) > 0 {
		return fmt.Errorf("contract: object (%s %s): %w", o.Kind, o.Name, errs.ToAggregate())
	}
	if !slices.Equal(c.RolloutTargets, targets) {
		return errors.New("contract: rolloutTargets differ from the object's spec.rolloutRestartTargets")
	}
	if err := ValidateIdentity(c.Connection, c.Auth); err != nil {
		return err
	}
	for i, t := range c.Transformations {
		if errs := t.AsObject().Validate(); len(errs) > 0 {
			return fmt.Errorf("contract: transformations[%d] (SecretTransformation %s): %w", i, t.Name, errs.ToAggregate())
		}
	}
	if err := validateApplication(c.Application); err != nil {
		return err
	}
	return nil
}

// ValidateIdentity holds a connection and an auth, as a contract carries
// them, to the rules of the VaultConnection and VaultAuth specs they came
// from (address, headers — never a credential header —, names, the auth
// mount, which can never leave auth/, the method): the companion checks it
// before any credential is fetched or sent. auth may be nil (a contract
// rendered with VAULT_TOKEN, refused later for want of an identity).
func ValidateIdentity(conn Connection, auth *Auth) error {
	cs := v1beta1.VaultConnectionSpec{
		Address: conn.Address, Headers: conn.Headers, TLSServerName: conn.TLSServerName,
		CACertSecretRef: conn.CACertSecretRef, SkipTLSVerify: conn.SkipTLSVerify,
	}
	if errs := cs.Validate(); len(errs) > 0 {
		return fmt.Errorf("contract: connection, as a VaultConnection's spec: %w", errs.ToAggregate())
	}
	if conn.Timeout != "" {
		d, err := time.ParseDuration(conn.Timeout)
		if err != nil {
			return fmt.Errorf("contract: connection.timeout: %w", err)
		}
		if d < 0 {
			return fmt.Errorf("contract: connection.timeout %s is negative", conn.Timeout)
		}
	}
	if auth == nil {
		return nil
	}
	if !SupportedMethod(auth.Method) {
		return fmt.Errorf("contract: auth.method %q is not supported by vaultcmp (%s)", auth.Method, strings.Join(AuthMethods, ", "))
	}
	if errs := authSpec(auth).Validate(); len(errs) > 0 {
		return fmt.Errorf("contract: auth, as a VaultAuth's spec: %w", errs.ToAggregate())
	}
	return nil
}

// authSpec is the VaultAuth spec a contract's auth was resolved from.
func authSpec(a *Auth) *v1beta1.VaultAuthSpec {
	s := &v1beta1.VaultAuthSpec{Method: a.Method, Mount: a.Mount, Namespace: a.Namespace, Headers: a.Headers}
	var ref v1beta1.SecretKeyRef
	if r := a.SecretRef; r != nil {
		ref = v1beta1.SecretKeyRef{Name: r.Name, Key: r.Key}
	}
	switch a.Method {
	case v1beta1.MethodKubernetes:
		s.Kubernetes = &v1beta1.VaultAuthConfigKubernetes{Role: a.Role, ServiceAccount: a.ServiceAccount,
			TokenAudiences: a.Audiences, TokenExpirationSeconds: a.TokenSeconds}
	case v1beta1.MethodJWT:
		s.JWT = &v1beta1.VaultAuthConfigJWT{Role: a.Role, SecretRef: ref, ServiceAccount: a.ServiceAccount,
			TokenAudiences: a.Audiences, TokenExpirationSeconds: a.TokenSeconds}
	case v1beta1.MethodAppRole:
		s.AppRole = &v1beta1.VaultAuthConfigAppRole{RoleID: a.Role, SecretRef: ref}
	case v1beta1.MethodAWS:
		c := &v1beta1.VaultAuthConfigAWS{Role: a.Role, SecretRef: ref.Name, IRSAServiceAccount: a.ServiceAccount}
		if x := a.AWS; x != nil {
			c.Region, c.HeaderValue, c.SessionName, c.STSEndpoint, c.IAMEndpoint = x.Region, x.HeaderValue, x.SessionName, x.STSEndpoint, x.IAMEndpoint
		}
		s.AWS = c
	case v1beta1.MethodGCP:
		c := &v1beta1.VaultAuthConfigGCP{Role: a.Role, WorkloadIdentityServiceAccount: a.ServiceAccount}
		if x := a.GCP; x != nil {
			c.ProjectID, c.Region, c.ClusterName = x.ProjectID, x.Region, x.ClusterName
		}
		s.GCP = c
	}
	return s
}

// validateApplication checks the owning Application's name: an Argo CD
// Application name, or "<namespace>_<name>" (Argo CD's instance name of an
// Application outside its control-plane namespace).
func validateApplication(app string) error {
	if app == "" {
		return nil
	}
	ns, name, qualified := strings.Cut(app, "_")
	if !qualified {
		ns, name = "", app
	}
	bad := validation.IsDNS1123Subdomain(name)
	if qualified {
		bad = append(bad, validation.IsDNS1123Label(ns)...)
	}
	if len(bad) > 0 {
		return fmt.Errorf("contract: application %q is not an Argo CD Application name: %s", app, strings.Join(bad, "; "))
	}
	return nil
}
