package renderer

import (
	"encoding/base64"
	"fmt"
	"maps"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// destination.create: false, as VSO has it: only the data of an existing
// Secret is written. VSO's own samples ship that Secret (empty, `kind:
// Secret`) in the same app as the VaultStaticSecret or VaultPKISecret that
// fills it. Such a pair is one Secret with one writer of its data, not two
// writers:
//
//   - inline (a VaultStaticSecret rendered by generate): the shipped Secret
//     and the Secret from Vault are merged into one output object, the
//     shipped one's metadata (labels, annotations, type: as written) with
//     the data from Vault (stringData dropped: the apiserver would write it
//     over data), in the Vault object's place;
//   - in-cluster (the companion fills it): the shipped Secret is output as
//     it is and the companion writes only its data (decideDestination's
//     destWriteData). It must ship without data or stringData: Argo CD
//     would write them back over the companion's on every sync. Without
//     data in git, Argo CD's diff has nothing to compare the live data
//     with (its three-way diff and server-side diff both leave fields
//     another manager wrote alone): no ignoreDifferences is needed.
//
// Without a shipped Secret, create: false keeps its meaning per delivery:
// the companion writes only the data of a Secret that must exist; inline,
// Argo CD applies the Secret with vaultcmp's labels and Prune=false
// (destinationSecret), so it is created when absent (docs/migrate.md).

// checkDestinations refuses two objects that write one Secret, except a
// Secret the app ships for a Vault object whose destination.create is
// false (one such pair per Secret). It returns those pairs: the Vault
// object → the shipped Secret.
func checkDestinations(objs []*Object, decoded map[*Object]*vaultObject, defaultNS string) (Problems, map[*Object]*Object) {
	var probs Problems
	seen := map[string]*Object{}
	shipped := map[*Object]*Object{}
	paired := map[string]bool{}
	for _, o := range objs {
		var key string
		fieldPath := "spec.destination.name"
		if vo := decoded[o]; vo != nil {
			name := destinationName(vo.obj)
			if name == "" {
				continue
			}
			key = vo.ns + "/" + name
		} else if isPlainSecret(o) {
			ns := o.Namespace()
			if ns == "" {
				ns = defaultNS
			}
			key, fieldPath = ns+"/"+o.Name(), "metadata.name"
		} else {
			continue
		}
		prev, ok := seen[key]
		if !ok {
			seen[key] = o
			continue
		}
		if !paired[key] {
			if v, s := shippedPair(prev, o, decoded); v != nil {
				shipped[v], paired[key] = s, true
				continue
			}
		}
		probs = append(probs, problem(o, fieldPath,
			fmt.Errorf("Secret %s is also written by %s", key, prev.Where()), writersHint(prev, o, decoded)))
	}
	return probs, shipped
}

func isPlainSecret(o *Object) bool { return o.APIVersion() == "v1" && o.Kind() == secretKind }

// shippedPair tells whether a and b are a shipped Secret and the Vault
// object with destination.create: false that fills it (either order); it
// returns them as (Vault object, Secret), or nils.
func shippedPair(a, b *Object, decoded map[*Object]*vaultObject) (*Object, *Object) {
	if decoded[a] != nil {
		a, b = b, a
	}
	vo := decoded[b]
	if decoded[a] != nil || vo == nil || !isPlainSecret(a) {
		return nil, nil
	}
	if d, ok := destinationOf(vo.obj); ok && !d.Create {
		return b, a
	}
	return nil, nil
}

func writersHint(a, b *Object, decoded map[*Object]*vaultObject) string {
	if decoded[a] == nil || decoded[b] == nil {
		return "give each object its own destination Secret, or set destination.create: false on the Vault object to fill the Secret the app ships"
	}
	return "give each object its own destination Secret"
}

// destinationOf is a Vault object's destination; false for the kinds that
// have none.
func destinationOf(obj v1beta1.Object) (v1beta1.Destination, bool) {
	switch o := obj.(type) {
	case *v1beta1.VaultStaticSecret:
		return o.Spec.Destination, true
	case *v1beta1.VaultDynamicSecret:
		return o.Spec.Destination, true
	case *v1beta1.VaultPKISecret:
		return o.Spec.Destination, true
	}
	return v1beta1.Destination{}, false
}

// shipStep (pure) hands each inline job its shipped Secret, whose document
// the job's Secret then replaces (res.consumed), and checks that a shipped
// Secret the companion fills carries no data.
func shipStep(dec *decoded, res *resolved) Problems {
	if len(dec.shipped) == 0 {
		return nil
	}
	var probs Problems
	res.consumed = map[*Object]bool{}
	for _, j := range res.jobs {
		if s := dec.shipped[j.vo.src]; s != nil && !j.inCluster {
			j.shipped = s
			res.consumed[s] = true
		}
	}
	for _, o := range dec.objs { // input order: deterministic problems
		s := dec.shipped[o]
		if s == nil || res.consumed[s] {
			continue
		}
		for _, f := range []string{"data", "stringData"} {
			if m, _ := s.Data[f].(map[string]any); len(m) > 0 {
				probs = append(probs, problem(s, f,
					fmt.Errorf("%s fills this Secret in-cluster (destination.create: false): Argo CD would write this %s back over the companion's", o.Where(), f),
					"ship the Secret without data and stringData"))
			}
		}
	}
	return probs
}

// shippedSecret is the shipped Secret with the job's data: its metadata,
// type and other fields as the app wrote them, data from Vault, no
// stringData. The shipped object's maps are not changed.
func shippedSecret(j *job) map[string]any {
	out := maps.Clone(j.shipped.Data)
	delete(out, "stringData")
	md, _ := out["metadata"].(map[string]any)
	md = maps.Clone(md)
	if md == nil {
		md = map[string]any{}
	}
	if j.offline { // the placeholder note (transform) goes into annotations
		a, _ := md["annotations"].(map[string]any)
		a = maps.Clone(a)
		if a == nil {
			a = map[string]any{}
		}
		md["annotations"] = a
	}
	out["metadata"] = md
	data := make(map[string]any, len(j.data))
	for k, v := range j.data {
		data[k] = base64.StdEncoding.EncodeToString(v)
	}
	out["data"] = data
	return out
}
