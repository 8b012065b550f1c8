package e2e

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

var (
	applyOnce   sync.Once
	applyDyn    *dynamic.DynamicClient
	applyMapper *restmapper.DeferredDiscoveryRESTMapper
	applyErr    error
	applyNSMu   sync.Mutex
	applyNS     = map[string]bool{}
)

// serverSideApply sends every object of a render to the real kube-apiserver
// as Argo CD would (server-side apply, dry run: validation and admission run
// in full, nothing is stored, so tests stay independent). Any refusal fails
// the test: what vaultcmp prints must be valid for the apiserver, whatever
// the Secret type (issue 7: a data-less kubernetes.io/tls Secret is refused).
func serverSideApply(t testing.TB, objs []map[string]any, defaultNS string) {
	t.Helper()
	applyObjects(t, objs, defaultNS, true)
}

// applyObjects server-side applies objs (for real unless dryRun).
func applyObjects(t testing.TB, objs []map[string]any, defaultNS string, dryRun bool) {
	t.Helper()
	w := getArgo(t)
	applyOnce.Do(func() {
		cfg := w.cluster.RestConfig(AdminToken)
		cfg.QPS, cfg.Burst = 500, 1000 // client-go's 5/s would make a 1,000-object app take minutes
		if applyDyn, applyErr = dynamic.NewForConfig(cfg); applyErr != nil {
			return
		}
		applyMapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(w.cluster.Admin.Discovery()))
	})
	if applyErr != nil {
		t.Fatalf("dynamic client: %v", applyErr)
	}
	if defaultNS == "" {
		defaultNS = "default"
	}
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: o}
		gvk := u.GroupVersionKind()
		m, err := applyMapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) { // a CRD installed since discovery
			applyMapper.Reset()
			m, err = applyMapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			t.Fatalf("apply %s %s: %v", gvk.Kind, u.GetName(), err)
		}
		var ri dynamic.ResourceInterface = applyDyn.Resource(m.Resource)
		ns := u.GetNamespace()
		if m.Scope.Name() == "namespace" {
			if ns == "" {
				ns = defaultNS
			}
			ensureNamespace(t, ns)
			ri = applyDyn.Resource(m.Resource).Namespace(ns)
		}
		body, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		force := true
		opts := metav1.PatchOptions{FieldManager: "argocd-controller", Force: &force}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		_, err = ri.Patch(t.Context(), u.GetName(), types.ApplyPatchType, body, opts)
		if err != nil {
			t.Errorf("the apiserver refuses %s %s/%s as vaultcmp emitted it: %v", gvk.Kind, ns, u.GetName(), err)
		}
	}
}

func ensureNamespace(t testing.TB, ns string) {
	applyNSMu.Lock()
	defer applyNSMu.Unlock()
	if applyNS[ns] {
		return
	}
	_, err := getArgo(t).cluster.Admin.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("namespace %s: %v", ns, err)
	}
	applyNS[ns] = true
}

// renderNamespace is the -n/--namespace of a vaultcmp command line.
func renderNamespace(args []string) string {
	for i, a := range args {
		switch {
		case (a == "-n" || a == "--namespace") && i+1 < len(args):
			return args[i+1]
		case strings.HasPrefix(a, "--namespace="):
			return strings.TrimPrefix(a, "--namespace=")
		}
	}
	return ""
}
