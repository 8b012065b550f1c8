package renderer

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
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
}

// LoadHelm renders the chart in dir (with its packaged or vendored
// dependencies; nothing is downloaded) and decodes the objects. Hooks are
// included, as `helm template` includes them.
func LoadHelm(ctx context.Context, dir string, o HelmOptions) ([]*Object, error) {
	chrt, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading the Helm chart in %s: %w", dir, err)
	}
	root := o.Root
	if root == "" {
		root = dir
	}
	var files []string
	for _, f := range o.ValuesFiles {
		p := filepath.Join(dir, f)
		if !within(root, p) {
			return nil, fmt.Errorf("Helm values file %q is outside the repository", f)
		}
		files = append(files, p)
	}
	var set []string
	for _, k := range sortedKeys(o.Set) {
		set = append(set, k+"="+o.Set[k])
	}
	vals, err := (&values.Options{ValueFiles: files, Values: set}).MergeValues(getter.Providers{})
	if err != nil {
		return nil, fmt.Errorf("reading Helm values: %w", err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun, install.ClientOnly, install.Replace, install.IncludeCRDs = true, true, true, true
	install.ReleaseName = o.ReleaseName
	if install.ReleaseName == "" {
		install.ReleaseName = "release"
	}
	install.Namespace = o.Namespace
	if o.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(o.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("KUBE_VERSION %q: %w", o.KubeVersion, err)
		}
		install.KubeVersion = kv
	}
	install.APIVersions = chartutil.VersionSet(o.APIVersions)
	rel, err := install.RunWithContext(ctx, chrt, vals)
	if err != nil {
		return nil, fmt.Errorf("rendering the Helm chart %s: %w", chrt.Name(), err)
	}
	var b strings.Builder
	b.WriteString(rel.Manifest)
	hooks := rel.Hooks
	sort.SliceStable(hooks, func(i, j int) bool { return hooks[i].Path < hooks[j].Path })
	for _, h := range hooks {
		fmt.Fprintf(&b, "\n---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return Decode([]byte(b.String()), "chart "+chrt.Name())
}

// within tells whether p is root or below it.
func within(root, p string) bool {
	ar, err1 := filepath.Abs(root)
	ap, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ar, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
