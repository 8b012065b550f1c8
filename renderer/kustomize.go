package renderer

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
)

// ErrRemoteResource is returned for a kustomization that would fetch
// something over the network (an http(s) URL, a git repository).
var ErrRemoteResource = fmt.Errorf("is remote: vaultcmp builds kustomizations from the repository alone")

// maxKustomizations bounds the kustomizations CheckKustomization follows.
const maxKustomizations = 1000

// CheckKustomization refuses, before kustomize runs, a kustomization in dir
// (and in every local kustomization it refers to) that reaches out of root,
// the repository: a resource, component or base that is remote (http, git,
// a file:// repository) or leads outside root, and any file reference that
// is a URL. kustomize's own root-only load restrictions still apply to the
// files a kustomization reads; this adds the network and the directories
// kustomize would otherwise accept from anywhere. With allowRemote (the
// operator's opt-in) remote references pass.
func CheckKustomization(root, dir string, allowRemote bool) error {
	c := kustCheck{root: root, allowRemote: allowRemote, seen: map[string]bool{}}
	return c.dir(dir, ".")
}

type kustCheck struct {
	root        string
	allowRemote bool
	seen        map[string]bool
}

func (c *kustCheck) dir(dir, shown string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("kustomization %s: %w", safetext.Clean(shown), err)
	}
	if c.seen[real] {
		return nil
	}
	if c.seen[real] = true; len(c.seen) > maxKustomizations {
		return fmt.Errorf("more than %d kustomizations", maxKustomizations)
	}
	file := kustomizationFile(dir)
	if file == "" {
		return nil // a directory of plain resources
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", safetext.Clean(filepath.Join(shown, filepath.Base(file))), err)
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("%s: %w", safetext.Clean(filepath.Join(shown, filepath.Base(file))), err)
	}
	where := filepath.Join(shown, filepath.Base(file))
	// Entries that kustomize loads as kustomizations or resource files.
	for _, group := range []struct {
		field   string
		entries []string
	}{
		{"resources", k.Resources}, {"components", k.Components}, {"bases", k.Bases}, {"crds", k.Crds}, //nolint:staticcheck // kustomize still loads the deprecated bases, so the boundary checks them
	} {
		for _, e := range group.entries {
			if err := c.entry(dir, shown, where, group.field, e); err != nil {
				return err
			}
		}
	}
	// Entries that kustomize reads as files: they may not be URLs.
	var files []string
	for _, p := range k.Patches {
		files = append(files, p.Path)
	}
	for _, p := range k.PatchesJson6902 { //nolint:staticcheck // deprecated, still loaded by kustomize
		files = append(files, p.Path)
	}
	for _, p := range k.PatchesStrategicMerge { //nolint:staticcheck // deprecated, still loaded by kustomize
		files = append(files, string(p))
	}
	for _, r := range k.Replacements {
		files = append(files, r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		files = append(files, generatorFiles(g.GeneratorArgs)...)
	}
	for _, g := range k.SecretGenerator {
		files = append(files, generatorFiles(g.GeneratorArgs)...)
	}
	files = append(files, k.Configurations...)
	files = append(files, k.Generators...)
	files = append(files, k.Transformers...)
	files = append(files, k.Validators...)
	files = append(files, k.OpenAPI["path"])
	for _, f := range files {
		if !c.allowRemote && isRemote(f) {
			return fmt.Errorf("%s: %s %w (the operator may allow it: --kustomize-allow-remote, $%s)", safetext.Clean(where), safetext.Clean(firstLine(f)), ErrRemoteResource, EnvKustomizeAllowRemote)
		}
	}
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 {
		return fmt.Errorf("%s: helmCharts: vaultcmp does not inflate Helm charts from a kustomization (they are fetched from a chart repository); render the chart as its own app", safetext.Clean(where))
	}
	return nil
}

// EnvKustomizeAllowRemote is the operator's opt-in to remote kustomize
// resources.
const EnvKustomizeAllowRemote = "VAULTCMP_KUSTOMIZE_ALLOW_REMOTE"

// entry checks one resources/components/bases/crds entry of the
// kustomization in dir.
func (c *kustCheck) entry(dir, shown, where, field, e string) error {
	if isRemote(e) {
		if c.allowRemote {
			return nil
		}
		return fmt.Errorf("%s: %s %s %w (the operator may allow it: --kustomize-allow-remote, $%s)", safetext.Clean(where), field, safetext.Clean(e), ErrRemoteResource, EnvKustomizeAllowRemote)
	}
	p := e
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	st, err := os.Stat(p)
	if err != nil {
		if c.allowRemote {
			return nil // kustomize may take it for a remote repository
		}
		return fmt.Errorf("%s: %s %s is not a file or directory of the repository (vaultcmp does not fetch remote resources)", safetext.Clean(where), field, safetext.Clean(e))
	}
	if !withinReal(c.root, p) {
		return fmt.Errorf("%s: %s %s %w", safetext.Clean(where), field, safetext.Clean(e), ErrOutsideRepository)
	}
	if st.IsDir() {
		return c.dir(p, filepath.Join(shown, e))
	}
	return nil
}

func generatorFiles(g types.GeneratorArgs) []string {
	var out []string
	for _, f := range g.FileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		out = append(out, f)
	}
	out = append(out, g.EnvSources...)
	return out
}

// isRemote tells whether a kustomize reference names something kustomize
// would fetch: a URL with a scheme, or a git repository in one of git's
// short forms (git@host:org/repo, host.tld/org/repo).
func isRemote(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || strings.Contains(s, "\n") {
		return false // empty, or an inline patch
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return true
	}
	if strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git::") || strings.Contains(s, "://") {
		return true
	}
	if strings.Contains(s, "?ref=") || strings.Contains(s, "?version=") || strings.Contains(s, "//") {
		return true
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
