package companion

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vaultcmp/vaultcmp/contract"
)

// applications are Argo CD's Applications.
var applications = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// owningApplication is the Argo CD Application to hard-refresh for a
// carrier: the one its sealed contract names (generate's ARGOCD_APP_NAME),
// never the carrier's own tracking label or annotation, which anyone who
// writes the carrier chooses. It must be in the companion's Argo CD
// namespace and deploy to the carrier's namespace.
func (r *Reconciler) owningApplication(ctx context.Context, carrier *corev1.Secret, c *contract.V1) (string, error) {
	name, err := applicationName(c.Application, r.ArgoNamespace)
	if err != nil {
		return "", err
	}
	app, err := r.Dynamic.Resource(applications).Namespace(r.ArgoNamespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading Application %s/%s, which the contract names: %w", r.ArgoNamespace, name, err)
	}
	return name, checkAppDestination(app, carrier.Namespace)
}

// applicationName is the name, in Argo CD namespace argoNS, of the
// contract's Application (Argo CD's instance name "<namespace>_<name>" of
// an Application outside its control-plane namespace must name argoNS).
func applicationName(app, argoNS string) (string, error) {
	if app == "" {
		return "", fmt.Errorf("the contract names no Argo CD Application (rendered outside Argo CD): no Application to refresh")
	}
	if ns, name, ok := strings.Cut(app, "_"); ok {
		if ns != argoNS {
			return "", fmt.Errorf("the contract's Application %s is in namespace %q, not the companion's Argo CD namespace %q: not refreshed", name, ns, argoNS)
		}
		return name, nil
	}
	return app, nil
}

// checkAppDestination refuses an Application that does not deploy to ns.
func checkAppDestination(app *unstructured.Unstructured, ns string) error {
	dest, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "namespace")
	if dest != ns {
		return fmt.Errorf("Application %s/%s deploys to namespace %q, not the carrier's %q: not refreshed", app.GetNamespace(), app.GetName(), dest, ns)
	}
	return nil
}
