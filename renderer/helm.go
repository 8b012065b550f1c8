package renderer

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/limits"
)

// HelmOptions render a chart as Argo CD's Helm source does: `helm template`
// of Helm 4 (Argo CD 3.5 and later), in-process.
type HelmOptions struct {
	ReleaseName string
	Namespace   string
	// ValuesFiles are relative to the chart and must stay inside Root;
	// merged in order, each one's YAML documents in order (Helm 4).
	ValuesFiles []string
	// Set are Argo CD's Helm parameters (`--set` after the values files, in
	// the order of their names): a value is one value, its commas escaped as
	// Argo CD escapes them, unless it is a `{a,b}` list.
	Set map[string]string
	// Root bounds the files a chart may read (the repository); default the chart.
	Root        string
	KubeVersion string   // e.g. "1.37.2" (Argo CD's KUBE_VERSION)
	APIVersions []string // Argo CD's KUBE_API_VERSIONS
	// Loader checks the chart's files before Helm loads them and decodes
	// the rendered output; default NewLoader(limits.Default()).
	Loader *Loader
}

// LoadHelm renders the chart in dir as Argo CD 3.6's `helm template
// --include-crds` (Helm 4.3) does, with its vendored dependencies (nothing
// is downloaded, no cluster is asked: `lookup` returns nothing), and decodes
// the objects: CRDs, then the manifests in Helm's install order, then the
// hooks.
func LoadHelm(ctx context.Context, dir string, o HelmOptions) ([]*Object, error) {
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
	if err := installable(chrt); err != nil {
		return nil, fmt.Errorf("Helm chart %s: %w", chrt.Name(), err)
	}
	vals, err := helmValues(dir, o)
	if err != nil {
		return nil, err
	}
	name := o.ReleaseName
	if name == "" {
		name = "release"
	}
	if err := chartutil.ValidateReleaseName(name); err != nil {
		return nil, fmt.Errorf("Helm release name %q: %w (name one: the helm-release-name parameter, render's --helm-release-name)", safetext.Clean(name), err)
	}
	if err := chartutil.ProcessDependencies(chrt, vals); err != nil {
		return nil, fmt.Errorf("Helm chart %s: dependencies: %w", chrt.Name(), err)
	}
	caps, err := helmCapabilities(o)
	if err != nil {
		return nil, err
	}
	if c := chrt.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("Helm chart %s requires kubeVersion: %s which is incompatible with Kubernetes %s", chrt.Name(), c, caps.KubeVersion.Version)
	}
	top, err := commonutil.ToRenderValues(chrt, vals, common.ReleaseOptions{Name: name, Namespace: o.Namespace, Revision: 1, IsInstall: true}, caps)
	if err != nil {
		return nil, fmt.Errorf("Helm chart %s: values: %w", chrt.Name(), err)
	}
	var e engine.Engine
	files, err := e.RenderWithContext(ctx, chrt, top)
	if err != nil {
		return nil, fmt.Errorf("rendering the Helm chart %s: %w", chrt.Name(), err)
	}
	out, err := helmTemplateOutput(chrt, files)
	if err != nil {
		return nil, fmt.Errorf("Helm chart %s: %w", chrt.Name(), err)
	}
	return ld.Decode(out, "chart "+chrt.Name())
}

// installable refuses what `helm template` refuses before rendering: a
// chart of another API version than v1/v2 (Helm 4's experimental v3 charts
// are not installable), a library chart, and a dependency that Chart.yaml
// names but charts/ lacks (Argo CD would run `helm dependency build`, which
// reaches the network; vaultcmp renders what the repository holds).
func installable(chrt *chart.Chart) error {
	switch chrt.Metadata.APIVersion {
	case chart.APIVersionV1, chart.APIVersionV2:
	default:
		return fmt.Errorf("apiVersion %q: helm template renders only charts of apiVersion %s and %s", safetext.Clean(chrt.Metadata.APIVersion), chart.APIVersionV1, chart.APIVersionV2)
	}
	switch chrt.Metadata.Type {
	case "", "application":
	default:
		return fmt.Errorf("%s charts are not installable", safetext.Clean(chrt.Metadata.Type))
	}
	var missing []string
	for _, r := range chrt.Metadata.Dependencies {
		if !slices.ContainsFunc(chrt.Dependencies(), func(d *chart.Chart) bool { return d.Name() == r.Name }) {
			missing = append(missing, r.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dependencies found in Chart.yaml, but missing in charts/ directory: %s (vendor them: helm dependency build)", strings.Join(missing, ", "))
	}
	return nil
}

// helmCapabilities are Helm's defaults (its Kubernetes version is the
// client-go vaultcmp is built with, as in the `helm` binary of the same
// client-go) with Argo CD's KUBE_VERSION and KUBE_API_VERSIONS.
func helmCapabilities(o HelmOptions) (*common.Capabilities, error) {
	caps := common.DefaultCapabilities.Copy()
	if o.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(o.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("KUBE_VERSION %q: %w", safetext.Clean(o.KubeVersion), err)
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, o.APIVersions...)
	if v := helmModuleVersion(); v != "" {
		caps.HelmVersion.Version = v
	}
	return caps, nil
}

// helmModuleVersion is the version of the Helm module vaultcmp is built
// with ("v4.3.2"), which Helm's release binaries report as
// .Capabilities.HelmVersion.Version; the library alone says "v4.3".
var helmModuleVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == "helm.sh/helm/v4" {
			if d.Replace != nil {
				return ""
			}
			return d.Version
		}
	}
	return ""
})

// helmTemplateOutput is the stream `helm template --include-crds` prints:
// the CRDs and the manifests (Helm's install order) trimmed as a whole, then
// the hooks (Helm's order by kind). Helm 4 keeps a document's trailing
// whitespace (Helm 3 trimmed it), which a `|+` block scalar at the end of a
// document keeps: the bytes here are Helm's so the values are too.
func helmTemplateOutput(chrt *chart.Chart, files map[string]string) ([]byte, error) {
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, crd := range chrt.CRDObjects() {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
	}
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	out := bytes.NewBuffer(make([]byte, 0, b.Len()+1))
	out.Write(bytes.TrimSpace(b.Bytes()))
	out.WriteByte('\n')
	for _, h := range hooks {
		fmt.Fprintf(out, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return out.Bytes(), nil
}

// helmValues merges the values files (in order) and then the parameters,
// as Argo CD's `helm template --values ... --set ...` does.
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
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading Helm values file %s: %w", safetext.Clean(f), err)
		}
		v, err := loader.LoadValues(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("reading Helm values file %s: %w", safetext.Clean(f), err)
		}
		vals = loader.MergeMaps(vals, v)
	}
	for _, k := range slices.Sorted(maps.Keys(o.Set)) {
		if err := strvals.ParseInto(k+"="+argoSetValue(o.Set[k]), vals); err != nil {
			return nil, fmt.Errorf("Helm parameter %s: %w", safetext.Clean(k), err)
		}
	}
	return vals, nil
}

// argoSetValue escapes a parameter's value as Argo CD does before `--set`
// (util/helm/cmd.go, cleanSetParameters): a comma not already escaped
// becomes `\,`, so a value is one value; a `{a,b}` list stays a list.
func argoSetValue(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	var prev rune
	for _, r := range v {
		if r == ',' && prev != '\\' {
			b.WriteString(`\,`)
		} else {
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}
