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
// (sprig's keys and values are sorted), and the functions that read the clock,
// the environment, the network or a random source are not offered.
//
// # Errors
//
// Build's errors never contain secret values. Template execution errors
// (RenderError) keep the template, the key, the owning object, the position
// and a fixed description, and replace Go's message with "<redacted>"; VSO
// redacts only some of them. Encoding errors (EncodeError) keep the type only.
// Check and CheckFor parse everything without data, for validation.
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
//   - Every template execution error is redacted.
//   - Templates work on copies of the data, so an Input can be shared.
package transform
