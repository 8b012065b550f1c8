package cmp

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/renderer"
)

// SourceType is how an app directory is built.
type SourceType string

// The source types vaultcmp builds.
const (
	SourceDirectory SourceType = "directory"
	SourceKustomize SourceType = "kustomize"
	SourceHelm      SourceType = "helm"
)

// DetectSource tells how dir is built: a Helm chart (Chart.yaml), a
// kustomization, or a plain directory.
func DetectSource(dir string) SourceType {
	if st, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil && st.Mode().IsRegular() {
		return SourceHelm
	}
	if renderer.IsKustomization(dir) {
		return SourceKustomize
	}
	return SourceDirectory
}

// marker is what every Vault Secrets Operator manifest contains.
var marker = []byte("secrets.hashicorp.com/")

// Discover lists the files under dir (relative, sorted) that hold
// secrets.hashicorp.com resources: manifests of plain directories and
// kustomizations, and templates of Helm charts (*.yaml, *.yml, *.json,
// *.tpl). Hidden entries are skipped. No file means the app is not for
// vaultcmp. Files are read within the default limits (DiscoverWith).
func Discover(dir string) ([]string, error) {
	return DiscoverWith(dir, renderer.NewLoader(limits.Default()))
}

// DiscoverWith is Discover reading files through ld (its size limits).
func DiscoverWith(dir string, ld *renderer.Loader) ([]string, error) {
	files, err := renderer.Files(dir, ".yaml", ".yml", ".json", ".tpl")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		b, err := ld.ReadFile(p, filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		if bytes.Contains(b, marker) {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out, nil
}
