package e2e

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ShippedInstall is Argo CD's install.yaml of one release with vaultcmp's
// kustomize component (sidecar/kustomize) applied, built with kustomize as
// a user's `kubectl apply -k` would: the Argo CD configuration the tests
// apply is the one the project ships, never a copy written for the tests.
type ShippedInstall struct {
	Objects []*unstructured.Unstructured
}

// BuildShippedInstall builds installYAML (Argo CD's manifests/install.yaml)
// into namespace argocd with the component at sidecar/kustomize.
func BuildShippedInstall(installYAML string) (*ShippedInstall, error) {
	dir, err := os.MkdirTemp("", "vaultcmp-kustomize-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b, err := os.ReadFile(installYAML)
	if err != nil {
		return nil, fmt.Errorf("reading Argo CD's install.yaml: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "install.yaml"), b, 0o644); err != nil {
		return nil, err
	}
	component, err := filepath.Rel(dir, filepath.Join(RepoRoot(), "sidecar", "kustomize"))
	if err != nil {
		return nil, err
	}
	k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\nresources: [install.yaml]\ncomponents: [%q]\n", component)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone // the component lives outside the temporary root
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build of Argo CD with sidecar/kustomize: %w", err)
	}
	out := &ShippedInstall{}
	for _, r := range m.Resources() {
		// Through JSON: unstructured wants int64 numbers, kyaml gives int.
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("%s %s of the shipped install: %w", r.GetKind(), r.GetName(), err)
		}
		out.Objects = append(out.Objects, u)
	}
	return out, nil
}

// Get returns the object of kind and name, or nil.
func (s *ShippedInstall) Get(kind, name string) *unstructured.Unstructured {
	for _, o := range s.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// Select returns the objects for which keep is true.
func (s *ShippedInstall) Select(keep func(*unstructured.Unstructured) bool) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range s.Objects {
		if keep(o) {
			out = append(out, o)
		}
	}
	return out
}

// ContainerEnv is the literal environment (value, not valueFrom) of a
// container of a Deployment.
func (s *ShippedInstall) ContainerEnv(deployment, container string) (map[string]string, error) {
	d := s.Get("Deployment", deployment)
	if d == nil {
		return nil, fmt.Errorf("no Deployment %s in the shipped install", deployment)
	}
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		cm, _ := c.(map[string]any)
		if cm["name"] != container {
			continue
		}
		env := map[string]string{}
		list, _ := cm["env"].([]any)
		for _, e := range list {
			em, _ := e.(map[string]any)
			if v, ok := em["value"].(string); ok {
				env[em["name"].(string)] = v
			}
		}
		return env, nil
	}
	return nil, fmt.Errorf("no container %s in Deployment %s of the shipped install", container, deployment)
}
