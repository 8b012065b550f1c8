package renderer

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/limits"
)

// HelmOptions render a chart as `helm template` does, in-process.
type HelmOptions struct {
	ReleaseName string
	Namespace   string
	// ValuesFiles are relative to the chart and must stay inside Root.
	ValuesFiles []string
	// Set are --set values.
	Set map[string]string
	// Root bounds the files a chart may read (the repository); default the chart.
	Root        string
	KubeVersion string   // e.g. "1.37.2" (Argo CD's KUBE_VERSION)
	APIVersions []string // Argo CD's KUBE_API_VERSIONS
	// Loader checks the chart's files before Helm loads them and decodes
	// the rendered output; default NewLoader(limits.Default()).
	Loader *Loader
}

// LoadHelm renders the chart in dir as `helm template --include-crds` does
// (with its vendored dependencies; nothing is downloaded, no cluster is
// asked: `lookup` returns nothing) and decodes the objects: CRDs, then the
// manifests in Helm's install order, then the hooks.
func LoadHelm(ctx context.Context, dir string, o HelmOptions) ([]*Object, error) {
	_ = ctx // rendering is local
	ld := o.Loader
	if ld == nil {
		ld = NewLoader(limits.Default())
	}
	if err := ld.Check(dir); err != nil {
		return nil, err
	}
	chrt, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the Helm chart in %s: %w", dir, err)
	}
	vals, err := helmValues(dir, o)
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		return nil, fmt.Errorf("Helm chart %s: dependencies: %w", chrt.Name(), err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	if o.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(o.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("KUBE_VERSION %q: %w", o.KubeVersion, err)
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, o.APIVersions...)
	name := o.ReleaseName
	if name == "" {
		name = "release"
	}
	top, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{Name: name, Namespace: o.Namespace, Revision: 1, IsInstall: true}, caps)
	if err != nil {
		return nil, fmt.Errorf("Helm chart %s: values: %w", chrt.Name(), err)
	}
	files, err := engine.Render(chrt, top)
	if err != nil {
		return nil, fmt.Errorf("rendering the Helm chart %s: %w", chrt.Name(), err)
	}
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("Helm chart %s: %w", chrt.Name(), err)
	}
	var b strings.Builder
	for _, crd := range chrt.CRDObjects() {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].Path < hooks[j].Path })
	for _, h := range hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return ld.Decode([]byte(b.String()), "chart "+chrt.Name())
}

// helmValues merges the values files (in order) and then --set values, as
// helm's -f and --set do.
func helmValues(dir string, o HelmOptions) (map[string]any, error) {
	root := o.Root
	if root == "" {
		root = dir
	}
	vals := map[string]any{}
	for _, f := range o.ValuesFiles {
		p := filepath.Join(dir, f)
		if !withinReal(root, p) {
			return nil, fmt.Errorf("Helm values file %s %w", safetext.Clean(f), ErrOutsideRepository)
		}
		v, err := chartutil.ReadValuesFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading Helm values file %s: %w", f, err)
		}
		vals = mergeValues(vals, v)
	}
	for _, k := range slices.Sorted(maps.Keys(o.Set)) {
		if err := strvals.ParseInto(k+"="+o.Set[k], vals); err != nil {
			return nil, fmt.Errorf("Helm parameter %s: %w", k, err)
		}
	}
	return vals, nil
}

// mergeValues merges b into a, maps deeply, b winning (helm's mergeMaps).
func mergeValues(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(am, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
