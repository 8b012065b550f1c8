package renderer

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/limits"
)

// Object is one Kubernetes object as read from the input, with where it came from.
type Object struct {
	Source string // file (or kustomization) the object came from, relative to the input root
	Index  int    // document number inside Source, from 0
	// Data is the object; nil for a Vault object read by Load or Decode,
	// which comes decoded (see decoded).
	Data map[string]any

	// id replaces Data once a Vault object is decoded (see Render): what
	// messages name the object by, and nothing else.
	id *objectID
	// decoded is a Vault object decoded by the loader as it read it (or
	// the error), for Render: the loader's workers decode each one and drop
	// its Data at once, so that a large app is never held whole as maps
	// (the maps of an object weigh about four times its typed form). nil:
	// Render decodes Data (objects the caller built).
	decoded *decodedVault
}

// decodedVault is the result of decoding a Vault object.
type decodedVault struct {
	obj v1beta1.Object
	err error
}

// decodeVault decodes o now if it is a Vault object, and drops its Data.
func (o *Object) decodeVault() {
	if o.Data == nil || !v1beta1.IsVaultAPIVersion(o.APIVersion()) {
		return
	}
	obj, err := v1beta1.DecodeValue(o.Data)
	o.decoded = &decodedVault{obj: obj, err: err}
	o.dropData()
}

// objectID is an object's apiVersion, kind, name and namespace.
type objectID struct{ apiVersion, kind, name, namespace string }

// dropData keeps only o's identity: the input of a decoded Vault object is
// not read again, and a large app would hold it twice.
func (o *Object) dropData() {
	if o.id != nil {
		return
	}
	o.id = &objectID{apiVersion: o.APIVersion(), kind: o.Kind(), name: o.Name(), namespace: o.Namespace()}
	o.Data = nil
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
func (o *Object) APIVersion() string {
	if o.id != nil {
		return o.id.apiVersion
	}
	return o.str("apiVersion")
}

func (o *Object) Kind() string {
	if o.id != nil {
		return o.id.kind
	}
	return o.str("kind")
}

func (o *Object) Name() string {
	if o.id != nil {
		return o.id.name
	}
	return o.str("metadata", "name")
}

func (o *Object) Namespace() string {
	if o.id != nil {
		return o.id.namespace
	}
	return o.str("metadata", "namespace")
}

// Where names the object for messages: "webapp/static.yaml#2 VaultStaticSecret webapp-ns/webapp-config".
func (o *Object) Where() string {
	src := o.Source
	if o.Index > 0 {
		src = fmt.Sprintf("%s#%d", src, o.Index)
	}
	return fmt.Sprintf("%s: %s %s", safetext.Clean(src), safetext.Clean(o.Kind()), safetext.Clean(names.Qualified(o.Namespace(), o.Name())))
}

// IsKustomization tells whether dir holds a kustomization file.
func IsKustomization(dir string) bool { return kustomizationFile(dir) != "" }

// kustomizationFile is the path of dir's kustomization file, or "".
func kustomizationFile(dir string) string {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
			return filepath.Join(dir, n)
		}
	}
	return ""
}

// Load reads every object under root: a kustomization is built with
// kustomize (load restrictions root-only); any other directory is walked
// recursively for *.yaml, *.yml and *.json files (hidden entries skipped), in
// lexical order; a file stands for itself. The default limits apply (see
// Loader).
func Load(root string) ([]*Object, error) {
	return NewLoader(limits.Default()).Load(root)
}

// Load is the package's Load within l's limits.
func (l *Loader) Load(root string) ([]*Object, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("reading the input: %w", err)
	}
	if !st.IsDir() {
		return l.loadFile(root, filepath.Base(root))
	}
	if IsKustomization(root) {
		return l.loadKustomization(root)
	}
	files, err := Files(root, ".yaml", ".yml", ".json")
	if err != nil {
		return nil, err
	}
	var out []*Object
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		objs, err := l.loadFile(f, filepath.ToSlash(rel))
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// Files lists the regular files under root whose extension (any case) is
// one of exts, in lexical order; hidden files and directories are skipped.
func Files(root string, exts ...string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && slices.Contains(exts, strings.ToLower(filepath.Ext(p))) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	sort.Strings(files)
	return files, nil
}

func (l *Loader) loadFile(path, rel string) ([]*Object, error) {
	b, err := l.ReadFile(path, rel)
	if err != nil {
		return nil, err
	}
	return l.Decode(b, rel)
}

// Decode splits a multi-document YAML (or JSON) stream into objects. Empty
// documents are skipped; `kind: List` is flattened. YAML 1.2 rules apply, as
// in kustomize: `n` and `on` are strings, and so are unquoted dates.
// Documents are parsed concurrently. The default limits apply (see Loader).
func Decode(b []byte, source string) ([]*Object, error) {
	return NewLoader(limits.Default()).Decode(b, source)
}

// Decode is the package's Decode within l's limits (aliases and depth; the
// caller has checked the size of b).
func (l *Loader) Decode(b []byte, source string) ([]*Object, error) {
	docs := splitDocuments(b)
	parsed := make([][]*Object, len(docs))
	errs := make([]error, len(docs))
	parallel(len(docs), func(i int) {
		parsed[i], errs[i] = l.decodeDocument(docs[i], source, i)
		for _, o := range parsed[i] {
			o.decodeVault()
		}
	})
	var out []*Object
	for i := range docs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, parsed[i]...)
	}
	return out, nil
}

// splitDocuments cuts a stream at its "---" lines. A line starting with
// "---" at column 0 is always a document marker in YAML: content of block
// scalars is indented.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i < len(b); {
		end := bytes.IndexByte(b[i:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += i
		}
		line := b[i:end]
		if bytes.HasPrefix(line, []byte("---")) && (len(line) == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r') {
			if i > 0 {
				docs = append(docs, b[start:i])
			}
			start = end + 1
			if start > len(b) {
				start = len(b)
			}
		}
		i = end + 1
	}
	return append(docs, b[start:])
}

func (l *Loader) decodeDocument(doc []byte, source string, i int) ([]*Object, error) {
	v, ok := readBlockYAML(doc, l.Limits.YAMLDepth)
	if !ok {
		var err error
		if v, err = l.parseDocument(doc, source, i); err != nil {
			return nil, err
		}
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: document %d: not a Kubernetes object", safetext.Clean(source), i)
	}
	if len(m) == 0 {
		return nil, nil
	}
	if m["kind"] == "List" {
		var out []*Object
		items, _ := m["items"].([]any)
		for _, it := range items {
			if im, ok := it.(map[string]any); ok {
				out = append(out, &Object{Source: source, Index: i, Data: im})
			}
		}
		return out, nil
	}
	if _, ok := m["kind"].(string); !ok {
		return nil, fmt.Errorf("%s: document %d: not a Kubernetes object (no kind)", safetext.Clean(source), i)
	}
	return []*Object{{Source: source, Index: i, Data: m}}, nil
}

// parseDocument reads a document with yaml.v3, within l's limits (aliases
// and depth): what readBlockYAML leaves, and every error.
func (l *Loader) parseDocument(doc []byte, source string, i int) (any, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(doc, &node); err != nil {
		return nil, fmt.Errorf("%s: document %d: %w", safetext.Clean(source), i, err)
	}
	if err := l.checkNode(&node, source, i); err != nil {
		return nil, err
	}
	if node.Kind == 0 {
		return nil, nil // empty or comment-only document
	}
	v, err := nodeValue(&node)
	if err != nil {
		return nil, fmt.Errorf("%s: document %d: %w", safetext.Clean(source), i, err)
	}
	return v, nil
}

// nodeValue converts a YAML node to plain Go values (map[string]any, []any,
// string, int, float64, bool, nil). Strings and timestamps stay the text
// they were written as.
func nodeValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0])
	case yaml.AliasNode:
		return nodeValue(n.Alias)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				var merged map[string]any
				if err := n.Decode(&merged); err != nil {
					return nil, err
				}
				return merged, nil
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping keys must be strings", k.Line)
			}
			v, err := nodeValue(vn)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// scalarValue is a scalar node's value: its text for strings, timestamps
// and binary; otherwise what yaml.v3 resolves it to (nil, bool, int,
// float64).
func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	}
	var v any
	c := *n // Decode keeps its node: a copy lets readBlockYAML's stay on the stack
	if err := c.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// parallel runs f(0..n-1) on every CPU.
func parallel(n int, f func(int)) { parallelN(n, runtime.GOMAXPROCS(0), f) }

// jobWorkers is how many VaultStaticSecrets render at once. A job mostly
// waits for Vault, and the Vault session bounds the requests in flight
// (--concurrency, 16 by default): 64 keep it busy even when several jobs wait
// for one deduplicated read. A goroutine per job (10,000 for 10,000 Secrets)
// was no faster and spent a tenth of the CPU growing stacks.
const jobWorkers = 64

// parallelN runs f(0..n-1) on at most workers goroutines (indices taken in order).
func parallelN(n, workers int, f func(int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
}

func (l *Loader) loadKustomization(root string) ([]*Object, error) {
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	k := krusty.MakeKustomizer(opts)
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	rm, err := k.Run(l.FS(filesys.MakeFsOnDisk()), abs)
	if err != nil {
		var lerr *limits.Error
		if errors.As(err, &lerr) {
			return nil, fmt.Errorf("building the kustomization in %s: %w", safetext.Clean(root), lerr)
		}
		return nil, fmt.Errorf("building the kustomization in %s: %w", safetext.Clean(root), err)
	}
	var out []*Object
	for i, r := range rm.Resources() {
		if err := l.checkNode(r.Document(), "kustomization", i); err != nil {
			return nil, err
		}
		v, err := nodeValue(r.Document())
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: object %d: %w", root, i, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("kustomization %s: object %d is not an object", root, i)
		}
		out = append(out, &Object{Source: "kustomization", Index: i, Data: m})
	}
	return out, nil
}
