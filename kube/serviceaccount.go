package kube

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/credentials"
)

var _ credentials.ServiceAccountReader = (*Credentials)(nil)

// ServiceAccountAnnotations implements credentials.ServiceAccountReader
// (an aws irsaServiceAccount's role).
func (c *Credentials) ServiceAccountAnnotations(ctx context.Context, namespace, name string) (map[string]string, error) {
	sa, err := c.Client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, explain(err, "get", "serviceaccounts", namespace, "ServiceAccount", name)
	}
	return sa.Annotations, nil
}
