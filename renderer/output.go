package renderer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// WriteYAML writes objs as a multi-document YAML stream. Keys are sorted, so
// the same objects always give the same bytes. Objects are encoded
// concurrently, all of them before anything is written.
func WriteYAML(w io.Writer, objs []map[string]any) error {
	out, err := encodeOutput(objs, nil)
	if err != nil {
		return err
	}
	_, err = out.WriteTo(w)
	return err
}

// Output is a rendered app as YAML documents, encoded and held until it is
// written. It owns the output's fast path, and keeps it to three rules:
//
//   - fail closed: every document is encoded before a byte is written, so an
//     object that does not encode (or an output over the limit, which the
//     caller checks with Len) leaves the writer untouched;
//   - one copy: the documents are the only copy of the output; WriteTo
//     streams them to the writer (stdout through a bufio.Writer) instead of
//     joining them into one buffer first;
//   - no idle CPU: Render encodes most documents while Vault reads are in
//     flight (Secrets as they are built, the objects no rollout annotation
//     can touch); Encode does the rest concurrently.
type Output struct {
	docs [][]byte // one YAML document each, with its leading "---"
	size int64
}

// Encode encodes the whole output, or fails with nothing encoded.
func (r *Result) Encode() (*Output, error) {
	return encodeOutput(r.objects, r.encoded)
}

// encodeOutput encodes objs, taking encoded[i] where it is non-nil.
func encodeOutput(objs []map[string]any, encoded [][]byte) (*Output, error) {
	docs := make([][]byte, len(objs))
	errs := make([]error, len(objs))
	parallel(len(objs), func(i int) {
		if i < len(encoded) && encoded[i] != nil {
			docs[i] = encoded[i]
			return
		}
		docs[i], errs[i] = encodeObject(objs[i])
		if errs[i] != nil {
			errs[i] = fmt.Errorf("encoding object %d: %w", i, errs[i])
		}
	})
	out := &Output{docs: docs}
	for i := range docs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out.size += int64(len(docs[i]))
	}
	return out, nil
}

// Len is the size of the output in bytes.
func (o *Output) Len() int64 { return o.size }

// WriteTo writes the documents in order. Give it a buffered writer: it
// makes one Write per document.
func (o *Output) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, d := range o.docs {
		m, err := w.Write(d)
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("writing the output: %w", err)
		}
	}
	return n, nil
}

// encodeObject is one YAML document, with its leading "---".
func encodeObject(obj map[string]any) ([]byte, error) {
	if data, ok := secretData(obj); ok {
		b := scratch.Get().(*bytes.Buffer)
		defer scratch.Put(b)
		b.Reset()
		b.WriteString("---\n")
		if writePlainSecret(b, obj, data) {
			// The output holds every document until it is written: keep
			// each at its size, not a growing buffer's capacity.
			return bytes.Clone(b.Bytes()), nil
		}
	}
	return encodeYAMLv3(obj)
}

// scratch holds the buffers encodeObject writes Secrets in.
var scratch = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeYAMLv3 is encodeObject with yaml.v3.
func encodeYAMLv3(obj map[string]any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("---\n")
	data, fast := secretData(obj)
	if fast {
		// Secrets are most of the output and yaml.v3 spends most of its
		// time on their long base64 values: write `data` directly, values
		// double-quoted (JSON quoting is valid YAML), and the rest with yaml.v3.
		rest := make(map[string]any, len(obj))
		for k, v := range obj {
			if k != "data" {
				rest[k] = v
			}
		}
		obj = rest
	}
	var body bytes.Buffer
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if !fast {
		b.Write(body.Bytes())
		return b.Bytes(), nil
	}
	// `data` sorts right after `apiVersion`, the first line.
	first, after, _ := bytes.Cut(body.Bytes(), []byte("\n"))
	b.Write(first)
	b.WriteByte('\n')
	writeSecretData(&b, data)
	b.Write(after)
	return b.Bytes(), nil
}

// writePlainSecret writes a Secret as encodeObject's yaml.v3 path does,
// byte for byte, without yaml.v3, when it is what Render builds: maps of
// strings that yaml.v3 writes plain (see plainScalar). Most of a render's
// output is such Secrets, and yaml.v3 spent a third of a 10,000-Secret
// render's CPU on them (an encoder, its buffers and reflection per
// document). Anything else (an empty map, a list, a number, a string yaml.v3
// would quote) returns false with b in any state: the caller uses yaml.v3.
// TestPlainSecretIsYAMLv3 holds it to yaml.v3's output.
func writePlainSecret(b *bytes.Buffer, obj map[string]any, data map[string]string) bool {
	keys := yamlSortedKeys(obj)
	// As on the yaml.v3 path: `data` right after the first line, apiVersion.
	if len(keys) == 0 || keys[0] != "apiVersion" {
		return false
	}
	for i, k := range keys {
		if k == "data" {
			continue
		}
		if !writePlainEntry(b, k, obj[k], 0) {
			return false
		}
		if i == 0 {
			writeSecretData(b, data)
		}
	}
	return true
}

// writePlainEntry writes `key: value` at indent, value a plain string or a
// non-empty map of them (recursively).
func writePlainEntry(b *bytes.Buffer, k string, v any, indent int) bool {
	if !plainScalar(k) {
		return false
	}
	for range indent {
		b.WriteByte(' ')
	}
	b.WriteString(k)
	switch v := v.(type) {
	case string:
		if !plainScalar(v) {
			return false
		}
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	case map[string]any:
		if len(v) == 0 {
			return false // yaml.v3 writes {}
		}
		b.WriteString(":\n")
		for _, ck := range yamlSortedKeys(v) {
			if !writePlainEntry(b, ck, v[ck], indent+2) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

// writeSecretData writes `data`, values double-quoted (JSON quoting is valid
// YAML), keys in byte order: what encodeObject has always written.
func writeSecretData(b *bytes.Buffer, data map[string]string) {
	b.WriteString("data:\n")
	for _, k := range slices.Sorted(maps.Keys(data)) {
		writeDataKey(b, k)
		writeQuoted(b, data[k])
		b.WriteByte('\n')
	}
}

// writeDataKey writes the start of an entry of `data`: "  key: ", the key
// quoted unless plainKey.
func writeDataKey(b *bytes.Buffer, k string) {
	b.WriteString("  ")
	if plainKey(k) {
		b.WriteString(k)
	} else {
		b.Write(quoteJSON(k))
	}
	b.WriteString(": ")
}

// writeQuoted writes s double-quoted as JSON does (valid YAML). Secret
// values are base64, whose letters JSON never escapes: they are written as
// they are, without json.Marshal.
func writeQuoted(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !base64Letter(c) && c != '=' {
			b.Write(quoteJSON(s))
			return
		}
	}
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

// base64Letter tells whether c is one of standard base64's 64 letters (not
// its padding).
func base64Letter(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// plainScalar tells whether yaml.v3 writes s (a key or a value) as a plain
// scalar: plainKey's rules, and "/" (annotation keys, owner references).
// Strings starting with a digit are left to yaml.v3 (numbers, dates, base
// 60), and long ones too (line folding).
func plainScalar(s string) bool {
	return len(s) <= 64 && plainString(s, true)
}

// yamlSortedKeys orders a map's keys as yaml.v3 does (its keyList.Less for
// strings: runs of digits compare as numbers, letters before other runes in
// some places); Render's maps have string keys only.
func yamlSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, yamlKeyCmp)
	return keys
}

// yamlKeyCmp is yamlKeyLess as a comparison, for slices.SortFunc.
func yamlKeyCmp(a, b string) int {
	switch {
	case yamlKeyLess(a, b):
		return -1
	case yamlKeyLess(b, a):
		return 1
	}
	return 0
}

// yamlKeyLess is yaml.v3's keyList.Less (sorter.go) for two strings.
func yamlKeyLess(a, b string) bool {
	ar, br := []rune(a), []rune(b)
	digits := false
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			digits = unicode.IsDigit(ar[i])
			continue
		}
		al := unicode.IsLetter(ar[i])
		bl := unicode.IsLetter(br[i])
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			if digits {
				return al
			}
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(ar[j]); j-- {
				if ar[j] != '0' {
					an = 1
					bn = 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(ar[ai]); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(br[bi]); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}

// secretData returns a v1 Secret's data when every value is a string.
func secretData(obj map[string]any) (map[string]string, bool) {
	if obj["apiVersion"] != "v1" || obj["kind"] != "Secret" {
		return nil, false
	}
	m, ok := obj["data"].(map[string]any)
	if !ok || len(m) == 0 {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// plainKey tells whether a Secret key can be written unquoted: it starts
// with a letter or "_" and no YAML 1.1 or 1.2 resolver reads it as anything
// but a string.
func plainKey(k string) bool { return plainString(k, false) }

// plainString is plainKey, with "/" read as "_" when slash (plainScalar's
// rule, without a copy of the string).
func plainString(k string, slash bool) bool {
	under := func(c byte) bool { return c == '_' || slash && c == '/' }
	if k == "" || !(under(k[0]) || ('a' <= k[0] && k[0] <= 'z') || ('A' <= k[0] && k[0] <= 'Z')) {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(under(c) || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')) {
			return false
		}
	}
	for _, w := range yamlWords {
		if len(k) == len(w) && strings.EqualFold(k, w) { // k is ASCII: no allocation, unlike ToLower
			return false
		}
	}
	return true
}

// yamlWords are the plain strings a YAML 1.1 or 1.2 resolver reads as
// booleans or null, in any case.
var yamlWords = []string{"true", "false", "yes", "no", "on", "off", "y", "n", "null"}

func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// isWorkload tells whether obj can be a rollout target (its pod template
// may get annotations after the Secrets are built).
func isWorkload(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	return v1beta1.IsRolloutResourceKind(kind)
}
