package identity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/vault"
)

// ErrNoAuth is a plan that must log in without a VaultAuth or a
// VAULT_TOKEN (a contract rendered with VAULT_TOKEN).
var ErrNoAuth = errors.New("no VaultAuth applies: vaultcmp logs in only as the app's VaultAuth says")

// ServiceAccountHint is the hint of a service-account login refused for
// want of a cluster.
const ServiceAccountHint = "kubernetes auth logs in as a service account: render in the cluster (vaultcmp generate), or set VAULT_TOKEN for a local render"

// Fetch reads what p names through src (the I/O step): the CA of a
// caCertSecretRef, the secretRef of an AppRole or JWT login, and the
// promise of a service-account token, minted by src when the login is
// sent (not when a cached Vault token is used). A plan with Login false
// gives its connection only.
func Fetch(ctx context.Context, p *Plan, src credentials.Source) (*vault.Identity, *FieldError) {
	id := &vault.Identity{Connection: p.Connection}
	if !p.Login {
		return id, nil
	}
	if ref := p.CACert; ref != nil {
		ca, err := src.SecretValue(ctx, ref.Namespace, ref.Name, ref.Key)
		if err != nil {
			return nil, fieldErr("", "%s: spec.caCertSecretRef: %w", label("VaultConnection", p.ConnectionName), err)
		}
		id.Connection.CACert = ca
	}
	a, ferr := login(ctx, p, src)
	if ferr != nil {
		return nil, ferr
	}
	id.Auth = a
	return id, nil
}

// login is how p logs in, with VAULT_TOKEN first.
func login(ctx context.Context, p *Plan, src credentials.Source) (vault.Auth, *FieldError) {
	if p.Token != "" {
		return vault.TokenAuth(p.Token), nil
	}
	var a vault.Auth
	pa := p.Auth
	if pa == nil {
		return a, &FieldError{Field: "spec.vaultAuthRef", Err: ErrNoAuth, Hint: "reference a VaultAuth"}
	}
	secret := func(field string) (string, *FieldError) {
		if pa.SecretRef == nil {
			return "", authErr(pa.Name, "", fmt.Errorf("%s: none given", field))
		}
		b, err := src.SecretValue(ctx, pa.SecretRef.Namespace, pa.SecretRef.Name, pa.SecretRef.Key)
		if err != nil {
			return "", authErr(pa.Name, "", fmt.Errorf("%s: %w", field, err))
		}
		return strings.TrimSpace(string(b)), nil
	}
	switch pa.Method {
	case v1beta1.MethodAppRole:
		id, ferr := secret("spec.appRole.secretRef")
		if ferr != nil {
			return a, ferr
		}
		a = vault.AppRoleAuth(pa.Mount, pa.Role, id)
	case v1beta1.MethodJWT, v1beta1.MethodKubernetes:
		if pa.Method == v1beta1.MethodJWT && pa.SecretRef != nil {
			jwt, ferr := secret("spec.jwt.secretRef")
			if ferr != nil {
				return a, ferr
			}
			a = vault.JWTTokenAuth(pa.Method, pa.Mount, pa.Role, jwt)
			break
		}
		field := "spec." + pa.Method + ".serviceAccount"
		if pa.ServiceAccount == "" {
			return a, authErr(pa.Name, "", fmt.Errorf("%s: none given", field))
		}
		if err := src.CanMintTokens(); err != nil {
			return a, authErr(pa.Name, ServiceAccountHint, fmt.Errorf("%s: %w", field, err))
		}
		ns, sa, aud, exp := p.Consumer, pa.ServiceAccount, pa.Audiences, pa.TokenSeconds
		a = vault.JWTAuth(pa.Method, pa.Mount, pa.Role, func(ctx context.Context) (string, error) {
			return src.ServiceAccountToken(ctx, ns, sa, aud, exp)
		})
		a.Subject, a.Audiences = names.Qualified(ns, sa), aud
	case v1beta1.MethodAWS:
		aa, ferr := awsLogin(ctx, p, src, AWSSettingsFromEnv(os.LookupEnv))
		if ferr != nil {
			return a, ferr
		}
		a = aa
	case v1beta1.MethodGCP:
		ga, ferr := gcpLogin(p, src, GCPSettingsFromEnv(os.LookupEnv))
		if ferr != nil {
			return a, ferr
		}
		a = ga
	default:
		return a, unsupported(pa.Name, pa.Method)
	}
	a.Namespace, a.Headers = pa.Namespace, pa.Headers
	return a, nil
}
