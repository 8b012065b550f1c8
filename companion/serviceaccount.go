package companion

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/credentials"
)

var _ credentials.ServiceAccountReader = nsCredentials{}

// ServiceAccountAnnotations reads a service account of namespace ns (an
// aws irsaServiceAccount's role): the carrier's namespace only.
func (cr nsCredentials) ServiceAccountAnnotations(ctx context.Context, ns, name string) (map[string]string, error) {
	sa, err := cr.kube.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		// The caller names the step and the account; the API error says why.
		return nil, fmt.Errorf("get: %w", err)
	}
	return sa.Annotations, nil
}
