package renderer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/identity"
	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/transform"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Options configure one render.
type Options struct {
	// Namespace is the namespace of objects that have none: Argo CD's
	// destination namespace. Refs resolve in it as VSO resolves them in the
	// consumer's namespace.
	Namespace string
	// DefaultVaultAddress is used when no VaultConnection applies (the
	// seed's defaultVaultConnection).
	DefaultVaultAddress string
	// VaultAddress (VAULT_ADDR) replaces every VaultConnection's address.
	VaultAddress string
	// CACert is the PEM bundle the operator or the person running render
	// gave (--vault-cacert, $VAULT_CACERT): the CA of every VaultConnection
	// without a caCertSecretRef, and what a caCertPath stands for. A file a
	// manifest names is never read.
	CACert []byte
	// VaultToken (VAULT_TOKEN) is used instead of every VaultAuth.
	VaultToken string
	// Credentials gives Secret keys and service-account tokens.
	Credentials credentials.Source
	// Vault reads secrets. Required unless the input has no VaultStaticSecret.
	Vault vault.Reader
	// HMACKey keys the rollout-restart checksums and seals the carriers.
	// Required when a rollout target or a carrier is rendered.
	HMACKey []byte
	// Application is the Argo CD Application the render is for
	// (ARGOCD_APP_NAME): written into every carrier's contract, the only
	// Application the companion refreshes for it. Empty for render.
	Application string
	// Offline renders placeholders instead of Vault data and needs neither
	// Vault nor credentials (CI lint and diff).
	Offline bool
	// Delivery is the default delivery of VaultStaticSecrets:
	// contract.DeliveryInCluster ("" too: the default, no value in the
	// output) or contract.DeliveryInline (the value rendered into the
	// Secret, so it passes through whatever reads the output). An object's
	// own vaultcmp.io/delivery annotation wins. Dynamic and PKI secrets are
	// always in-cluster.
	Delivery string
	// InlineCheck, when set, is asked whether the render may print the
	// values of the VaultStaticSecrets it delivers inline ("kind
	// namespace/name", in input order); it is called once, after the refs
	// are resolved and before any credential is fetched or Vault read, and
	// only when there is such an object. An error refuses the render: no
	// output. generate refuses them for Argo CD's Source Hydrator.
	InlineCheck func(ctx context.Context, inline []string) error
	// Tenancy refuses Vault objects outside Namespace (Argo CD apps: an app
	// logs in only as service accounts of its destination namespace).
	Tenancy bool
	// Platform is the operator's VSO objects outside any app (refs the
	// app's objects do not answer; the defaults of its operator
	// namespace): loaded once per run (LoadPlatform). Nil: none.
	Platform *identity.Platform
	// Limits bound the templates (TemplateTime, TemplateOutput,
	// TemplateWork); the zero value means limits.Default(). The render's
	// deadline is the context's: when it passes, Render names the objects
	// that were still waiting.
	Limits limits.Limits
}

// delivery is where obj's values are written.
func (o *Options) delivery(obj *v1beta1.VaultStaticSecret) string {
	if d := obj.Annotations[contract.LabelDelivery]; d != "" {
		return d
	}
	if o.Delivery == "" {
		return contract.DeliveryInCluster
	}
	return o.Delivery
}

// Result is a successful render.
type Result struct {
	Warnings []string // things the user should know; never secret
	Stats    Stats

	// The output, in input order: objects[i] is nil where only its YAML
	// document encoded[i] is kept (a Secret from Vault, checked as it was
	// built: a large app's Secrets are held once, as the output's bytes).
	objects []map[string]any
	encoded [][]byte  // objects[i] as a YAML document, when encoded already
	from    []*Object // the input object objects[i] comes from
}

func (r *Result) add(obj map[string]any, encoded []byte, from *Object) {
	r.objects = append(r.objects, obj)
	r.encoded = append(r.encoded, encoded)
	r.from = append(r.from, from)
}

// Objects is the output as objects, in input order. The Secrets the render
// kept only as YAML are decoded again: Encode and WriteYAML are the way to
// write the output.
func (r *Result) Objects() ([]map[string]any, error) {
	objs := make([]map[string]any, len(r.objects))
	for i, obj := range r.objects {
		if obj == nil {
			if err := yaml.Unmarshal(r.encoded[i], &obj); err != nil {
				return nil, fmt.Errorf("decoding output object %d: %w", i, err)
			}
		}
		objs[i] = obj
	}
	return objs, nil
}

// WriteYAML writes the output as a multi-document YAML stream, the same
// bytes as the package's WriteYAML of r.Objects() (see Encode and Output).
func (r *Result) WriteYAML(w io.Writer) error {
	out, err := r.Encode()
	if err != nil {
		return err
	}
	_, err = out.WriteTo(w)
	return err
}

// Stats summarises a render.
type Stats struct {
	Objects       int // objects read
	Output        int // objects written
	StaticSecrets int // Secrets rendered inline from Vault
	InCluster     int // Secrets left for the in-cluster companion

	// Time spent in each phase: decodeStep; Plan: resolveStep,
	// identityStep and contractStep; Fetch: fetchStep and transformStep;
	// emitStep.
	Decode, Plan, Fetch, Emit time.Duration
}

// job is one VaultStaticSecret to render. Each step fills its part: resolve
// (plan, refs), identity (id), fetch (read), transform (data, secret, yaml);
// err is the first problem.
type job struct {
	vo        *vaultObject
	vss       *v1beta1.VaultStaticSecret
	offline   bool    // placeholders instead of Vault data
	inCluster bool    // delivered by the companion: a carrier, no Secret
	shipped   *Object // the Secret the app ships for destination.create: false (createfalse.go)

	plan *identity.Plan                  // resolve
	refs []*v1beta1.SecretTransformation // resolve
	id   *vault.Identity                 // identity
	read *vault.KVSecret                 // fetch

	data    map[string][]byte // transform
	version int               // kv-v2 version read
	secret  map[string]any    // the rendered Secret
	yaml    []byte            // and its YAML document
	err     *Problem
}

// Render turns objs into the output objects. On any problem it returns
// Problems (all of them) and no output.
//
// Render takes objs over: once a Vault object is decoded, its Data is
// dropped (nil) and only its identity is kept (APIVersion, Kind, Name and
// Namespace still answer), so that the input of a large app is not held
// twice.
//
// The data flows one way through named steps, each with its typed result:
// decodeStep (→ decoded), resolveStep (pure: → resolved), identityStep (the
// credentials' I/O: → each job's vault.Identity), fetchStep (Vault: → each
// job's read) and transformStep (→ each job's Secret), one pipeline per job
// (fetchTransformStep), and emitStep (→ Result).
func Render(ctx context.Context, objs []*Object, opts Options) (*Result, error) {
	if opts.Credentials == nil {
		opts.Credentials = credentials.Env{LookupEnv: func(string) (string, bool) { return "", false }}
	}
	if opts.Limits == (limits.Limits{}) {
		opts.Limits = limits.Default()
	}
	stats := Stats{Objects: len(objs)}

	t0 := time.Now()
	dec, probs := decodeStep(objs, opts.Namespace)
	stats.Decode = time.Since(t0)

	t0 = time.Now()
	r := newResolver(&opts, dec.ix)
	res, rprobs := r.resolveStep(dec)
	if err := checkInline(ctx, &opts, res); err != nil {
		return nil, err
	}
	probs = append(probs, rprobs...)
	probs = append(probs, shipStep(dec, res)...)
	probs = append(probs, r.identityStep(ctx, res.jobs)...)
	if len(probs) > 0 {
		return nil, probs
	}
	if probs := r.contractStep(dec, res); len(probs) > 0 {
		return nil, probs
	}
	if len(res.jobs) > 0 && opts.Vault == nil && !opts.Offline {
		return nil, errors.New("renderer: no Vault reader configured")
	}
	stats.Plan = time.Since(t0)

	t0 = time.Now()
	// While the reads wait on Vault and the templates run, encode the plain
	// objects that no rollout annotation can touch.
	var pre [][]byte
	var wg sync.WaitGroup
	wg.Go(func() { pre = preEncode(dec) })
	fetchTransformStep(ctx, opts.Vault, res.jobs, transform.BoundsFrom(opts.Limits))
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, interrupted(ctx, res.jobs)
	}
	if probs := fetchProblems(res.jobs); len(probs) > 0 {
		return nil, probs
	}
	stats.Fetch = time.Since(t0)

	t0 = time.Now()
	out, err := emitStep(dec, res, pre, &opts)
	if err != nil {
		return nil, err
	}
	stats.StaticSecrets, stats.InCluster = out.Stats.StaticSecrets, out.Stats.InCluster
	stats.Output = len(out.objects)
	stats.Emit = time.Since(t0)
	out.Stats = stats
	return out, nil
}

// decoded is the result of decodeStep: the input, its Vault objects
// (decoded and indexed by kind, namespace and name).
type decoded struct {
	objs  []*Object
	vault map[*Object]*vaultObject
	ix    index
	// shipped: a Vault object with destination.create: false → the Secret
	// the app ships for it (createfalse.go).
	shipped map[*Object]*Object
}

// decodeStep decodes every Vault object (concurrently), indexes them and
// refuses duplicates and two objects that write one Secret.
func decodeStep(objs []*Object, namespace string) (*decoded, Problems) {
	var probs Problems
	vos := make([]*vaultObject, len(objs))
	vps := make([]Problems, len(objs))
	parallel(len(objs), func(i int) {
		if v1beta1.IsVaultAPIVersion(objs[i].APIVersion()) {
			vos[i], vps[i] = decode(objs[i], namespace)
		}
	})
	dec := &decoded{objs: objs, vault: map[*Object]*vaultObject{}, ix: index{}}
	for i, o := range objs {
		vo := vos[i]
		if len(vps[i]) > 0 {
			probs = append(probs, vps[i]...)
			continue
		}
		if vo == nil {
			continue
		}
		o.dropData() // decoded: the typed object is what the steps read
		k := indexKey(vo.obj.GetKind(), vo.ns, vo.obj.GetName())
		if prev, dup := dec.ix[k]; dup {
			probs = append(probs, problem(o, "metadata.name", fmt.Errorf("duplicate %s: also defined in %s", vo.obj.GetKind(), prev.src.Source), "give each object a unique name"))
			continue
		}
		dec.ix[k] = vo
		dec.vault[o] = vo
	}
	dprobs, shipped := checkDestinations(objs, dec.vault, namespace)
	probs = append(probs, dprobs...)
	dec.shipped = shipped // createfalse.go
	return dec, probs
}

// resolved is the result of resolveStep: the VaultStaticSecrets to read,
// and which objects the companion fills.
type resolved struct {
	jobs      []*job
	inCluster map[*Object]bool
	contracts map[*Object]*contract.V1 // contractStep
	consumed  map[*Object]bool         // shipped Secrets an inline job's Secret replaces (shipStep)
}

// resolveStep resolves every Vault object's refs (pure: no credential, no
// Vault): tenancy, identity plans, transformations, template checks.
func (r *resolver) resolveStep(dec *decoded) (*resolved, Problems) {
	var probs Problems
	res := &resolved{inCluster: map[*Object]bool{}}
	opts := r.opts
	for _, o := range dec.objs {
		vo := dec.vault[o]
		if vo == nil {
			continue
		}
		if fp := checkFloors(o, vo, opts.Limits); len(fp) > 0 {
			probs = append(probs, fp...)
			continue
		}
		if ferr := identity.CheckTenant(opts.Tenancy, opts.Namespace, vo.ns); ferr != nil && destinationName(vo.obj) != "" {
			probs = append(probs, problem(o, ferr.Field, ferr.Err, ferr.Hint))
			continue
		}
		// A Secret the companion fills: only its refs are checked here.
		companion := func(authRef string) {
			res.inCluster[o] = true
			if _, rerr := r.plan(vo.ns, authRef, false); rerr != nil {
				probs = append(probs, problem(o, rerr.Field, rerr.Err, rerr.Hint))
			}
		}
		switch obj := vo.obj.(type) {
		case *v1beta1.VaultStaticSecret:
			j := &job{vo: vo, vss: obj, offline: opts.Offline, inCluster: opts.delivery(obj) == contract.DeliveryInCluster}
			if j.inCluster {
				res.inCluster[o] = true // its refs: resolveJob (generate reads the KV version)
			}
			if p := r.resolveJob(j); p != nil {
				probs = append(probs, p)
				continue
			}
			res.jobs = append(res.jobs, j)
		case *v1beta1.VaultDynamicSecret:
			companion(obj.Spec.VaultAuthRef)
		case *v1beta1.VaultPKISecret:
			companion(obj.Spec.VaultAuthRef)
		}
	}
	return res, probs
}

// checkInline asks Options.InlineCheck about the objects whose values the
// output would hold.
func checkInline(ctx context.Context, opts *Options, res *resolved) error {
	if opts.InlineCheck == nil {
		return nil
	}
	var inline []string
	for _, j := range res.jobs {
		if !j.inCluster {
			inline = append(inline, "VaultStaticSecret "+names.Qualified(j.vo.ns, j.vss.GetName()))
		}
	}
	if len(inline) == 0 {
		return nil
	}
	return opts.InlineCheck(ctx, inline)
}

// resolveJob plans the job's identity and resolves its transformations.
func (r *resolver) resolveJob(j *job) *Problem {
	p, rerr := r.plan(j.vo.ns, j.vss.Spec.VaultAuthRef, !j.offline)
	if rerr != nil {
		return problem(j.vo.src, rerr.Field, rerr.Err, rerr.Hint)
	}
	refs, rerr := r.transformations(j.vo.ns, j.vss.Spec.Destination.Transformation)
	if rerr != nil {
		return problem(j.vo.src, rerr.Field, rerr.Err, rerr.Hint)
	}
	if err := transform.CheckFor(transform.Resolved{Spec: j.vss.Spec.Destination.Transformation, Refs: refs}, j.vo.ns, j.vss.Name); err != nil {
		return problem(j.vo.src, "spec.destination.transformation", err, "")
	}
	j.plan, j.refs = p, refs
	return nil
}

// identityStep fetches each job's credentials (Secret keys through
// Options.Credentials; service-account tokens are minted at login), in
// input order: the only I/O before Vault.
func (r *resolver) identityStep(ctx context.Context, jobs []*job) Problems {
	var probs Problems
	for _, j := range jobs {
		id, rerr := r.identity(ctx, j.plan)
		if rerr != nil {
			probs = append(probs, problem(j.vo.src, rerr.Field, rerr.Err, rerr.Hint))
			continue
		}
		j.id = id
	}
	return probs
}

// contractStep resolves the contracts of what the companion fills or
// watches (pure): in-cluster objects, and inline VaultStaticSecrets with
// refreshAfter.
func (r *resolver) contractStep(dec *decoded, res *resolved) Problems {
	var probs Problems
	res.contracts = map[*Object]*contract.V1{}
	for _, o := range dec.objs {
		vo := dec.vault[o]
		if vo == nil {
			continue
		}
		delivery := contract.DeliveryInCluster
		if vss, ok := vo.obj.(*v1beta1.VaultStaticSecret); ok && !res.inCluster[o] {
			if vss.Spec.RefreshAfter == "" && !companionRollouts(vss, vo.ns, dec, r.opts.Namespace) {
				continue
			}
			delivery = contract.DeliveryInline // the companion watches Vault for Argo CD
		} else if !res.inCluster[o] {
			continue
		}
		c, rerr := r.carrierContract(vo, delivery)
		if rerr != nil {
			probs = append(probs, problem(o, rerr.Field, rerr.Err, rerr.Hint))
			continue
		}
		if c.Auth == nil && delivery == contract.DeliveryInCluster {
			// VAULT_TOKEN is render's own login: the companion has none.
			probs = append(probs, problem(o, "spec.vaultAuthRef", errors.New("delivered in-cluster, the companion logs in with a VaultAuth, and none applies (VAULT_TOKEN is only render's own login)"),
				"reference a VaultAuth, add one named \"default\" (in the app, or in the operator namespace among the platform objects: --platform-dir), or render with --delivery inline"))
			continue
		}
		if c.Connection.Address == "" && !r.opts.Offline {
			probs = append(probs, problem(o, "spec.vaultAuthRef", errors.New("no Vault address for the companion"),
				"reference a VaultConnection, add one named \"default\", or set --default-vault-address"))
			continue
		}
		res.contracts[o] = c
	}
	return probs
}

// preEncode encodes what will not change: the plain objects that no
// rollout annotation can touch (isWorkload). nil entries are encoded by
// WriteYAML.
func preEncode(dec *decoded) [][]byte {
	pre := make([][]byte, len(dec.objs))
	for i, o := range dec.objs {
		if dec.vault[o] == nil && !isWorkload(o.Data) {
			pre[i], _ = encodeObject(o.Data) // on error, WriteYAML encodes again and reports it
		}
	}
	return pre
}

// fetchTransformStep runs fetchStep and transformStep as one pipeline on
// a bounded pool of workers (jobWorkers): a worker builds a job's Secret as
// soon as its read is in, so the templates and the encoding of some jobs
// use the CPU while others wait on Vault, instead of all after the last
// read. The Vault session bounds the requests in flight.
func fetchTransformStep(ctx context.Context, v vault.Reader, jobs []*job, bounds transform.Bounds) {
	builds := &buildCache{m: map[string]*buildResult{}, bounds: bounds}
	parallelN(len(jobs), jobWorkers, func(i int) {
		fetchStep(ctx, v, jobs[i])
		if ctx.Err() == nil {
			transformStep(ctx, jobs[i], builds)
		}
	})
}

// fetchStep reads an online job's secret.
func fetchStep(ctx context.Context, v vault.Reader, j *job) {
	if !j.offline {
		j.fetch(ctx, v)
	}
}

// transformStep builds the Secret of a job that has its data: from its
// read, or placeholders offline.
func transformStep(ctx context.Context, j *job, builds *buildCache) {
	if j.err == nil {
		j.transform(ctx, builds)
	}
}

// emitStep builds the output in input order: each inline VaultStaticSecret's
// Secret, the carriers, every non-Vault object; then the rollout checksums
// and the last checks.
func emitStep(dec *decoded, res *resolved, pre [][]byte, opts *Options) (*Result, error) {
	out := &Result{}
	byObj := map[*Object]*job{}
	for _, j := range res.jobs {
		byObj[j.vo.src] = j
	}
	for i, o := range dec.objs {
		vo := dec.vault[o]
		if vo != nil {
			out.Warnings = append(out.Warnings, ignoredWarnings(vo)...) // unsupported.go
		}
		switch {
		case vo == nil:
			if !res.consumed[o] {
				out.add(o.Data, pre[i], o)
			}
		case byObj[o] != nil && !byObj[o].inCluster:
			j := byObj[o]
			out.add(j.secret, j.yaml, o)
			out.Stats.StaticSecrets++
		case res.inCluster[o]:
			out.Stats.InCluster++
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s: Secret %s is delivered in-cluster: the vaultcmp companion fills it", o.Where(), destinationName(vo.obj)))
		}
		if c := res.contracts[o]; c != nil {
			if j := byObj[o]; j != nil && !j.offline {
				c.Static = j.staticState(opts.HMACKey)
			}
			c.Application = opts.Application
			carrier, err := carrierSecret(c, opts.HMACKey)
			if err != nil {
				return nil, err
			}
			out.add(carrier, nil, o)
		}
	}
	if err := addRolloutAnnotations(out.objects, res.jobs, opts.Namespace, opts.HMACKey); err != nil {
		return nil, err
	}
	if probs := checkOutput(out); len(probs) > 0 {
		return nil, probs
	}
	return out, nil
}

// decode strictly decodes one Vault object. v1beta1.DecodeValue reads the
// loaded value directly (no JSON round trip) with Decode's results.
func decode(o *Object, defaultNS string) (*vaultObject, Problems) {
	var obj v1beta1.Object
	var err error
	if d := o.decoded; d != nil {
		obj, err, o.decoded = d.obj, d.err, nil
	} else {
		obj, err = v1beta1.DecodeValue(o.Data)
	}
	if err != nil {
		var derr *v1beta1.DecodeError
		if errors.As(err, &derr) && len(derr.Errs) > 0 {
			var ps Problems
			for _, fe := range derr.Errs {
				ps = append(ps, problem(o, fe.Field, errors.New(fe.ErrorBody()), hintFor(fe)))
			}
			return nil, ps
		}
		return nil, Problems{problem(o, "", err, "")}
	}
	ns := obj.GetNamespace()
	if ns == "" {
		ns = defaultNS
	}
	return &vaultObject{src: o, obj: obj, ns: ns}, nil
}

func hintFor(fe *field.Error) string {
	switch fe.Type {
	case field.ErrorTypeRequired:
		return "add the field"
	case field.ErrorTypeNotSupported:
		return "use one of the supported values"
	}
	return ""
}

// fetch reads the job's secret from Vault.
func (j *job) fetch(ctx context.Context, v vault.Reader) {
	s := j.vss.Spec
	sec, err := v.ReadKV(ctx, vault.KVRequest{
		Identity:  j.id,
		Namespace: s.Namespace,
		Mount:     s.Mount,
		Path:      s.Path,
		V2:        s.Type == "kv-v2",
		Version:   s.Version,
	})
	if err != nil {
		fieldPath := "spec.path"
		var verr *vault.Error
		if errors.As(err, &verr) && verr.Op == "login" {
			fieldPath = "spec.vaultAuthRef"
		}
		j.err = problem(j.vo.src, fieldPath, err, "")
		return
	}
	j.read = sec
}

// transform builds the job's data and its Secret.
func (j *job) transform(ctx context.Context, builds *buildCache) {
	if j.offline {
		data, err := placeholderData(j.vss, j.vo.ns, j.refs)
		if err != nil { // checked in the resolve step already
			j.err = problem(j.vo.src, "spec.destination.transformation", err, "")
			return
		}
		j.data = data
		j.secret = staticSecret(j)
		j.secret["metadata"].(map[string]any)["annotations"].(map[string]any)[AnnotationOffline] = offlineNote(j.vss)
		// Readable placeholders for CI diffs.
		plain := map[string]any{}
		for k, v := range j.data {
			plain[k] = string(v)
		}
		delete(j.secret, "data")
		j.secret["stringData"] = plain
		j.yaml, _ = encodeObject(j.secret)
		return
	}
	sec := j.read
	data, err := builds.build(ctx, sec, transform.Resolved{Spec: j.vss.Spec.Destination.Transformation, Refs: j.refs},
		transform.Input{
			Namespace:   j.vo.ns,
			Name:        j.vss.Name,
			Fields:      sec.Fields,
			Response:    sec.Response,
			Annotations: j.vss.Annotations,
			Labels:      j.vss.Labels,
		})
	if err != nil {
		j.err = problem(j.vo.src, "spec.destination.transformation", err, "fix the transformation; the Vault data is not shown here")
		return
	}
	j.data, j.version = data, sec.Version
	// Encoded: drop what no later step reads, so that a large app does not
	// hold every read, every Secret's data and every Secret twice until the
	// end. A Secret with a problem is kept for checkOutput to report.
	if doc, ok := newInlineSecret(j).encode(); ok && j.shipped == nil {
		j.yaml = doc // checked and written without its map
	} else {
		j.secret = staticSecret(j)
		j.yaml, _ = encodeObject(j.secret) // on error, WriteYAML encodes again and reports it
		if j.yaml != nil && len(checkObject(j.secret)) == 0 {
			j.secret = nil
		}
	}
	j.read = nil
	if !j.keepsData() {
		j.data = nil
	}
}

// keepsData tells whether a later step reads j.data: the rollout checksums
// (addRolloutAnnotations) and a carrier's keyed HMAC of kv-v1 data
// (staticState).
func (j *job) keepsData() bool {
	carrier := j.inCluster || j.vss.Spec.RefreshAfter != ""
	return len(j.vss.Spec.RolloutRestartTargets) > 0 || (carrier && j.version == 0)
}

func destinationName(obj v1beta1.Object) string {
	switch o := obj.(type) {
	case *v1beta1.VaultStaticSecret:
		return o.Spec.Destination.Name
	case *v1beta1.VaultDynamicSecret:
		return o.Spec.Destination.Name
	case *v1beta1.VaultPKISecret:
		return o.Spec.Destination.Name
	}
	return ""
}

// staticState is what the carrier says of the KV data read: the kv-v2
// version, or for kv-v1 a keyed HMAC of the Secret's data.
func (j *job) staticState(key []byte) *contract.StaticState {
	if j.version > 0 {
		return &contract.StaticState{KVVersion: j.version}
	}
	if len(key) == 0 {
		return nil
	}
	return &contract.StaticState{DataHMAC: Checksum(key, j.data)}
}
