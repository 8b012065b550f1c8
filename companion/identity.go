package companion

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/vault"
)

// ErrNoAuth is a contract without a VaultAuth (rendered with VAULT_TOKEN):
// the companion logs in only as the app's VaultAuth says.
var ErrNoAuth = identity.ErrNoAuth

// nsCredentials reads what a login needs, in one namespace only: the
// carrier's. It is the tenancy boundary. It is a credentials.Source, like
// generate's kube.Credentials, but keeps nothing: a controller that runs
// for months asks for a fresh token at every login.
type nsCredentials struct {
	kube kubernetes.Interface
}

var _ credentials.Source = nsCredentials{}

// identity is the Vault identity of a contract in namespace ns: the plan
// the contract carries (identity.FromContract), fetched through cr by the
// same identity.Fetch as generate's.
func (cr nsCredentials) identity(ctx context.Context, ns string, c *contract.V1) (*vault.Identity, error) {
	p, err := identity.FromContract(ns, c)
	if err != nil {
		return nil, err
	}
	id, ferr := identity.Fetch(ctx, p, cr)
	if ferr != nil {
		return nil, ferr
	}
	return id, nil
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
