package transform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/vaultcmp/vaultcmp/limits"
)

// templateInput is the data templates see; VSO's helpers.SecretInput.
type templateInput struct {
	// Secrets is the Vault data ("fields"), unfiltered: confidential.
	Secrets map[string]any `json:"secrets"`
	// Metadata is the response's "metadata" map (kv-v2 version metadata), or
	// an empty map.
	Metadata map[string]any `json:"metadata"`
	// Annotations and Labels are the owning object's own; nil when it has none.
	Annotations map[string]any `json:"annotations"`
	Labels      map[string]any `json:"labels"`
	// WrapData is the response-wrapping information, if any.
	WrapData map[string]any `json:"wrapData"`
}

// parseSet parses every template, in order, into one shared set (VSO's
// loadTemplates), so that {{template "x"}} works across inline, referenced and
// source templates. It stops at the first error, like VSO.
func parseSet(templates []keyedTemplate) (*template.Template, error) {
	set := newSet()
	for _, kt := range templates {
		if err := parseOne(set, kt); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// newSet returns an empty template set with the function map and the default
// missingkey option (a missing map key prints "<no value>"; use get for "").
func newSet() *template.Template {
	return template.New("").Funcs(funcMap)
}

func parseOne(set *template.Template, kt keyedTemplate) error {
	// Parse errors quote only template text (from git), never Vault data.
	if _, err := set.New(kt.name).Parse(kt.text); err != nil {
		return fmt.Errorf("parse error: %w", err)
	}
	return nil
}

// render executes every non-source template (VSO's renderTemplates) and returns
// the output keys. Templates run in gather order; when two templates render the
// same key, an inline template wins over a SecretTransformation template (VSO's
// documented rule), otherwise the later one wins (VSO's behaviour). The
// templates run within bounds (see Bounds).
func render(ctx context.Context, g *gathered, in *templateInput, owner string, b Bounds) (map[string][]byte, error) {
	set, err := parseSet(g.templates)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(g.templates))
	texts := make([]string, 0, len(g.templates))
	for _, kt := range g.templates {
		names = append(names, kt.name)
		texts = append(texts, kt.text)
	}
	bu := newBudget(b, owner)
	set.Funcs(bu.bounded(texts))
	var timer <-chan time.Time
	if b.Time > 0 {
		t := time.NewTimer(b.Time)
		defer t.Stop()
		timer = t.C
	}
	data := map[string][]byte{}
	inline := map[string]bool{}
	for _, kt := range g.templates {
		if kt.isSource() {
			continue
		}
		out, err, panicked := bu.run(ctx, set, kt.name, in, timer)
		var lerr *limits.Error
		switch {
		case errors.As(err, &lerr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			return nil, &RenderError{Owner: owner, Template: kt.name, Key: kt.key, Detail: err.Error(), Err: err}
		case panicked:
			return nil, &RenderError{Owner: owner, Template: kt.name, Key: kt.key, Detail: "panic during execution: <redacted>"}
		case err != nil:
			return nil, &RenderError{Owner: owner, Template: kt.name, Key: kt.key, Detail: redact(err, names)}
		}
		if inline[kt.key] && !kt.inline {
			continue
		}
		// Empty output is an empty value, not nil (which JSON-encodes as null).
		if out == nil {
			out = []byte{}
		}
		data[kt.key] = out
		inline[kt.key] = kt.inline
	}
	return data, nil
}

// execute runs one template without bounds. Its error is already redacted.
func execute(set *template.Template, name string, in *templateInput, names []string) (out []byte, err error) {
	defer func() {
		// text/template re-panics runtime errors that happen outside function
		// calls; the panic value may quote data.
		if p := recover(); p != nil {
			out, err = nil, errors.New("panic during execution: <redacted>")
		}
	}()
	var w bytes.Buffer
	if err := set.ExecuteTemplate(&w, name, in); err != nil {
		return nil, errors.New(redact(err, names))
	}
	// Empty output is an empty value, not nil (which JSON-encodes as null).
	return append([]byte{}, w.Bytes()...), nil
}

// locationRe matches what follows "template: <name>:" in an execution error.
var locationRe = regexp.MustCompile(`^(\d+)(?::(\d+))?: executing `)

// fnNameRe matches a function-call failure; the name is checked against the
// known functions before it is reported.
var fnNameRe = regexp.MustCompile(`>: error calling ([A-Za-z0-9_]+): `)

// errorKinds are the fixed descriptions that redact may report. Each is looked
// for right after the "at <node>: " part; only the description is kept, never
// the text after it. VSO's maybeRedactError keeps the first three with
// "<redacted>"; vaultcmp redacts every execution error.
var errorKinds = []string{
	"range can't iterate over",
	"range over send-only channel",
	"if/with can't use",
	"can't evaluate field",
	"wrong type for value",
	"wrong number of args",
	"nil pointer evaluating",
	"map has no entry for key",
	"invalid value",
	"incompatible types for comparison",
	"can't call method/function",
	"can't give argument to non-function",
	"nil is not a command",
	"cannot index",
	"index of untyped nil",
	"can't index item of type",
	"template", // template "x" not defined
}

// redact turns a text/template execution error into a message without data:
// "template: <name>:<line>:<col>: executing "<template>": <kind> <redacted>".
// Only template names (which come from the manifests), positions, function
// names from the function map and the fixed errorKinds are kept.
func redact(err error, names []string) string {
	msg := err.Error()
	var b strings.Builder
	b.WriteString("template: ")

	// Location: the name is one of ours (longest first, as one name may be a
	// prefix of another), then digits.
	byLen := slices.Clone(names)
	slices.SortFunc(byLen, func(a, b string) int { return len(b) - len(a) })
	located := false
	for _, n := range byLen {
		p := "template: " + n + ":"
		if !strings.HasPrefix(msg, p) {
			continue
		}
		if m := locationRe.FindStringSubmatch(msg[len(p):]); m != nil {
			b.WriteString(n + ":" + m[1])
			if m[2] != "" {
				b.WriteString(":" + m[2])
			}
			located = true
			break
		}
	}
	if !located {
		b.WriteString("<unknown location>")
	}

	var ee template.ExecError
	if errors.As(err, &ee) {
		fmt.Fprintf(&b, ": executing %q", ee.Name)
	}
	b.WriteString(": ")
	b.WriteString(errorKind(msg))
	b.WriteString(" <redacted>")
	return b.String()
}

// errorKind picks the fixed description whose "at <node>: " marker comes first
// in msg. The node text comes from the template source and precedes the
// data-bearing part, so the first marker is the real one unless the node text
// itself contains a marker; either way only fixed text is returned.
func errorKind(msg string) string {
	best, bestAt := "execution error", len(msg)+1
	if m := fnNameRe.FindStringSubmatchIndex(msg); m != nil {
		fn := msg[m[2]:m[3]]
		if _, ok := funcMap[fn]; ok || slices.Contains(builtinFuncs, fn) {
			best, bestAt = "error calling "+fn+":", m[0]
		} else {
			best, bestAt = "error calling a function:", m[0]
		}
	}
	for _, kind := range errorKinds {
		if i := strings.Index(msg, ">: "+kind); i >= 0 && i < bestAt {
			best, bestAt = kind, i
		}
	}
	if best == "template" {
		best = "template error:"
		if strings.HasSuffix(msg, " not defined") {
			best = "template not defined:"
		}
	}
	return best
}
