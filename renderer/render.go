package renderer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/limits"
	"github.com/vaultcmp/vaultcmp/renderer/transform"
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
	Credentials Credentials
	// Vault reads secrets. Required unless the input has no VaultStaticSecret.
	Vault vault.Reader
	// HMACKey keys the rollout-restart checksums. Required when a rollout
	// target is rendered.
	HMACKey []byte
	// Offline renders placeholders instead of Vault data and needs neither
	// Vault nor credentials (CI lint and diff).
	Offline bool
	// Delivery is the default delivery of VaultStaticSecrets: DeliveryInline
	// ("" too) or DeliveryInCluster. An object's own vaultcmp.io/delivery
	// annotation wins.
	Delivery string
	// Tenancy refuses Vault objects outside Namespace (Argo CD apps: an app
	// logs in only as service accounts of its destination namespace).
	Tenancy bool
	// Limits bound the templates (TemplateTime, TemplateOutput,
	// TemplateWork); the zero value means limits.Default(). The render's
	// deadline is the context's: when it passes, Render names the objects
	// that were still waiting.
	Limits limits.Limits
}

// delivery is where obj's values are written.
func (o *Options) delivery(obj *v1beta1.VaultStaticSecret) string {
	if d := obj.Annotations[LabelDelivery]; d != "" {
		return d
	}
	if o.Delivery == "" {
		return DeliveryInline
	}
	return o.Delivery
}

// Result is a successful render.
type Result struct {
	Objects  []map[string]any // the output, in input order
	Warnings []string         // things the user should know; never secret
	Stats    Stats

	encoded [][]byte  // Objects[i] as a YAML document, when encoded already
	from    []*Object // the input object Objects[i] comes from
}

func (r *Result) add(obj map[string]any, encoded []byte, from *Object) {
	r.Objects = append(r.Objects, obj)
	r.encoded = append(r.encoded, encoded)
	r.from = append(r.from, from)
}

// WriteYAML writes the output as a multi-document YAML stream, the same
// bytes as the package's WriteYAML of r.Objects (see Encode and Output).
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

	// Time spent in each phase.
	Decode, Plan, Fetch, Emit time.Duration
}

// job is one VaultStaticSecret to render.
type job struct {
	vo        *vaultObject
	vss       *v1beta1.VaultStaticSecret
	id        *vault.Identity
	refs      []*v1beta1.SecretTransformation
	data      map[string][]byte
	offline   bool           // placeholders instead of Vault data
	inCluster bool           // delivered by the companion: a carrier, no Secret
	version   int            // kv-v2 version read
	secret    map[string]any // the rendered Secret
	yaml      []byte         // and its YAML document
	err       *Problem
}

// Render turns objs into the output objects. On any problem it returns
// Problems (all of them) and no output.
func Render(ctx context.Context, objs []*Object, opts Options) (*Result, error) {
	if opts.Credentials == nil {
		opts.Credentials = EnvCredentials{LookupEnv: func(string) (string, bool) { return "", false }}
	}
	var probs Problems
	res := &Result{Stats: Stats{Objects: len(objs)}}

	// Decode every Vault object (concurrently) and index them.
	t0 := time.Now()
	vos := make([]*vaultObject, len(objs))
	vps := make([]Problems, len(objs))
	parallel(len(objs), func(i int) {
		if v1beta1.IsVaultAPIVersion(objs[i].APIVersion()) {
			vos[i], vps[i] = decode(objs[i], opts.Namespace)
		}
	})
	ix := index{}
	decoded := map[*Object]*vaultObject{}
	for i, o := range objs {
		vo := vos[i]
		if len(vps[i]) > 0 {
			probs = append(probs, vps[i]...)
			continue
		}
		if vo == nil {
			continue
		}
		k := indexKey(vo.obj.GetKind(), vo.ns, vo.obj.GetName())
		if prev, dup := ix[k]; dup {
			probs = append(probs, problem(o, "metadata.name", fmt.Errorf("duplicate %s: also defined in %s", vo.obj.GetKind(), prev.src.Source), "give each object a unique name"))
			continue
		}
		ix[k] = vo
		decoded[o] = vo
	}
	probs = append(probs, checkDestinations(objs, decoded, opts.Namespace)...)

	res.Stats.Decode = time.Since(t0)

	// Resolve refs and plan the reads.
	t0 = time.Now()
	r := &resolver{opts: &opts, ix: ix, cache: map[string]*vault.Identity{}}
	var jobs []*job
	inCluster := map[*Object]bool{}
	for _, o := range objs {
		vo := decoded[o]
		if vo == nil {
			continue
		}
		if opts.Tenancy && vo.ns != opts.Namespace && destinationName(vo.obj) != "" {
			probs = append(probs, problem(o, "metadata.namespace",
				fmt.Errorf("the app's destination namespace is %q: its Vault objects must be there, to log in as its own service accounts", opts.Namespace),
				"remove metadata.namespace or deploy the object with an app of that namespace"))
			continue
		}
		// A Secret the companion fills: only its refs are checked here.
		companion := func(authRef string) {
			inCluster[o] = true
			if _, rerr := r.identity(ctx, vo.ns, authRef, false); rerr != nil {
				probs = append(probs, problem(o, rerr.field, rerr.err, rerr.hint))
			}
		}
		switch obj := vo.obj.(type) {
		case *v1beta1.VaultStaticSecret:
			j := &job{vo: vo, vss: obj, offline: opts.Offline, inCluster: opts.delivery(obj) == DeliveryInCluster}
			if j.inCluster {
				companion(obj.Spec.VaultAuthRef)
			}
			if p := r.plan(ctx, j); p != nil {
				probs = append(probs, p)
				continue
			}
			jobs = append(jobs, j)
		case *v1beta1.VaultDynamicSecret:
			companion(obj.Spec.VaultAuthRef)
		case *v1beta1.VaultPKISecret:
			companion(obj.Spec.VaultAuthRef)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	// The contracts of what the companion fills or watches.
	contracts := map[*Object]*contract.V1{}
	for _, o := range objs {
		vo := decoded[o]
		if vo == nil {
			continue
		}
		delivery := DeliveryInCluster
		if vss, ok := vo.obj.(*v1beta1.VaultStaticSecret); ok && !inCluster[o] {
			if vss.Spec.RefreshAfter == "" {
				continue
			}
			delivery = DeliveryInline // the companion watches Vault for Argo CD
		} else if !inCluster[o] {
			continue
		}
		c, rerr := r.carrierContract(ctx, vo, delivery)
		if rerr != nil {
			probs = append(probs, problem(o, rerr.field, rerr.err, rerr.hint))
			continue
		}
		if c.Connection.Address == "" && !opts.Offline {
			probs = append(probs, problem(o, "spec.vaultAuthRef", errors.New("no Vault address for the companion"),
				"reference a VaultConnection, add one named \"default\", or set --default-vault-address"))
			continue
		}
		contracts[o] = c
	}
	if len(probs) > 0 {
		return nil, probs
	}
	if len(jobs) > 0 && opts.Vault == nil && !opts.Offline {
		return nil, errors.New("renderer: no Vault reader configured")
	}

	res.Stats.Plan = time.Since(t0)

	// Fetch and transform, concurrently; the Vault session bounds the requests.
	t0 = time.Now()
	// While the reads wait on Vault, encode what will not change: the
	// Secrets as they are built (in run) and the plain objects that no
	// rollout annotation can touch.
	pre := make([][]byte, len(objs))
	if opts.Limits == (limits.Limits{}) {
		opts.Limits = limits.Default()
	}
	builds := &buildCache{m: map[string]*buildResult{}, bounds: transform.BoundsFrom(opts.Limits)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, o := range objs {
			if decoded[o] == nil && !isWorkload(o.Data) {
				pre[i], _ = encodeObject(o.Data) // on error, WriteYAML encodes again and reports it
			}
		}
	})
	wg.Go(func() { parallelN(len(jobs), jobWorkers, func(i int) { jobs[i].run(ctx, opts.Vault, builds) }) })
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, interrupted(ctx, jobs)
	}
	probs = append(probs, fetchProblems(jobs)...)
	if len(probs) > 0 {
		return nil, probs
	}

	res.Stats.Fetch = time.Since(t0)

	// Emit.
	t0 = time.Now()
	byObj := map[*Object]*job{}
	for _, j := range jobs {
		byObj[j.vo.src] = j
	}
	for i, o := range objs {
		vo := decoded[o]
		switch {
		case vo == nil:
			res.add(o.Data, pre[i], o)
		case byObj[o] != nil && !byObj[o].inCluster:
			j := byObj[o]
			res.add(j.secret, j.yaml, o)
			res.Stats.StaticSecrets++
		case inCluster[o]:
			res.Stats.InCluster++
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: Secret %s is delivered in-cluster: the vaultcmp companion fills it", o.Where(), destinationName(vo.obj)))
		}
		if c := contracts[o]; c != nil {
			if j := byObj[o]; j != nil && !j.offline {
				c.Static = j.staticState(opts.HMACKey)
			}
			carrier, err := carrierSecret(c)
			if err != nil {
				return nil, err
			}
			res.add(carrier, nil, o)
		}
	}
	w, err := addRolloutAnnotations(res.Objects, jobs, opts.Namespace, opts.HMACKey)
	if err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, w...)
	if probs := checkOutput(res); len(probs) > 0 {
		return nil, probs
	}
	res.Stats.Output = len(res.Objects)
	res.Stats.Emit = time.Since(t0)
	return res, nil
}

// decode strictly decodes one Vault object.
func decode(o *Object, defaultNS string) (*vaultObject, Problems) {
	raw, err := json.Marshal(o.Data)
	if err != nil {
		return nil, Problems{problem(o, "", err, "")}
	}
	obj, err := v1beta1.Decode(raw)
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

// run reads the secret and builds its data.
func (j *job) run(ctx context.Context, v vault.Reader, builds *buildCache) {
	s := j.vss.Spec
	if j.offline {
		j.data = placeholderData(j.vss, j.refs)
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
	data, err := builds.build(ctx, sec, transform.Resolved{Spec: s.Destination.Transformation, Refs: j.refs},
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
	j.secret = staticSecret(j)
	j.yaml, _ = encodeObject(j.secret) // on error, WriteYAML encodes again and reports it
}

// plan resolves the job's identity and transformations.
func (r *resolver) plan(ctx context.Context, j *job) *Problem {
	id, rerr := r.identity(ctx, j.vo.ns, j.vss.Spec.VaultAuthRef, !j.offline)
	if rerr != nil {
		return problem(j.vo.src, rerr.field, rerr.err, rerr.hint)
	}
	refs, rerr := r.transformations(j.vo.ns, j.vss.Spec.Destination.Transformation)
	if rerr != nil {
		return problem(j.vo.src, rerr.field, rerr.err, rerr.hint)
	}
	if err := transform.CheckFor(transform.Resolved{Spec: j.vss.Spec.Destination.Transformation, Refs: refs}, j.vo.ns, j.vss.Name); err != nil {
		return problem(j.vo.src, "spec.destination.transformation", err, "")
	}
	j.id, j.refs = id, refs
	return nil
}

// checkDestinations refuses two objects that write one Secret.
func checkDestinations(objs []*Object, decoded map[*Object]*vaultObject, defaultNS string) Problems {
	var probs Problems
	seen := map[string]*Object{}
	for _, o := range objs {
		var key string
		fieldPath := "spec.destination.name"
		if vo := decoded[o]; vo != nil {
			name := destinationName(vo.obj)
			if name == "" {
				continue
			}
			key = vo.ns + "/" + name
		} else if o.APIVersion() == "v1" && o.Kind() == "Secret" {
			ns := o.Namespace()
			if ns == "" {
				ns = defaultNS
			}
			key, fieldPath = ns+"/"+o.Name(), "metadata.name"
		} else {
			continue
		}
		if prev, ok := seen[key]; ok {
			probs = append(probs, problem(o, fieldPath,
				fmt.Errorf("Secret %s is also written by %s", key, prev.Where()), "give each object its own destination Secret"))
			continue
		}
		seen[key] = o
	}
	return probs
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
