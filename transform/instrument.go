package transform

import (
	"errors"
	"text/template"
	"text/template/parse"
)

// text/template cannot be interrupted: a loop that calls no function and
// prints nothing ({{ range 1000000000 }}{{ end }}, nested ranges over the
// data, a tree of {{ template }} calls) runs until it ends, whatever Build's
// caller decided. So every parsed template is instrumented before it runs:
//
//   - each range body starts with a call of tickFunc, so every iteration
//     calls a function, and that function ends the execution once the budget
//     is stopped (time limit, context, another limit);
//   - each template body (the key's template and every {{ define }}) starts
//     with enterFunc and ends with leaveFunc, which count the depth of
//     {{ template }} calls: text/template allows 100,000 levels, 64 MiB of
//     stack; maxTemplateDepth is far below and far above any real template.
//
// The inserted actions are {{ if <probe> }}{{ end }}: they print nothing
// (an if costs less than printing an empty string). Their names cannot be written in a
// template: templates are parsed without them ("function not defined"), and
// they are added to the set only after the parse.
const (
	tickFunc  = "_vaultcmp_tick"
	enterFunc = "_vaultcmp_enter"
	leaveFunc = "_vaultcmp_leave"
)

// maxTemplateDepth bounds nested {{ template }} calls in one execution.
const maxTemplateDepth = 1000

// errTooDeep ends an execution whose {{ template }} calls nest too deep.
var errTooDeep = errors.New("template calls nested deeper than 1000 levels")

// probes are the three nodes that instrument inserts (copied each time).
var probes = func() [3]*parse.IfNode {
	stub := func() bool { return false }
	t := template.Must(template.New("").Funcs(template.FuncMap{tickFunc: stub, enterFunc: stub, leaveFunc: stub}).
		Parse("{{ if " + tickFunc + " }}{{ end }}{{ if " + enterFunc + " }}{{ end }}{{ if " + leaveFunc + " }}{{ end }}"))
	n := t.Root.Nodes
	return [3]*parse.IfNode{n[0].(*parse.IfNode), n[1].(*parse.IfNode), n[2].(*parse.IfNode)}
}()

// instrument inserts the probes into every template of set. It must run
// once per parsed set, before the probes' functions are added (budget.probes).
func instrument(set *template.Template) {
	for _, t := range set.Templates() {
		if t.Tree == nil || t.Root == nil {
			continue
		}
		root := t.Root
		instrumentList(root)
		root.Nodes = append([]parse.Node{probes[1].Copy()}, root.Nodes...)
		root.Nodes = append(root.Nodes, probes[2].Copy())
	}
}

// instrumentList puts a tick at the start of every range body under l.
func instrumentList(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.RangeNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
			if n.List != nil {
				n.List.Nodes = append([]parse.Node{probes[0].Copy()}, n.List.Nodes...)
			}
		case *parse.IfNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.WithNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.ListNode:
			instrumentList(n)
		}
	}
}

// probeFuncs are the functions the probes call, bound to bu.
func (bu *budget) probeFuncs() template.FuncMap {
	return template.FuncMap{
		tickFunc: func() (bool, error) {
			if bu.stop.Load() {
				return false, errStopped
			}
			return false, nil
		},
		enterFunc: func() (bool, error) {
			if bu.stop.Load() {
				return false, errStopped
			}
			bu.depth++
			if bu.depth > maxTemplateDepth {
				return false, bu.fail(errTooDeep)
			}
			return false, nil
		},
		leaveFunc: func() bool {
			bu.depth--
			return false
		},
	}
}
