package renderer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/limits"
)

// EnvPlatformDir and EnvPlatformNamespace name the operator's platform
// objects and their namespace for render, generate and validate.
const (
	EnvPlatformDir       = "VAULTCMP_PLATFORM_DIR"
	EnvPlatformNamespace = "VAULTCMP_PLATFORM_NAMESPACE"
)

// LoadPlatform reads the operator's platform objects (VSO's YAML of
// VaultConnections, VaultAuths, VaultAuthGlobals and SecretTransformations
// outside any app) once per run: every *.yaml, *.yml and *.json file
// directly in dir — a ConfigMap mounted as a volume: its keys are symlinks,
// followed; hidden entries (the ConfigMap's ..data) skipped — or dir itself
// when it is a file. Each object is strictly decoded and validated as an
// app's; one without metadata.namespace is in namespace (the operator's,
// identity.DefaultOperatorNamespace when empty). Reading is bounded by lim
// (file and total size, YAML aliases and depth). An empty dir gives a
// Platform without objects.
func LoadPlatform(dir, namespace string, lim limits.Limits) (*identity.Platform, error) {
	if dir == "" {
		return identity.NewPlatform(namespace, nil)
	}
	files, err := platformFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("platform objects: %w", err)
	}
	l := NewLoader(lim)
	var objs []v1beta1.Object
	var probs Problems
	for _, f := range files {
		rel := filepath.Base(f)
		b, err := l.ReadFile(f, rel)
		if err != nil {
			return nil, fmt.Errorf("platform objects: %w", err)
		}
		loaded, err := l.Decode(b, rel)
		if err != nil {
			return nil, fmt.Errorf("platform objects: %w", err)
		}
		for _, o := range loaded {
			if !v1beta1.IsVaultAPIVersion(o.APIVersion()) {
				probs = append(probs, problem(o, "apiVersion", fmt.Errorf("%s %s is not a platform object: only %s objects of kinds %s",
					o.APIVersion(), o.Kind(), v1beta1.APIVersion, strings.Join(identity.PlatformKinds, ", ")), ""))
				continue
			}
			vo, ps := decode(o, namespace)
			if len(ps) > 0 {
				probs = append(probs, ps...)
				continue
			}
			if !slices.Contains(identity.PlatformKinds, vo.obj.GetKind()) {
				probs = append(probs, problem(o, "kind", fmt.Errorf("%s is not a platform kind (%s)",
					vo.obj.GetKind(), strings.Join(identity.PlatformKinds, ", ")), "give it to the app that uses it"))
				continue
			}
			objs = append(objs, vo.obj)
		}
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("platform objects in %s: %w", dir, probs)
	}
	return identity.NewPlatform(namespace, objs)
}

// platformFiles lists dir's YAML and JSON files (not recursive), or dir
// when it is a file.
func platformFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !slices.Contains([]string{".yaml", ".yml", ".json"}, strings.ToLower(filepath.Ext(name))) {
			continue
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p) // follows a ConfigMap's symlinks
		if err != nil {
			return nil, err
		}
		if fi.Mode().IsRegular() {
			files = append(files, p)
		}
	}
	return files, nil // os.ReadDir sorts by name
}
