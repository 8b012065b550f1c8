// Package transform turns one Vault response into Kubernetes Secret data with
// the exact rules of the Vault Secrets Operator (VSO): helpers/secrets.go
// WithVaultData and makeK8sData, helpers/template.go and template/.
//
// It is pure (no I/O) and shared by both consumers: the renderer (one
// process per Argo CD generate) and the companion (a controller that runs
// for months) import it, and neither imports the other, so the same object
// gives the same Secret data through the same code. Its only process-wide
// state is a cache of compiled include/exclude patterns, bounded (256,
// oldest forgotten first).
//
//	data, err := transform.Build(transform.Resolved{Spec: vss.Spec.Destination.Transformation, Refs: refs},
//		transform.Input{Namespace: vss.Namespace, Name: vss.Name, Fields: kv.Fields, Response: kv.Response,
//			Annotations: vss.Annotations, Labels: vss.Labels})
//
// # Secret data
//
// Build fills the Secret in this order:
//
//  1. _raw = json.Marshal(Input.Response) (sorted keys, compact, <>& escaped;
//     for kv-v2 that is {"data":{...},"metadata":{...}}), unless
//     Spec.ExcludeRaw. When _raw is kept, a field or template output named
//     _raw fails with ErrRawNotPermitted.
//  2. Every template output, under its key.
//  3. The source fields, filtered: excludes first (drop a key that matches any
//     exclude), then includes (keep a key that matches any include). Patterns
//     are Go RE2 and unanchored (regexp.MatchString) and apply to source keys
//     only, never to template keys. A field is added only when its key is not
//     set yet. Strings are copied verbatim; other values are json.Marshal'ed
//     (json.Number 1 → "1", true → "true", nil → "null", maps and lists as
//     compact JSON).
//
// The includes and excludes of each referenced SecretTransformation are added
// to the object's own unless the ref sets ignoreIncludes / ignoreExcludes.
//
// # Templates
//
// Templates are Go text/template with FuncMap (VSO's allow-list of sprig's
// hermetic functions minus the ones that are not deterministic; see
// AllowedFuncs). All templates of one Build share one set, so {{template "x"}}
// works across inline, referenced and source templates. The data is:
//
//	.Secrets      Input.Fields, unfiltered
//	.Metadata     Input.Response["metadata"] if it is a map (kv-v2: version, created_time, custom_metadata, ...), else {}
//	.Annotations  the owning object's annotations (nil when none)
//	.Labels       the owning object's labels (nil when none)
//	.WrapData     Input.WrapData
//
// A missing map key prints "<no value>" (text/template's default); use
// {{get .Secrets "k"}} to get "".
//
// Template names: an unnamed inline template is "<ns>/<name>/<key>", an
// unnamed SecretTransformation template "<stns>/<stname>/<key>", an unnamed
// source template "<stns>/<stname>/<index>". Two templates with one name fail
// (DuplicateTemplateNameError), so does a SecretTransformation referenced twice
// (DuplicateTransformationRefError) and a TemplateRef to a template the object
// does not have (TemplateNotFoundError). A TransformationRef with templateRefs
// takes only those templates (under keyOverride if set); without templateRefs
// it takes all of the object's templates. Source templates are always parsed
// and never emitted. When an inline template and a SecretTransformation
// template render the same key, the inline one wins.
//
// # Determinism
//
// The same Resolved and Input give byte-identical data: map order never leaks
// (sprig's keys and values are sorted), the functions that read the clock,
// the environment, the network or a random source are not offered, and no
// address is ever printed: printf refuses the %p verb and pointer values,
// print and println pointers without a String method, and the template
// data (.) formats as its fields (ErrAddress).
//
// # Errors
//
// Build's errors never contain secret values, nor where a template over
// secret data failed. A template execution error (RenderError) names the
// template, its key and the owning object; its detail is a fixed
// "execution failed" for every failure of the template itself (fail, a
// function's error, a panic, a wrong type...), or the fixed message of the
// bound that stopped it (a limit, the context, nesting, ErrAddress,
// ErrCycle). Line, column, action, sub-template, function and argument are
// all dropped: the place of a failure tells which branch the data took.
// Parse errors keep text/template's message (template text only, parsed
// before any data). Encoding errors (EncodeError) keep the type only. Check
// and CheckFor parse everything without data, for validation.
//
// # Bounds
//
// Templates run within Bounds (time, output, work; bounded.go), instrumented
// (instrument.go) so that every range iteration and {{ template }} call
// checks the budget: at the time limit or the end of the context the
// execution stops within one iteration (its goroutine ends), and
// {{ template }} calls nest at most 1000 deep. A function result that
// contains itself or nests deeper than 100 levels is refused (ErrCycle,
// ErrTooDeepValue): printing it would overflow the stack, which kills the
// process. Job, ReadJob and RunJob carry one Build to a child process.
//
// # Output keys
//
// TemplateKeys is the rule for the keys templates write (inline map key;
// templateRef keyOverride, else name; all templates of a ref without
// templateRefs unless one of that name came first), known without Vault:
// the renderer's offline placeholders use it.
//
// # PKI
//
// For a VaultPKISecret, call NormalizePKI and then TLSLayout on Build's result:
// ca_chain becomes the "\n"-joined PEMs, and a kubernetes.io/tls Secret without
// templates gets tls.crt, tls.key (and ca.crt when there is no ca_chain).
//
// # Deviations from VSO
//
//   - Functions removed from VSO's allow-list: randInt, shuffle, bcrypt,
//     htpasswd, ago, mustToDate (reasons in funcs.go); keys and values return
//     sorted-key order.
//   - An inline template always wins over a SecretTransformation template for
//     the same key, as VSO documents; VSO's code lets the template whose name
//     sorts last win.
//   - A templateRef to an unnamed SecretTransformation template works (named
//     "<stns>/<stname>/<template>"); VSO fails with "template name empty".
//   - Every template execution error is redacted, its place included.
//   - printf refuses %p and pointer values; values that contain themselves
//     and {{ template }} nesting deeper than 1000 are refused.
//   - A {{ template "x" }} of a template no template defines is refused when
//     the templates are parsed, in any branch (VSO fails only when it runs).
//   - Templates work on copies of the data, so an Input can be shared.
package transform
