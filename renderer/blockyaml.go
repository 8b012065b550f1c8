package renderer

import (
	"bytes"
	"sync"

	"go.yaml.in/yaml/v3"
)

// blockReader reads the plain block YAML that nearly every Kubernetes
// manifest is written in — block mappings and sequences, one-line plain,
// 'single' and "double" quoted scalars (without escapes), the empty {} and
// [], comments — straight into the values nodeValue builds, without
// yaml.v3's token queue and node tree.
//
// Why it exists: on a 10,000-object app yaml.v3 took 40% of a render's CPU
// and two thirds of everything the render allocated (make bench), and the
// objects of a large app are exactly this plain YAML.
//
// It is a fast path, not a parser: on anything outside that subset —
// other flow collections, anchors, aliases, tags, block scalars, scalars
// over several lines, escapes, tabs, carriage returns, bytes outside
// printable ASCII, directives, document markers, duplicate or complex or
// merge keys, nesting deeper than the limit, anything yaml.v3 would refuse —
// it gives up (ok false) and the document goes to yaml.v3, which owns every
// error message and every alias and depth limit. Scalars are resolved by
// yaml.v3 itself (scalarValue), so `on`, `0x1F`, `1_000` or `2001-12-14`
// mean what they mean there. FuzzBlockYAML checks that whatever it accepts,
// yaml.v3 reads to the same value.
type blockReader struct {
	lines    []blockLine
	i        int // the next line to read
	maxDepth int // the limit on nesting; 0: none
}

// blockLine is one line with content: its indentation and the rest.
type blockLine struct {
	indent int
	text   []byte // never empty, never a comment, no trailing spaces
}

// readBlockYAML reads doc, one YAML document without its "---" line. ok
// false: not in the subset, use yaml.v3. A document without content reads
// as nil.
func readBlockYAML(doc []byte, maxDepth int) (v any, ok bool) {
	lines := linePool.Get().(*[]blockLine)
	r := blockReader{maxDepth: maxDepth, lines: (*lines)[:0]}
	defer func() {
		clear(r.lines) // no reference to doc stays in the pool
		*lines = r.lines[:0]
		linePool.Put(lines)
	}()
	if !r.split(doc) {
		return nil, false
	}
	if len(r.lines) == 0 {
		return nil, true
	}
	v, ok = r.block(1)
	if !ok || r.i != len(r.lines) {
		return nil, false
	}
	return v, true
}

// linePool holds the line slices of readBlockYAML, one per document read
// at a time.
var linePool = sync.Pool{New: func() any { return new([]blockLine) }}

// split cuts doc into content lines; false on a byte or line outside the
// subset.
func (r *blockReader) split(doc []byte) bool {
	for _, c := range doc {
		if (c < ' ' && c != '\n') || c >= 0x7f {
			return false // tabs, CR, control bytes, non-ASCII: yaml.v3 knows the rules
		}
	}
	for len(doc) > 0 {
		text, rest, _ := bytes.Cut(doc, []byte{'\n'})
		doc = rest
		indent := 0
		for indent < len(text) && text[indent] == ' ' {
			indent++
		}
		text = bytes.TrimRight(text[indent:], " ")
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		if indent == 0 && (text[0] == '%' || bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("..."))) {
			return false // directives and document markers
		}
		r.lines = append(r.lines, blockLine{indent: indent, text: text})
	}
	return true
}

// block reads the mapping or sequence that starts at the next line, at
// that line's indentation, as the depth-th level of nesting.
func (r *blockReader) block(depth int) (any, bool) {
	if r.tooDeep(depth) {
		return nil, false
	}
	ln := r.lines[r.i]
	if isEntry(ln.text) {
		return r.sequence(ln.indent, depth)
	}
	return r.mapping(ln.indent, depth)
}

// tooDeep tells whether a collection at depth is past the limit.
func (r *blockReader) tooDeep(depth int) bool { return r.maxDepth > 0 && depth > r.maxDepth }

// isEntry tells whether a line's text starts a sequence entry.
func isEntry(text []byte) bool {
	return text[0] == '-' && (len(text) == 1 || text[1] == ' ')
}

// mapping reads `key: value` lines at indent.
func (r *blockReader) mapping(indent, depth int) (any, bool) {
	m := map[string]any{}
	for r.i < len(r.lines) {
		ln := r.lines[r.i]
		if ln.indent < indent {
			break
		}
		if ln.indent > indent || isEntry(ln.text) {
			return nil, false // a continuation line, or a sequence where keys are
		}
		key, rest, ok := splitKey(ln.text)
		if !ok {
			return nil, false
		}
		if _, dup := m[key]; dup {
			return nil, false
		}
		r.i++
		var v any
		if len(rest) == 0 {
			v, ok = r.nested(indent, depth+1, true)
		} else {
			v, ok = r.scalar(rest, depth+1)
		}
		if !ok {
			return nil, false
		}
		m[key] = v
	}
	return m, true
}

// sequence reads `- item` lines at indent.
func (r *blockReader) sequence(indent, depth int) (any, bool) {
	s := []any{}
	for r.i < len(r.lines) {
		ln := r.lines[r.i]
		if ln.indent < indent || (ln.indent == indent && !isEntry(ln.text)) {
			break // the parent's next key, for a sequence at its key's indentation
		}
		if ln.indent > indent {
			return nil, false
		}
		rest := bytes.TrimLeft(ln.text[1:], " ")
		var v any
		var ok bool
		switch {
		case len(rest) == 0 || rest[0] == '#':
			r.i++
			v, ok = r.nested(indent, depth+1, false)
		case isEntry(rest):
			return nil, false // "- - x"
		default:
			if _, _, isKey := splitKey(rest); isKey {
				// "- key: value": a mapping whose keys line up with this one.
				r.lines[r.i] = blockLine{indent: indent + len(ln.text) - len(rest), text: rest}
				v, ok = r.block(depth + 1)
			} else {
				r.i++
				v, ok = r.scalar(rest, depth+1)
			}
		}
		if !ok {
			return nil, false
		}
		s = append(s, v)
	}
	return s, true
}

// nested reads the value of a key or entry with nothing after it on its
// line: the block on the lines below, more indented than parent (or, for
// a key, a sequence at the key's own indentation); none is null.
func (r *blockReader) nested(parent, depth int, indentless bool) (any, bool) {
	if r.i == len(r.lines) {
		return nil, true
	}
	ln := r.lines[r.i]
	if ln.indent > parent || (indentless && ln.indent == parent && isEntry(ln.text)) {
		return r.block(depth)
	}
	return nil, true
}

// splitKey cuts `key: rest` (rest without leading spaces or a comment).
func splitKey(text []byte) (key string, rest []byte, ok bool) {
	var k []byte
	switch text[0] {
	case '"', '\'':
		k, rest, ok = quoted(text)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return "", nil, false
		}
		rest = rest[1:]
	default:
		if !plainStart(text) {
			return "", nil, false
		}
		colon := keyColon(text)
		if colon < 0 {
			return "", nil, false
		}
		k, rest = bytes.TrimRight(text[:colon], " "), text[colon+1:]
		if bytes.Contains(k, []byte(" #")) || string(k) == "<<" {
			return "", nil, false // a comment inside, or a merge key
		}
	}
	if len(rest) > 0 && rest[0] != ' ' || len(text)-len(rest) > maxKeyLen {
		return "", nil, false
	}
	rest = bytes.TrimLeft(rest, " ")
	if len(rest) > 0 && rest[0] == '#' {
		rest = nil
	}
	return string(k), rest, true
}

// maxKeyLen bounds a key with its colon: YAML's implicit keys end within
// 1024 characters of where they start.
const maxKeyLen = 1000

// keyColon is the index of the colon that ends a plain key: the first one
// followed by a space or the end of the line; -1 if none.
func keyColon(text []byte) int {
	for i, c := range text {
		if c == ':' && (i+1 == len(text) || text[i+1] == ' ') {
			return i
		}
	}
	return -1
}

// plainStart tells whether text may start a plain scalar in this subset:
// not with an indicator (YAML 1.2 §7.3.3), nor "-", "?" or ":" before a
// space.
func plainStart(text []byte) bool {
	switch text[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-', '?', ':':
		return len(text) > 1 && text[1] != ' '
	}
	return true
}

// quoted reads the quoted scalar text starts with, and what follows it.
// Only single-line scalars without escapes are in the subset.
func quoted(text []byte) (value, rest []byte, ok bool) {
	q := text[0]
	if q == '"' {
		end := bytes.IndexByte(text[1:], '"')
		if end < 0 || bytes.IndexByte(text[1:end+1], '\\') >= 0 {
			return nil, nil, false
		}
		return text[1 : end+1], text[end+2:], true
	}
	var out []byte // the text read so far, when it held '' (one quote)
	start := 1
	for i := 1; i < len(text); i++ {
		if text[i] != '\'' {
			continue
		}
		if i+1 < len(text) && text[i+1] == '\'' {
			out = append(out, text[start:i+1]...)
			i++
			start = i + 1
			continue
		}
		if out == nil {
			return text[1:i], text[i+1:], true
		}
		return append(out, text[start:i]...), text[i+1:], true
	}
	return nil, nil, false
}

// scalar reads a value that shares its key's or entry's line.
func (r *blockReader) scalar(text []byte, depth int) (any, bool) {
	switch text[0] {
	case '"', '\'':
		v, rest, ok := quoted(text)
		if !ok || !onlyComment(rest) {
			return nil, false
		}
		return string(v), true
	case '{', '[':
		if len(text) < 2 || !onlyComment(text[2:]) || r.tooDeep(depth) {
			return nil, false
		}
		switch string(text[:2]) {
		case "{}":
			return map[string]any{}, true
		case "[]":
			return []any{}, true
		}
		return nil, false
	}
	if !plainStart(text) {
		return nil, false
	}
	if i := bytes.Index(text, []byte(" #")); i >= 0 {
		text = bytes.TrimRight(text[:i], " ")
	}
	if bytes.Contains(text, []byte(": ")) || text[len(text)-1] == ':' || string(text) == "<<" {
		return nil, false
	}
	switch string(text) { // the only booleans yaml.v3 resolves (resolve.go)
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Value: string(text)}
	v, err := scalarValue(&n)
	return v, err == nil
}

// onlyComment tells whether what follows a quoted scalar or {} is nothing,
// or spaces and a comment.
func onlyComment(rest []byte) bool {
	if len(rest) == 0 {
		return true
	}
	if rest[0] != ' ' {
		return false
	}
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#'
}
