package transform

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	"github.com/vaultcmp/vaultcmp/limits"
)

// Bounds limit the templates of one Build: a template set written by an app
// team must not be able to take the memory or the CPU of the process that
// renders every team's apps.
//
//   - Time bounds the execution of all templates of one Build. text/template
//     cannot be interrupted, so past Time (or when the context ends) Build
//     returns at once and the execution is told to stop at its next function
//     call or output byte; instrument puts a function call at the start of
//     every range iteration and every {{ template }} call, so every loop
//     reaches one, and the execution's goroutine ends within one iteration.
//   - Output bounds each template's output (a limited writer: text/template
//     stops at the first refused write) and each value a function returns.
//     Functions that build their result from a size argument (until,
//     untilStep, seq, repeat, indent, nindent, replace, regexReplaceAll...)
//     are refused before they allocate.
//   - Work bounds the sum of all values functions return, so that no loop of
//     small allocations adds up to much.
type Bounds struct {
	Time   time.Duration
	Output int64
	Work   int64
}

// BoundsFrom takes the template limits out of l.
func BoundsFrom(l limits.Limits) Bounds {
	return Bounds{Time: l.TemplateTime, Output: l.TemplateOutput, Work: l.TemplateWork}
}

// DefaultBounds are BoundsFrom(limits.Default()).
func DefaultBounds() Bounds { return BoundsFrom(limits.Default()) }

// budget is the state of one Build's execution.
type budget struct {
	b     Bounds
	owner string
	work  *limits.Counter
	stop  atomic.Bool
	mu    sync.Mutex
	err   error // the first limit error
	// depth counts nested template bodies (instrument); only the executing
	// goroutine touches it.
	depth int
}

func newBudget(b Bounds, owner string) *budget {
	return &budget{b: b, owner: owner, work: limits.NewCounter(limits.TemplateWork, b.Work)}
}

// errStopped ends an execution that Build has given up on.
var errStopped = errors.New("template execution stopped")

// errPanicked stands for a panic of the execution (its value may quote data).
var errPanicked = errors.New("panic during execution")

// fail records err as the reason the execution stopped and returns it.
func (bu *budget) fail(err error) error {
	bu.mu.Lock()
	if bu.err == nil {
		bu.err = err
	}
	bu.mu.Unlock()
	bu.stop.Store(true)
	return err
}

func (bu *budget) reason() error {
	bu.mu.Lock()
	defer bu.mu.Unlock()
	return bu.err
}

// what names what a function's result was charged to. It does not name the
// function: which call hit a limit says where the template was, and on a
// template over secret data that is an oracle (see renderError).
func (bu *budget) what(string) string {
	return "a value built by the templates of " + bu.owner
}

// charge counts a value a function returned (or is about to build). A size
// of cyclic or tooDeep refuses the value (sizeOf).
func (bu *budget) charge(fn string, size int64) error {
	if bu.stop.Load() {
		return errStopped
	}
	switch size {
	case cyclic:
		return bu.fail(fmt.Errorf("%w (in the templates of %s)", ErrCycle, bu.owner))
	case tooDeep:
		return bu.fail(fmt.Errorf("%w (in the templates of %s)", ErrTooDeepValue, bu.owner))
	}
	if bu.b.Output > 0 && size > bu.b.Output {
		return bu.fail(limits.Exceeded(limits.TemplateOutput, bu.b.Output, bu.what(fn)))
	}
	if err := bu.work.Add(size, "the values built by the templates of "+bu.owner); err != nil {
		return bu.fail(err)
	}
	return nil
}

// limitedWriter is a template's output, refused past Output bytes.
type limitedWriter struct {
	bu   *budget
	name string
	buf  []byte
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.bu.stop.Load() {
		return 0, errStopped
	}
	if max := w.bu.b.Output; max > 0 && int64(len(w.buf)+len(p)) > max {
		return 0, w.bu.fail(limits.Exceeded(limits.TemplateOutput, max,
			fmt.Sprintf("the output of template %q of %s", w.name, w.bu.owner)))
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// overriddenBuiltins are text/template built-ins that build strings from
// their arguments; bounded versions replace them.
var overriddenBuiltins = template.FuncMap{
	"print":    fmt.Sprint,
	"printf":   fmt.Sprintf,
	"println":  fmt.Sprintln,
	"html":     template.HTMLEscaper,
	"js":       template.JSEscaper,
	"urlquery": template.URLQueryEscaper,
}

// bounded returns bounded versions of the functions that the template texts
// may call (every function whose name appears in one of them).
func (bu *budget) bounded(texts []string) template.FuncMap {
	m := template.FuncMap{}
	add := func(name string, fn any) {
		for _, t := range texts {
			if strings.Contains(t, name) {
				m[name] = bu.wrap(name, fn)
				return
			}
		}
	}
	for name, fn := range funcMap {
		add(name, fn)
	}
	for name, fn := range overriddenBuiltins {
		add(name, fn)
	}
	return m
}

var errorType = reflect.TypeFor[error]()

// wrap returns fn, of the same type, checking its arguments before the call
// and charging its result after it.
func (bu *budget) wrap(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		fail := func(err error) []reflect.Value {
			if t.NumOut() == 2 && t.Out(1) == errorType {
				return []reflect.Value{reflect.Zero(t.Out(0)), reflect.ValueOf(&err).Elem()}
			}
			panic(err) // text/template turns a function's panic into its error
		}
		if bu.stop.Load() {
			return fail(errStopped)
		}
		flat := args
		if t.IsVariadic() && len(args) > 0 {
			last := args[len(args)-1]
			flat = append([]reflect.Value{}, args[:len(args)-1]...)
			for i := range last.Len() {
				flat = append(flat, last.Index(i))
			}
		}
		if err := checkFormat(name, flat); err != nil {
			return fail(bu.fail(fmt.Errorf("%w (in the templates of %s)", err, bu.owner)))
		}
		if pre, ok := preSize(name, flat, bu.b.Output); ok {
			if err := bu.charge(name, pre); err != nil {
				return fail(err)
			}
		}
		var out []reflect.Value
		if t.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		if len(out) > 0 {
			if err := bu.charge(name, sizeOf(out[0], bu.b.Output)); err != nil {
				return fail(err)
			}
		}
		return out
	}).Interface()
}

// preSize is the size a function's result will have, for the functions that
// compute it from their arguments, known before the call.
func preSize(name string, args []reflect.Value, max int64) (int64, bool) {
	num := func(i int) float64 {
		if i >= len(args) {
			return 0
		}
		return toFloat(args[i])
	}
	str := func(i int) string {
		if i >= len(args) {
			return ""
		}
		s, _ := indirect(args[i]).Interface().(string)
		return s
	}
	const elem = 16 // bytes per list element
	switch name {
	case "until":
		return sat(math.Abs(num(0)) * elem), true
	case "untilStep":
		step := num(2)
		if step == 0 {
			return 0, true
		}
		return sat(math.Abs((num(1)-num(0))/step) * elem), true
	case "seq":
		// seq LAST, seq FIRST LAST, seq FIRST INC LAST: digits per number.
		var n float64
		switch len(args) {
		case 1:
			n = math.Abs(num(0))
		case 2:
			n = math.Abs(num(1) - num(0))
		case 3:
			if inc := num(1); inc != 0 {
				n = math.Abs((num(2) - num(0)) / inc)
			}
		}
		return sat(n * 21), true
	case "repeat":
		return sat(num(0) * float64(len(str(1)))), true
	case "indent", "nindent":
		s := str(1)
		return sat(float64(len(s)) + (num(0)+1)*float64(strings.Count(s, "\n")+1)), true
	case "replace":
		// replace OLD NEW SRC
		old, nw, src := str(0), str(1), str(2)
		n := strings.Count(src, old)
		return sat(float64(len(src)) + float64(n)*float64(len(nw))), true
	case "regexReplaceAll", "mustRegexReplaceAll", "regexReplaceAllLiteral", "mustRegexReplaceAllLiteral":
		// regexReplaceAll REGEX SRC REPL; each $ reference may expand to SRC.
		re, err := regexp.Compile(str(0))
		if err != nil {
			return 0, false
		}
		src, repl := str(1), str(2)
		n := float64(len(re.FindAllStringIndex(src, -1)))
		per := float64(len(repl)) + float64(strings.Count(repl, "$"))*float64(len(src))
		return sat(float64(len(src)) + n*per), true
	}
	switch name {
	case "html", "js", "urlquery":
		// At most 6 bytes out per byte in (js: \uXXXX).
		var total int64
		for _, a := range args {
			n := sizeOf(a, max)
			if n < 0 {
				return n, true
			}
			total += 6 * n
		}
		return total, true
	case "join", "cat", "print", "printf", "println", "toJson", "mustToJson", "toPrettyJson", "mustToPrettyJson",
		"toRawJson", "mustToRawJson", "toString", "toStrings", "concat", "append", "mustAppend", "push", "mustPush",
		"prepend", "mustPrepend", "b64enc", "b32enc", "quote", "squote", "wrap", "wrapWith", "list", "tuple":
		var total int64
		for _, a := range args {
			n := sizeOf(a, max)
			if n < 0 {
				return n, true
			}
			total += n
			if max > 0 && total > max {
				break
			}
		}
		return total, true
	}
	return 0, false
}

func sat(f float64) int64 {
	if f > math.MaxInt64/2 || math.IsNaN(f) {
		return math.MaxInt64 / 2
	}
	return int64(f)
}

func indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		v = v.Elem()
	}
	return v
}

func toFloat(v reflect.Value) float64 {
	v = indirect(v)
	if !v.IsValid() {
		return 0
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.String:
		var f float64
		if _, err := fmt.Sscan(v.String(), &f); err == nil {
			return f
		}
	}
	if s, ok := v.Interface().(fmt.Stringer); ok { // json.Number
		var f float64
		if _, err := fmt.Sscan(s.String(), &f); err == nil {
			return f
		}
	}
	return 0
}

// sizeOf's refusals, out of the range of sizes.
const (
	cyclic  int64 = -1 // the value contains itself
	tooDeep int64 = -2 // the value nests deeper than maxValueDepth
)

// maxValueDepth bounds the nesting of a value a function returns.
const maxValueDepth = 100

// ErrCycle refuses a value that contains itself ({{ set $d "self" $d }}):
// printing it (fmt, {{ $d }}) would recurse until the stack overflows, which
// kills the process.
var ErrCycle = errors.New("a template function returned a value that contains itself")

// ErrTooDeepValue refuses a value nested deeper than 100 levels.
var ErrTooDeepValue = errors.New("a template function returned a value nested deeper than 100 levels")

// sizeOf estimates the bytes a value holds (shared parts counted each time
// they are reachable, as an encoding would write them), stopping above max.
// It returns cyclic when a map or a pointer is reachable from itself, and
// tooDeep past maxValueDepth levels: every function result passes here
// (charge), and only a function (set, merge...) can make a cycle.
func sizeOf(v reflect.Value, max int64) int64 {
	var total int64
	refused := int64(0)
	path := map[uintptr]bool{} // maps and pointers being visited
	var visit func(v reflect.Value, depth int)
	visit = func(v reflect.Value, depth int) {
		if refused != 0 || (max > 0 && total > max) {
			return
		}
		if depth > maxValueDepth {
			refused = tooDeep
			return
		}
		for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
			if v.Kind() == reflect.Pointer {
				p := v.Pointer()
				if path[p] {
					refused = cyclic
					return
				}
				path[p] = true
				defer delete(path, p)
			}
			v = v.Elem()
		}
		if !v.IsValid() {
			return
		}
		switch v.Kind() {
		case reflect.String:
			total += int64(v.Len())
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				total += int64(v.Len())
				return
			}
			total += int64(v.Len()) * 16
			for i := 0; i < v.Len() && (max <= 0 || total <= max) && refused == 0; i++ {
				visit(v.Index(i), depth+1)
			}
		case reflect.Map:
			if v.IsNil() {
				return
			}
			p := v.Pointer()
			if path[p] {
				refused = cyclic
				return
			}
			path[p] = true
			defer delete(path, p)
			total += int64(v.Len()) * 32
			it := v.MapRange()
			for it.Next() && (max <= 0 || total <= max) && refused == 0 {
				visit(it.Key(), depth+1)
				visit(it.Value(), depth+1)
			}
		case reflect.Struct:
			total += 8
			for i := 0; i < v.NumField() && refused == 0; i++ {
				visit(v.Field(i), depth+1)
			}
		default:
			total += 8
		}
	}
	visit(v, 0)
	if refused != 0 {
		return refused
	}
	return total
}

// run executes name with a limited writer, within the budget's time and the
// context. It returns the output, or the limit error, or the execution's
// (unredacted) error.
func (bu *budget) run(ctx context.Context, set *template.Template, name string, in *templateInput, timer <-chan time.Time) ([]byte, error) {
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			// text/template re-panics runtime errors that happen outside
			// function calls; the panic value may quote data.
			if p := recover(); p != nil {
				r = result{err: errPanicked}
			}
			done <- r
		}()
		w := &limitedWriter{bu: bu, name: name}
		r.err = set.ExecuteTemplate(w, name, in)
		r.out = w.buf
	}()
	select {
	case r := <-done:
		if err := bu.reason(); err != nil {
			return nil, err
		}
		return r.out, r.err
	case <-timer:
		_ = bu.fail(limits.Exceeded(limits.TemplateTime, int64(bu.b.Time), "the templates of "+bu.owner))
		return nil, bu.reason()
	case <-ctx.Done():
		_ = bu.fail(fmt.Errorf("templates of %s: %w", bu.owner, context.Cause(ctx)))
		return nil, bu.reason()
	}
}
