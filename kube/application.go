package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
)

// ApplicationResource is Argo CD's Application.
var ApplicationResource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// ErrNoApplicationClient is returned when Credentials were built without a
// client for Argo CD's Applications.
var ErrNoApplicationClient = errors.New("no client for Argo CD Applications")

// Application is what generate needs to know of an Argo CD Application.
type Application struct {
	// SourceHydrator: spec.sourceHydrator is set (Argo CD's Source
	// Hydrator commits what its dry source renders to git).
	SourceHydrator bool
}

// Application reads Argo CD's Application namespace/name. found is false
// when the cluster has none (err nil); any other failure is an error that
// names the missing permission when it is one.
func (c *Credentials) Application(ctx context.Context, namespace, name string) (app Application, found bool, err error) {
	if c.Apps == nil {
		return Application{}, false, ErrNoApplicationClient
	}
	u, err := c.Apps.Resource(ApplicationResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// An Application not found, and the resource unknown (Argo CD's
		// CRDs not installed) alike.
		return Application{}, false, nil
	case err != nil:
		return Application{}, false, explain(err, "get", "applications.argoproj.io", namespace, "Application", name)
	}
	return applicationOf(u), true, nil
}

func applicationOf(u *unstructured.Unstructured) Application {
	v, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "sourceHydrator")
	return Application{SourceHydrator: found && v != nil}
}

// Namespace is the namespace of Config's context: the pod's own in the
// cluster (the sidecar runs in Argo CD's namespace), else the kubeconfig
// context's ("default" when it names none).
func Namespace() (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).Namespace()
	if err != nil {
		return "", fmt.Errorf("finding the current namespace (in-cluster config, KUBECONFIG or ~/.kube/config): %w", err)
	}
	return ns, nil
}
