package cmp

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
// vaultcmp.
func Discover(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json", ".tpl":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, marker) {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
