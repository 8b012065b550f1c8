package renderer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
)

// Object is one Kubernetes object as read from the input, with where it came from.
type Object struct {
	Source string         // file (or kustomization) the object came from, relative to the input root
	Index  int            // document number inside Source, from 0
	Data   map[string]any // the object; numbers are json.Number
}

func (o *Object) str(path ...string) string {
	var cur any = o.Data
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

// APIVersion, Kind, Name and Namespace read the object's identity.
func (o *Object) APIVersion() string { return o.str("apiVersion") }
func (o *Object) Kind() string       { return o.str("kind") }
func (o *Object) Name() string       { return o.str("metadata", "name") }
func (o *Object) Namespace() string  { return o.str("metadata", "namespace") }

// Where names the object for messages: "webapp/static.yaml#2 VaultStaticSecret webapp-ns/webapp-config".
func (o *Object) Where() string {
	src := o.Source
	if o.Index > 0 {
		src = fmt.Sprintf("%s#%d", src, o.Index)
	}
	return fmt.Sprintf("%s: %s %s", src, o.Kind(), qualified(o.Namespace(), o.Name()))
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

// IsKustomization tells whether dir holds a kustomization file.
func IsKustomization(dir string) bool {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// Load reads every object under root: a kustomization is built with
// kustomize (load restrictions root-only); any other directory is walked
// recursively for *.yaml, *.yml and *.json files (hidden entries skipped), in
// lexical order; a file stands for itself.
func Load(root string) ([]*Object, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("reading the input: %w", err)
	}
	if !st.IsDir() {
		return loadFile(root, filepath.Base(root))
	}
	if IsKustomization(root) {
		return loadKustomization(root)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && isManifest(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	sort.Strings(files)
	var out []*Object
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		objs, err := loadFile(f, filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

func isManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func loadFile(path, rel string) ([]*Object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	return Decode(b, rel)
}

// Decode splits a multi-document YAML (or JSON) stream into objects. Empty
// documents are skipped; `kind: List` is flattened.
func Decode(b []byte, source string) ([]*Object, error) {
	var out []*Object
	dec := kyaml.NewDecoder(bytes.NewReader(b))
	for i := 0; ; i++ {
		var node kyaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		// YAML 1.2 through kyaml, as kustomize reads it: `n` and `on` stay strings.
		doc, err := kyaml.NewRNode(&node).MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		m, err := toMap(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if len(m) == 0 { // empty or comment-only document
			continue
		}
		if m["kind"] == "List" {
			items, _ := m["items"].([]any)
			for _, it := range items {
				if im, ok := it.(map[string]any); ok {
					out = append(out, &Object{Source: source, Index: i, Data: im})
				}
			}
			continue
		}
		if _, ok := m["kind"].(string); !ok {
			return nil, fmt.Errorf("%s: document %d: not a Kubernetes object (no kind)", source, i)
		}
		out = append(out, &Object{Source: source, Index: i, Data: m})
	}
	return out, nil
}

// toMap converts one JSON document to a map whose numbers are json.Number,
// so that integers of any size survive unchanged.
func toMap(j []byte) (map[string]any, error) {
	j = bytes.TrimSpace(j)
	if len(j) == 0 || bytes.Equal(j, []byte("null")) {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("not an object: %w", err)
	}
	return m, nil
}

func loadKustomization(root string) ([]*Object, error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	k := krusty.MakeKustomizer(opts)
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	rm, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, fmt.Errorf("building the kustomization in %s: %w", root, err)
	}
	var out []*Object
	for i, r := range rm.Resources() {
		j, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: object %d: %w", root, i, err)
		}
		m, err := toMap(j)
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: object %d: %w", root, i, err)
		}
		out = append(out, &Object{Source: "kustomization", Index: i, Data: m})
	}
	return out, nil
}
