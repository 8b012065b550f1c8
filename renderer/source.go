package renderer

import (
	"bytes"
	"os"
	"path/filepath"
)

// SourceType is how an app directory is built.
type SourceType string

// The source types vaultcmp builds.
const (
	SourceDirectory SourceType = "directory"
	SourceKustomize SourceType = "kustomize"
	SourceHelm      SourceType = "helm"
)

// Detect tells how dir is built: a Helm chart (Chart.yaml), a
// kustomization, or a plain directory.
func Detect(dir string) SourceType {
	if st, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err == nil && st.Mode().IsRegular() {
		return SourceHelm
	}
	if IsKustomization(dir) {
		return SourceKustomize
	}
	return SourceDirectory
}

// vsoMarker is what every Vault Secrets Operator manifest contains.
var vsoMarker = []byte("secrets.hashicorp.com/")

// Discover lists the files under dir (relative, sorted) that hold
// secrets.hashicorp.com resources: manifests of plain directories and
// kustomizations, and templates of Helm charts (*.yaml, *.yml, *.json,
// *.tpl). Hidden entries are skipped. No file means the app is not for
// vaultcmp. Files are read through l (its size limits).
func (l *Loader) Discover(dir string) ([]string, error) {
	files, err := Files(dir, ".yaml", ".yml", ".json", ".tpl")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		b, err := l.ReadFile(p, filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		if bytes.Contains(b, vsoMarker) {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out, nil
}
