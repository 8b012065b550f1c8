package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultcmp/vaultcmp/internal/names"
)

// ErrNeedsCluster is returned for credentials that only a Kubernetes cluster
// can give (service-account tokens) when rendering without one.
var ErrNeedsCluster = errors.New("needs a Kubernetes cluster")

// Source gives the values that manifests only point at: keys of
// Kubernetes Secrets (caCertSecretRef, appRole/jwt secretRef) and
// service-account tokens. `render` uses [Env]; `generate` in the Argo CD
// sidecar reads them from the cluster (kube.Credentials).
type Source interface {
	SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error)
	ServiceAccountToken(ctx context.Context, namespace, serviceAccount string, audiences []string, expirationSeconds int64) (string, error)
	// CanMintTokens tells early (before any Vault traffic) whether
	// ServiceAccountToken can work at all.
	CanMintTokens() error
}

// Env reads Secret keys from environment variables named
// VAULTCMP_SECRET_<NAME>_<KEY> (upper case, every character other than a
// letter or digit replaced by "_"), so that CI can pass an AppRole secret-id
// as, e.g., VAULTCMP_SECRET_VAULT_APPROLE_CREDS_SECRET_ID.
type Env struct {
	LookupEnv func(string) (string, bool)
}

// SecretEnvName is the variable Env reads for a Secret's key.
func SecretEnvName(name, key string) string {
	up := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
				return r
			}
			return '_'
		}, s)
	}
	return "VAULTCMP_SECRET_" + up(name) + "_" + up(key)
}

// SecretValue implements Source.
func (e Env) SecretValue(_ context.Context, _, name, key string) ([]byte, error) {
	env := SecretEnvName(name, key)
	if v, ok := e.LookupEnv(env); ok && v != "" {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("key %q of Secret %q is not available without a cluster: set %s", key, name, env)
}

// ServiceAccountToken implements Source.
func (e Env) ServiceAccountToken(_ context.Context, namespace, sa string, _ []string, _ int64) (string, error) {
	return "", fmt.Errorf("a token for service account %s: %w", names.Qualified(namespace, sa), ErrNeedsCluster)
}

// CanMintTokens implements Source: without a cluster, it cannot.
func (e Env) CanMintTokens() error {
	return fmt.Errorf("logging in as a service account %w", ErrNeedsCluster)
}

// ServiceAccountReader is a Source that can read a service account's
// annotations (the eks.amazonaws.com/role-arn of an aws
// irsaServiceAccount). Env cannot: a render has no cluster.
type ServiceAccountReader interface {
	ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error)
}
