package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vaultcmp/vaultcmp/credentials"
)

// Credentials reads from the cluster. One Credentials serves one render:
// it asks for one token per service account, audiences and expiry, however
// many VaultAuths log in with it.
type Credentials struct {
	Client kubernetes.Interface
	// Apps reads Argo CD's Applications (Application).
	Apps dynamic.Interface

	mu     sync.Mutex
	tokens map[string]*tokenCall
}

type tokenCall struct {
	done  chan struct{}
	token string
	err   error
}

var _ credentials.Source = (*Credentials)(nil)

// Config is client-go's usual choice: in-cluster when running in a pod,
// else $KUBECONFIG or ~/.kube/config.
func Config() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("finding the cluster (in-cluster config, KUBECONFIG or ~/.kube/config): %w", err)
	}
	cfg.UserAgent = "vaultcmp"
	// client-go's default (5/s, bursts of 10) makes an app of many service
	// accounts wait on the client side.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// New returns Credentials for the cluster of Config.
func New() (*Credentials, error) {
	cfg, err := Config()
	if err != nil {
		return nil, err
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	apps, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	return &Credentials{Client: c, Apps: apps}, nil
}

// CanMintTokens implements credentials.Source.
func (c *Credentials) CanMintTokens() error { return nil }

// ServiceAccountToken implements credentials.Source with a TokenRequest,
// once per service account, audiences and expiry.
func (c *Credentials) ServiceAccountToken(ctx context.Context, namespace, sa string, audiences []string, exp int64) (string, error) {
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%s", namespace, sa, exp, strings.Join(audiences, "\x00"))
	c.mu.Lock()
	if c.tokens == nil {
		c.tokens = map[string]*tokenCall{}
	}
	call, found := c.tokens[key]
	if !found {
		call = &tokenCall{done: make(chan struct{})}
		c.tokens[key] = call
	}
	c.mu.Unlock()
	if !found {
		call.token, call.err = c.requestToken(ctx, namespace, sa, audiences, exp)
		close(call.done)
	}
	select {
	case <-call.done:
		return call.token, call.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (c *Credentials) requestToken(ctx context.Context, namespace, sa string, audiences []string, exp int64) (string, error) {
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}
	if exp > 0 {
		req.Spec.ExpirationSeconds = &exp
	}
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", explain(err, "create", "serviceaccounts/token", namespace, "ServiceAccount", sa)
	}
	return tr.Status.Token, nil
}

// SecretValue implements credentials.Source.
func (c *Credentials) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	s, err := c.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, explain(err, "get", "secrets", namespace, "Secret", name)
	}
	v, ok := s.Data[key]
	if !ok {
		return nil, fmt.Errorf("Secret %s/%s has no key %q", namespace, name, key)
	}
	return v, nil
}

// explain turns an API error into a message that names what is missing.
func explain(err error, verb, resource, namespace, kind, name string) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the sidecar's service account cannot %s %s in namespace %q (RBAC: verbs [%s] on resource %q%s): %w",
			verb, resource, namespace, verb, resource, resourceNameHint(resource, name), err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s %s/%s not found: create it in the app's namespace: %w", kind, namespace, name, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster refused the sidecar's credentials: %w", err)
	default:
		return fmt.Errorf("%s %s for %s %s/%s: %w", verb, resource, kind, namespace, name, err)
	}
}

func resourceNameHint(resource, name string) string {
	if resource == "secrets" {
		return fmt.Sprintf(", resourceNames [%s]", name)
	}
	return ""
}
