package transform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
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
	if err := errors.Join(undefinedCalls(set)...); err != nil {
		return nil, err
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
	return checkLiteralFormats(kt.name, kt.text)
}

// render executes every non-source template (VSO's renderTemplates) and returns
// the output keys. Templates run in gather order; when two templates render the
// same key, an inline template wins over a SecretTransformation template (VSO's
// documented rule), otherwise the later one wins (VSO's behaviour). The
// templates run within bounds (see Bounds), instrumented so that they stop
// when the budget does (see instrument).
func render(ctx context.Context, g *gathered, in *templateInput, owner string, b Bounds) (map[string][]byte, error) {
	set, err := parseSet(g.templates)
	if err != nil {
		return nil, err
	}
	instrument(set)
	texts := make([]string, 0, len(g.templates))
	for _, kt := range g.templates {
		texts = append(texts, kt.text)
	}
	bu := newBudget(b, owner)
	set.Funcs(bu.bounded(texts))
	set.Funcs(bu.probeFuncs())
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
		out, err := bu.run(ctx, set, kt.name, in, timer)
		if err != nil {
			return nil, renderError(owner, kt, bu.reason())
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

// execFailed is the detail of every execution error that is not a bound:
// text/template's message says where the execution stopped (line, column,
// the action, the sub-template) and Go's and sprig's quote values, so on a
// template over secret data any of it is an oracle (a template that fails
// on line N when the Nth character is "c" reads a password one object at a
// time). Nothing of it is kept.
const execFailed = "execution failed (the cause is not shown: it may depend on the secret data)"

// renderError is the RenderError of one template's failed execution. It
// names the object, the template and its key, and no more: when the budget
// stopped the execution (a limit, the context, the nesting depth, a refused
// address or cycle: fixed messages that name the bound, never where or on
// what it was hit) it keeps that reason; any other error is execFailed.
func renderError(owner string, kt keyedTemplate, reason error) *RenderError {
	if reason != nil {
		return &RenderError{Owner: owner, Template: kt.name, Key: kt.key, Detail: reason.Error(), Err: reason}
	}
	return &RenderError{Owner: owner, Template: kt.name, Key: kt.key, Detail: execFailed}
}

// plainInput is templateInput without its Format method.
type plainInput templateInput

// Format prints the template data as fmt prints the struct it points to. A
// pointer inside a list or a map ({{ list . }}, {{ printf "%d" (list .) }})
// would otherwise print as its address, which changes on every run: a
// template's output must be the same for the same data.
func (in *templateInput) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), plainInput(*in))
}

// undefinedCalls reports every {{ template "x" }} of set whose x the set
// does not define. Known from the text alone, it is said here, with names;
// at execution it would be one more "execution failed".
func undefinedCalls(set *template.Template) []error {
	var errs []error
	for _, t := range set.Templates() {
		if t.Tree == nil {
			continue
		}
		var missing []string
		walkNodes(t.Root, func(n parse.Node) {
			if tn, ok := n.(*parse.TemplateNode); ok {
				if d := set.Lookup(tn.Name); (d == nil || d.Tree == nil) && !slices.Contains(missing, tn.Name) {
					missing = append(missing, tn.Name)
				}
			}
		})
		for _, m := range missing {
			errs = append(errs, fmt.Errorf("template %q calls template %q, which no template defines", t.Name(), m))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// walkNodes calls f on every node under n (actions, control structures and
// their lists; not inside pipelines).
func walkNodes(n parse.Node, f func(parse.Node)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				walkNodes(c, f)
			}
		}
		return
	case *parse.IfNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	case *parse.RangeNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	case *parse.WithNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	}
	f(n)
}
