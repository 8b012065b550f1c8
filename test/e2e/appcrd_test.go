package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
var appGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// installApplicationCRD installs a minimal Application CRD (argoproj.io,
// schema left open) so the companion can annotate Applications.
func installApplicationCRD(ctx context.Context, w *argoWorld) error {
	dyn, err := dynamic.NewForConfig(w.cluster.RestConfig(AdminToken))
	if err != nil {
		return err
	}
	crd := []byte(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
"metadata":{"name":"applications.argoproj.io"},
"spec":{"group":"argoproj.io","scope":"Namespaced",
"names":{"kind":"Application","plural":"applications","singular":"application"},
"versions":[{"name":"v1alpha1","served":true,"storage":true,
"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`)
	force := true
	if _, err := dyn.Resource(crdGVR).Patch(ctx, "applications.argoproj.io", types.ApplyPatchType, crd, metav1.PatchOptions{FieldManager: "e2e", Force: &force}); err != nil {
		return fmt.Errorf("installing the Application CRD: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		u, err := dyn.Resource(crdGVR).Get(ctx, "applications.argoproj.io", metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("the Application CRD is not Established")
}

func appAnnotations(t testing.TB, cw *companionWorld) map[string]string {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cw.cluster.RestConfig(AdminToken))
	require.NoError(t, err)
	u, err := dyn.Resource(appGVR).Namespace("argocd").Get(t.Context(), "inline-app", metav1.GetOptions{})
	require.NoError(t, err)
	return u.GetAnnotations()
}

// installCompanionRBAC creates the ServiceAccount, roles and bindings of
// sidecar/kustomize/companion.yaml, as shipped, in namespace argocd.
func installCompanionRBAC(ctx context.Context, w *argoWorld) error {
	return applyCompanionRBAC(ctx, w, "argocd", true)
}

// applyCompanionRBAC creates the objects of sidecar/kustomize/companion.yaml
// that exist: namespaced ones in ns (as kustomize's namespace would put
// them), the cluster-wide ones only if cluster; the subjects stay the
// shipped argocd/vaultcmp-companion.
func applyCompanionRBAC(ctx context.Context, w *argoWorld, ns string, cluster bool) error {
	dyn, err := dynamic.NewForConfig(w.cluster.RestConfig(AdminToken))
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "sidecar", "kustomize", "companion.yaml"))
	if err != nil {
		return err
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return fmt.Errorf("companion.yaml: %w", err)
		}
		var gvr schema.GroupVersionResource
		namespaced := true
		if !cluster && (u.GetKind() == "ServiceAccount" || strings.HasPrefix(u.GetKind(), "Cluster")) {
			continue
		}
		switch u.GetKind() {
		case "ServiceAccount":
			gvr = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
		case "ClusterRole":
			gvr, namespaced = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false
		case "ClusterRoleBinding":
			gvr, namespaced = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, false
		case "Role":
			gvr = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
		case "RoleBinding":
			gvr = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
		default:
			continue // the Deployment and Service: the test runs the process itself
		}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if namespaced {
			ri = dyn.Resource(gvr).Namespace(ns)
		}
		if _, err := ri.Create(ctx, &u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return nil
}
