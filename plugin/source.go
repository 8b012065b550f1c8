package plugin

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaultcmp/vaultcmp/cmp"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/renderer"
)

// sourceFlags say how to build the app directory.
type sourceFlags struct {
	namespace       string
	helmReleaseName string
	helmValuesFiles []string
	helmSet         []string
	kubeVersion     string
	apiVersions     []string
	repoRoot        string
	limits          limits.Limits // set by the command before load
}

func (f *sourceFlags) register(cmd *cobra.Command, env Env) {
	fl := cmd.Flags()
	fl.StringVarP(&f.namespace, "namespace", "n", env.get(EnvNamespace),
		"namespace of objects that have none (Argo CD's destination namespace) [$"+EnvNamespace+"]")
	fl.StringVar(&f.helmReleaseName, "helm-release-name", "", "release name of a Helm chart (default: the directory's name)")
	fl.StringArrayVar(&f.helmValuesFiles, "helm-values", nil, "Helm values file, relative to the chart (repeatable)")
	fl.StringArrayVar(&f.helmSet, "helm-set", nil, "Helm value key=value (repeatable)")
}

// load reads the app in dir: a Helm chart, a kustomization or a directory.
func (f sourceFlags) load(ctx context.Context, dir, namespace string) ([]*renderer.Object, error) {
	ld := renderer.NewLoader(f.limits)
	if cmp.DetectSource(dir) != cmp.SourceHelm {
		return ld.Load(dir)
	}
	set := map[string]string{}
	for _, kv := range f.helmSet {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--helm-set %q: want key=value", kv)
		}
		set[k] = v
	}
	name := f.helmReleaseName
	if name == "" {
		name = baseName(dir)
	}
	return renderer.LoadHelm(ctx, dir, renderer.HelmOptions{
		ReleaseName: name, Namespace: namespace, ValuesFiles: f.helmValuesFiles, Set: set,
		Root: f.repoRoot, KubeVersion: f.kubeVersion, APIVersions: f.apiVersions, Loader: ld,
	})
}
