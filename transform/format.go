package transform

import (
	"errors"
	"fmt"
	"reflect"
	"text/template/parse"
	"unicode/utf8"
)

// A template's output must be the same for the same data: generate runs on
// every refresh of an Argo CD app, and the companion compares what it built
// with what it wrote. An address is different on every run, so no
// formatting function may print one.

// ErrAddress refuses a formatting call that would print an address: the %p
// verb, or a pointer, channel or function among the values formatted.
var ErrAddress = errors.New("templates may not format addresses: the %p verb and pointer values are refused (the output would change on every run)")

// inputType is the type of the template data (.), which formats itself
// without its address (templateInput.Format).
var inputType = reflect.TypeFor[*templateInput]()

var (
	formatterType = reflect.TypeFor[fmt.Formatter]()
	stringerType  = reflect.TypeFor[fmt.Stringer]()
	errType       = reflect.TypeFor[error]()
)

// checkFormat refuses a call of a formatting function (print, printf,
// println) that would print an address: printf with a %p verb, and any value
// that holds a pointer printf could print as a number (%d of a pointer in a
// list is its address). print and println format with %v, which prints a
// pointer that is a fmt.Stringer or an error through its method, so they
// refuse only the others. The sprig functions that format (toString, cat,
// join, quote...) all use %v or %s; the only pointers templates can reach are
// the data (.), which formats itself, and semver's results, which are
// Stringers.
func checkFormat(name string, args []reflect.Value) error {
	switch name {
	case "printf":
		if len(args) > 0 {
			if f, ok := indirect(args[0]).Interface().(string); ok && hasPointerVerb(f) {
				return fmt.Errorf("printf: %w", ErrAddress)
			}
		}
		for _, a := range args[min(1, len(args)):] {
			if holdsAddress(a, false) {
				return fmt.Errorf("printf: %w", ErrAddress)
			}
		}
	case "print", "println":
		for _, a := range args {
			if holdsAddress(a, true) {
				return fmt.Errorf("%s: %w", name, ErrAddress)
			}
		}
	}
	return nil
}

// hasPointerVerb reports whether format has a %p verb (with any flags, width,
// precision or argument index: %p, %#p, %-8p, %[2]p, %*p...).
func hasPointerVerb(format string) bool {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		// Flags, width, precision, argument indexes.
		for i < len(format) && isVerbPrefix(format[i]) {
			if format[i] == '[' {
				for i < len(format) && format[i] != ']' {
					i++
				}
			}
			i++
		}
		if i >= len(format) {
			return false
		}
		r, _ := utf8.DecodeRuneInString(format[i:])
		if r == 'p' {
			return true
		}
	}
	return false
}

func isVerbPrefix(c byte) bool {
	switch c {
	case '+', '-', '#', ' ', '0', '.', '*', '[':
		return true
	}
	return c >= '1' && c <= '9'
}

// holdsAddress reports whether v holds, at any depth up to maxValueDepth, a
// value fmt would print as an address: a channel, a function, an unsafe
// pointer, or a pointer other than the template data's (with stringers, also
// a pointer that is a fmt.Stringer or an error).
func holdsAddress(v reflect.Value, stringers bool) bool {
	seen := map[uintptr]bool{}
	var visit func(v reflect.Value, depth int) bool
	visit = func(v reflect.Value, depth int) bool {
		if depth > maxValueDepth {
			return false // sizeOf refuses it
		}
		for v.IsValid() && v.Kind() == reflect.Interface && !v.IsNil() {
			v = v.Elem()
		}
		if !v.IsValid() {
			return false
		}
		switch v.Kind() {
		case reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return !v.IsNil()
		case reflect.Pointer:
			if v.IsNil() {
				return false
			}
			t := v.Type()
			switch {
			case t == inputType || t.Implements(formatterType):
			case stringers && (t.Implements(stringerType) || t.Implements(errType)):
			default:
				return true
			}
			if seen[v.Pointer()] {
				return false
			}
			seen[v.Pointer()] = true
			return visit(v.Elem(), depth+1)
		case reflect.Slice, reflect.Array:
			if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
				return false
			}
			for i := range v.Len() {
				if visit(v.Index(i), depth+1) {
					return true
				}
			}
		case reflect.Map:
			if v.IsNil() || seen[v.Pointer()] {
				return false
			}
			seen[v.Pointer()] = true
			it := v.MapRange()
			for it.Next() {
				if visit(it.Key(), depth+1) || visit(it.Value(), depth+1) {
					return true
				}
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if visit(v.Field(i), depth+1) {
					return true
				}
			}
		}
		return false
	}
	return visit(v, 0)
}

// checkLiteralFormats refuses, before any data, a printf in text whose
// format is a literal with a %p verb (a format from data is refused when it
// runs). Parse errors are left to the real parse.
func checkLiteralFormats(name, text string) error {
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "", "", trees); err != nil {
		return nil //nolint:nilerr // the real parse (parseOne) reports it
	}
	var found bool
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			if len(n.Args) > 1 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "printf" {
					if s, ok := n.Args[1].(*parse.StringNode); ok && hasPointerVerb(s.Text) {
						found = true
					}
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		}
	}
	for _, tr := range trees {
		walk(tr.Root)
	}
	if found {
		return fmt.Errorf("template %q: printf: %w", name, ErrAddress)
	}
	return nil
}
