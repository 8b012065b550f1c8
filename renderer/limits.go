package renderer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/limits"
)

// Loader reads an app's files within limits: the size of each file and of
// all of them, the nodes YAML aliases add and the nesting of documents. One
// Loader counts for one run (its totals add up across Load, Decode, the
// files kustomize reads and the chart files of Helm). Safe for concurrent use.
type Loader struct {
	Limits  limits.Limits
	input   *limits.Counter
	aliases *limits.Counter
}

// NewLoader returns a Loader with fresh totals.
func NewLoader(l limits.Limits) *Loader {
	return &Loader{
		Limits:  l,
		input:   limits.NewCounter(limits.InputSize, l.InputSize),
		aliases: limits.NewCounter(limits.YAMLAliasNodes, l.YAMLAliasNodes),
	}
}

// InputBytes is what the Loader has read so far.
func (l *Loader) InputBytes() int64 { return l.input.Used() }

// ReadFile reads one file of the repository, refusing it past the file and
// input limits before reading it whole.
func (l *Loader) ReadFile(path, rel string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", safetext.Clean(rel), err)
	}
	defer f.Close()
	return l.read(f, rel)
}

func (l *Loader) read(r io.Reader, rel string) ([]byte, error) {
	what := "file " + safetext.Clean(rel)
	max := l.Limits.FileSize
	var buf bytes.Buffer
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && (max <= 0 || st.Size() <= max) {
			buf.Grow(int(st.Size()) + bytes.MinRead) // one allocation, room to see EOF
		}
	}
	if max > 0 {
		r = io.LimitReader(r, max+1)
	}
	_, err := buf.ReadFrom(r)
	b := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", safetext.Clean(rel), err)
	}
	if max > 0 && int64(len(b)) > max {
		return nil, limits.Exceeded(limits.FileSize, max, what)
	}
	if err := l.charge(int64(len(b)), rel); err != nil {
		return nil, err
	}
	return b, nil
}

// charge counts n bytes read from rel against the input limit.
func (l *Loader) charge(n int64, rel string) error {
	if err := l.input.Add(n, "the input (at "+safetext.Clean(rel)+")"); err != nil {
		return err
	}
	return nil
}

// Check reads and checks (sizes, YAML aliases and depth) the *.yaml, *.yml
// and *.json files under dir, without keeping them: what vaultcmp does
// before it hands a Helm chart to Helm's own loader.
func (l *Loader) Check(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		b, err := l.ReadFile(p, rel)
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			return l.scan(b, rel)
		}
		return nil
	})
	if err != nil {
		var lerr *limits.Error
		if errors.As(err, &lerr) {
			return err
		}
		return fmt.Errorf("checking %s: %w", safetext.Clean(dir), err)
	}
	return nil
}

// scan parses every document of b and checks aliases and depth, without
// building values. A document that does not parse is left to the real
// reader to report.
func (l *Loader) scan(b []byte, rel string) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for i := 0; ; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nil //nolint:nilerr // io.EOF, or a syntax error the real reader reports
		}
		if err := l.checkNode(&n, rel, i); err != nil {
			return err
		}
	}
}

// checkNode counts the nodes that n's aliases add when expanded and its
// nesting depth, aliases followed, in time linear in n's size.
func (l *Loader) checkNode(n *yaml.Node, source string, doc int) error {
	var depth int
	var added int64
	if d, aliases := treeDepth(n, 0); !aliases {
		depth = d // a tree: nothing to expand, and no node to memoize
	} else {
		w := &nodeWalk{size: map[*yaml.Node]int64{}, depth: map[*yaml.Node]int{}, cap: l.Limits.YAMLAliasNodes}
		_, depth, added = w.walk(n)
	}
	where := fmt.Sprintf("%s: document %d", safetext.Clean(source), doc)
	if l.Limits.YAMLDepth > 0 && depth > l.Limits.YAMLDepth {
		return limits.Exceeded(limits.YAMLDepth, int64(l.Limits.YAMLDepth), where)
	}
	if added > 0 {
		return l.aliases.Add(added, where+" (YAML aliases)")
	}
	return nil
}

// treeDepth is n's nesting depth as nodeWalk counts it, and whether n holds
// an alias (then only nodeWalk measures it). Most documents have no alias:
// this walk allocates nothing, where nodeWalk's maps were a tenth of what
// reading a 10,000-object app allocated.
func treeDepth(n *yaml.Node, level int) (int, bool) {
	if n == nil {
		return 0, false
	}
	if n.Kind == yaml.AliasNode || level > 10000 {
		return 0, true
	}
	depth := 0
	for _, c := range n.Content {
		d, aliases := treeDepth(c, level+1)
		if aliases {
			return 0, true
		}
		depth = max(depth, d)
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		depth++
	}
	return depth, false
}

// nodeWalk measures a node graph; sizes saturate above cap so that a bomb
// does not overflow.
type nodeWalk struct {
	size  map[*yaml.Node]int64
	depth map[*yaml.Node]int
	cap   int64
	added int64
}

const saturated = int64(1) << 60

func satAdd(a, b int64) int64 {
	if a > saturated-b {
		return saturated
	}
	return a + b
}

// walk returns the expanded size and depth of n, and adds to w.added the
// nodes its aliases stand for.
func (w *nodeWalk) walk(n *yaml.Node) (int64, int, int64) {
	s, d := w.measure(n, 0)
	return s, d, w.added
}

func (w *nodeWalk) measure(n *yaml.Node, level int) (int64, int) {
	if n == nil {
		return 0, 0
	}
	if level > 10000 { // a cycle, or deeper than yaml.v3 parses
		return saturated, level
	}
	if s, ok := w.size[n]; ok {
		return s, w.depth[n]
	}
	var size int64 = 1
	depth := 0
	switch n.Kind {
	case yaml.AliasNode:
		s, d := w.measure(n.Alias, level+1)
		w.added = satAdd(w.added, s)
		size, depth = s, d
	default:
		for _, c := range n.Content {
			s, d := w.measure(c, level+1)
			size = satAdd(size, s)
			depth = max(depth, d)
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			depth++
		}
	}
	w.size[n], w.depth[n] = size, depth
	return size, depth
}

// FS wraps a kustomize filesystem so that every file kustomize reads is
// checked as the Loader's own files are.
func (l *Loader) FS(f filesys.FileSystem) filesys.FileSystem {
	return &boundedFS{FileSystem: f, l: l}
}

type boundedFS struct {
	filesys.FileSystem
	l *Loader
}

func (b *boundedFS) ReadFile(path string) ([]byte, error) {
	f, err := b.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := b.l.read(f, path)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json", "":
		if err := b.l.scan(data, path); err != nil {
			return nil, err
		}
	}
	return data, nil
}
