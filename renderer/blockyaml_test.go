package renderer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vaultcmp/vaultcmp/limits"
)

// yamlV3Value is what the yaml.v3 path (parseDocument) reads doc to; ok
// false: it refuses doc.
func yamlV3Value(doc []byte, maxDepth int) (any, bool) {
	lim := limits.Default()
	lim.YAMLDepth = maxDepth
	v, err := NewLoader(lim).parseDocument(doc, "doc.yaml", 0)
	return v, err == nil
}

// checkSameAsYAMLv3 fails t when the fast path reads doc to anything but
// what yaml.v3 reads it to; it tells whether the fast path read it.
func checkSameAsYAMLv3(t *testing.T, doc []byte, maxDepth int) bool {
	t.Helper()
	got, ok := readBlockYAML(doc, maxDepth)
	if !ok {
		return false
	}
	want, wantOK := yamlV3Value(doc, maxDepth)
	if !wantOK {
		t.Fatalf("the fast path read %q to %#v; the yaml.v3 path refuses it", doc, got)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nfast path %#v\nyaml.v3   %#v", doc, got, want)
	}
	return true
}

func TestBlockYAMLReads(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want any
	}{
		{"empty", "", nil},
		{"comments only", "# a\n  # b\n\n", nil},
		{"object", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  labels: {}\n", map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "a", "labels": map[string]any{}},
		}},
		{"scalars resolved by yaml.v3", "a: 1\nb: 1.5\nc: true\nd: null\ne: ~\nf: on\ng: 0x10\nh: 2001-12-14\ni: 1_000\nj: .inf\n", map[string]any{
			"a": 1, "b": 1.5, "c": true, "d": nil, "e": nil, "f": "on", "g": 16, "h": "2001-12-14", "i": 1000, "j": yamlV3Inf(),
		}},
		{"quoted", "a: \"1\"\nb: 'it''s'\n'c d': \"x # y\"\ne: '' # empty\n", map[string]any{
			"a": "1", "b": "it's", "c d": "x # y", "e": "",
		}},
		{"comments after values", "a: b # c: d\nc: x#y\n", map[string]any{"a": "b", "c": "x#y"}},
		{"url and colons", "a: http://x:8200/v1\nb: a:b\n", map[string]any{"a": "http://x:8200/v1", "b": "a:b"}},
		{"sequences", "a:\n- x\n- 2\nb:\n  - c: d\n    e: f\n  -\n  - []\nc: []\n", map[string]any{
			"a": []any{"x", 2},
			"b": []any{map[string]any{"c": "d", "e": "f"}, nil, []any{}},
			"c": []any{},
		}},
		{"null values", "a:\nb:\n  c:\n", map[string]any{"a": nil, "b": map[string]any{"c": nil}}},
		{"root sequence", "- a\n- b: c\n", []any{"a", map[string]any{"b": "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := readBlockYAML([]byte(tt.doc), 100)
			if !ok {
				t.Fatalf("the fast path gave up on %q", tt.doc)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
			checkSameAsYAMLv3(t, []byte(tt.doc), 100)
		})
	}
}

func yamlV3Inf() any {
	var v any
	_ = yaml.Unmarshal([]byte(".inf"), &v)
	return v
}

// Everything outside the subset goes to yaml.v3, which owns the errors,
// aliases and limits.
func TestBlockYAMLGivesUp(t *testing.T) {
	for name, doc := range map[string]string{
		"flow mapping":        "a: {b: c}\n",
		"flow sequence":       "a: [b]\n",
		"root flow":           "{\"kind\": \"X\"}\n",
		"anchor":              "a: &x b\n",
		"alias":               "a: *x\n",
		"tag":                 "a: !!str 1\n",
		"literal":             "a: |\n  x\n",
		"folded":              "a: >\n  x\n",
		"multi-line plain":    "a: b\n  c\n",
		"multi-line entry":    "- b\n  c\n",
		"escape":              "a: \"x\\ny\"\n",
		"unclosed quote":      "a: 'x\n",
		"tab":                 "a:\tb\n",
		"CR":                  "a: b\r\n",
		"non-ASCII":           "a: é\n",
		"directive":           "%YAML 1.2\n",
		"document marker":     "a: b\n...\n",
		"duplicate key":       "a: b\na: c\n",
		"merge key":           "<<: {}\n",
		"complex key":         "? a\n: b\n",
		"nested entry":        "- - a\n",
		"scalar root":         "a\n",
		"value with colon":    "a: b: c\n",
		"bad indentation":     "a:\n  b: c\n d: e\n",
		"sequence under keys": "a: b\n- c\n",
		"too deep":            "a:\n  b:\n    c: {}\n",
		"key without space":   "a:b\n",
	} {
		t.Run(name, func(t *testing.T) {
			if v, ok := readBlockYAML([]byte(doc), 3); ok {
				t.Fatalf("the fast path read %q to %#v", doc, v)
			}
		})
	}
}

// The benchmark's objects and the examples' plain documents take the fast
// path, and read as yaml.v3 reads them.
func TestBlockYAMLReadsTheExamples(t *testing.T) {
	files, err := Files(filepath.Join("..", "examples"), ".yaml", ".yml")
	if err != nil {
		t.Fatal(err)
	}
	fast, all := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range splitDocuments(b) {
			all++
			if checkSameAsYAMLv3(t, doc, 100) {
				fast++
			}
		}
	}
	t.Logf("%d of %d documents under examples/ took the fast path", fast, all)
	if fast*2 < all {
		t.Fatalf("only %d of %d documents under examples/ took the fast path", fast, all)
	}
	doc := []byte(benchStatic(7))
	if !checkSameAsYAMLv3(t, doc, 100) {
		t.Fatalf("the fast path gave up on the benchmark's object:\n%s", doc)
	}
}

func FuzzBlockYAML(f *testing.F) {
	f.Add([]byte(benchStatic(1)))
	f.Add([]byte("a:\n- x\n- 'y''z'\nb:\n  - c: \"d\"\n    e: 1.5 # f\n  -\n  - []\nc: {}\n"))
	f.Add([]byte("- a: b\n  c:\n  - d\n- ~\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > 16<<10 {
			return
		}
		checkSameAsYAMLv3(t, doc, 5)
	})
}
