package companion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/vault"
)

// ErrNoAuth is a contract without a VaultAuth (rendered with VAULT_TOKEN).
var ErrNoAuth = errors.New("the contract names no VaultAuth: the companion logs in only as the app's VaultAuth says")

// nsCredentials reads what a login needs, in one namespace only: the
// carrier's. It is the tenancy boundary. It is a credentials.Source, like
// generate's kube.Credentials, but keeps nothing: a controller that runs
// for months asks for a fresh token at every login.
type nsCredentials struct {
	kube kubernetes.Interface
}

var _ credentials.Source = nsCredentials{}

// identity builds the Vault identity of a contract in namespace ns.
func (cr nsCredentials) identity(ctx context.Context, ns string, c *contract.V1) (*vault.Identity, error) {
	conn := vault.Connection{
		Address:       c.Connection.Address,
		Headers:       c.Connection.Headers,
		TLSServerName: c.Connection.TLSServerName,
		SkipTLSVerify: c.Connection.SkipTLSVerify,
	}
	if c.Connection.Timeout != "" {
		d, err := time.ParseDuration(c.Connection.Timeout)
		if err != nil {
			return nil, fmt.Errorf("connection.timeout: %w", err)
		}
		conn.Timeout = d
	}
	if ref := c.Connection.CACertSecretRef; ref != "" {
		ca, err := cr.SecretValue(ctx, ns, ref, "ca.crt")
		if err != nil {
			return nil, fmt.Errorf("VaultConnection caCertSecretRef: %w", err)
		}
		conn.CACert = ca
	}
	a := c.Auth
	if a == nil {
		return nil, ErrNoAuth
	}
	var auth vault.Auth
	switch a.Method {
	case "kubernetes", "jwt":
		if a.SecretRef != nil {
			b, err := cr.SecretValue(ctx, ns, a.SecretRef.Name, a.SecretRef.Key)
			if err != nil {
				return nil, fmt.Errorf("VaultAuth jwt.secretRef: %w", err)
			}
			auth = vault.JWTTokenAuth(a.Method, a.Mount, a.Role, strings.TrimSpace(string(b)))
		} else {
			if a.ServiceAccount == "" {
				return nil, fmt.Errorf("VaultAuth %s: no serviceAccount", a.Method)
			}
			auth = vault.JWTAuth(a.Method, a.Mount, a.Role, func(ctx context.Context) (string, error) {
				return cr.ServiceAccountToken(ctx, ns, a.ServiceAccount, a.Audiences, a.TokenSeconds)
			})
			auth.Subject, auth.Audiences = ns+"/"+a.ServiceAccount, a.Audiences
		}
	case "appRole":
		if a.SecretRef == nil {
			return nil, errors.New("VaultAuth appRole: the companion needs secretRef (secretIDPath names a file it does not read)")
		}
		b, err := cr.SecretValue(ctx, ns, a.SecretRef.Name, a.SecretRef.Key)
		if err != nil {
			return nil, fmt.Errorf("VaultAuth appRole.secretRef: %w", err)
		}
		auth = vault.AppRoleAuth(a.Mount, a.Role, strings.TrimSpace(string(b)))
	default:
		return nil, fmt.Errorf("VaultAuth method %q is not supported by the companion (kubernetes, jwt, appRole)", a.Method)
	}
	auth.Namespace, auth.Headers = a.Namespace, a.Headers
	return &vault.Identity{Connection: conn, Auth: auth}, nil
}

// SecretValue reads one key of a Secret of namespace ns.
func (cr nsCredentials) SecretValue(ctx context.Context, ns, name, key string) ([]byte, error) {
	s, err := cr.kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", ns, name, err)
	}
	v, ok := s.Data[key]
	if !ok {
		return nil, fmt.Errorf("Secret %s/%s has no key %q", ns, name, key)
	}
	return v, nil
}

// ServiceAccountToken mints a token for a service account of namespace ns
// (a TokenRequest, at least 600 seconds, as the apiserver requires).
func (cr nsCredentials) ServiceAccountToken(ctx context.Context, ns, sa string, audiences []string, seconds int64) (string, error) {
	if seconds < 600 {
		seconds = 600
	}
	tr, err := cr.kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("TokenRequest for service account %s/%s: %w", ns, sa, err)
	}
	return tr.Status.Token, nil
}

// CanMintTokens implements credentials.Source: in the cluster, it can.
func (nsCredentials) CanMintTokens() error { return nil }
