package renderer

import (
	"bytes"
	"encoding/base64"
	"maps"
	"slices"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// inlineSecret is an inline VaultStaticSecret's Secret, written as its YAML
// document straight from the job's fields: encodeObject(staticSecret(j))'s
// bytes, without the Secret's nested maps.
//
// It exists for speed. Inline Secrets are most of a large app's output, and
// building each as map[string]any (staticSecret), sorting those maps back
// into YAML order (writePlainSecret) and reading them again for checkObject
// was a third of BenchmarkPipeline's CPU. The fields here are already typed
// and mostly in a known order; only the destination's own labels,
// annotations and the data keys are sorted.
//
// It keeps to the map path's output and checks, not a copy of them: every
// line is written by the map path's writers (writePlainEntry, writeDataKey),
// the checks are checkObject's (checkIdentity, dataValid), and it declines
// (ok false) whenever the map path would do anything but write a plain
// Secret with no problem: a string yaml.v3 would quote (writePlainSecret
// refuses it; so every Secret without destination.create, for its
// "Prune=false"), empty data (encodeObject uses yaml.v3), any problem
// (checkOutput words it from the map). The caller then takes the map path.
// TestInlineSecretIsTheMapPath holds it to the map path on random jobs.
type inlineSecret struct {
	dest  v1beta1.Destination
	ns    string            // metadata.namespace, "" for none
	owner string            // the owner annotation's value
	data  map[string][]byte // written base64-encoded
}

// newInlineSecret is the Secret staticSecret(j) builds.
func newInlineSecret(j *job) inlineSecret {
	return inlineSecret{dest: j.vss.Spec.Destination, ns: j.vss.Namespace,
		owner: contract.Owner(v1beta1.KindVaultStaticSecret, j.vss.Name), data: j.data}
}

// encode is the Secret's YAML document, with its leading "---", when it is a
// plain Secret with no problem; ok false: take the map path.
func (s inlineSecret) encode() (doc []byte, ok bool) {
	if len(s.data) == 0 || len(checkIdentity(secretAPIVersion, secretKind, s.dest.Name, "", s.ns)) > 0 || !dataValid(s.data) {
		return nil, false
	}
	b := scratch.Get().(*bytes.Buffer)
	defer scratch.Put(b)
	b.Reset()
	// Keys in yaml.v3's order: apiVersion, data, kind, metadata, type;
	// annotations, labels, name, namespace.
	b.WriteString("---\napiVersion: " + secretAPIVersion + "\ndata:\n")
	for _, k := range slices.Sorted(maps.Keys(s.data)) {
		writeDataKey(b, k)
		b.WriteByte('"') // writeQuoted: base64 is never escaped
		b.Write(base64.StdEncoding.AppendEncode(b.AvailableBuffer(), s.data[k]))
		b.WriteString("\"\n")
	}
	b.WriteString("kind: " + secretKind + "\nmetadata:\n")
	annotations := []string{contract.AnnotationOwner, s.owner}
	labels := []string{contract.LabelManagedBy, contract.ManagedBy, contract.LabelDelivery, contract.DeliveryInline}
	var theirLabels, theirAnnotations map[string]string
	if s.dest.Create {
		theirLabels, theirAnnotations = s.dest.Labels, s.dest.Annotations
	} else {
		annotations = append(annotations, argoSyncOptions, syncOptionNoPrune)
	}
	if !writeStringMap(b, "annotations", annotations, theirAnnotations) ||
		!writeStringMap(b, "labels", labels, theirLabels) ||
		!writePlainEntry(b, "name", s.dest.Name, 2) ||
		(s.ns != "" && !writePlainEntry(b, "namespace", s.ns, 2)) {
		return nil, false
	}
	if s.dest.Create {
		t := string(s.dest.Type)
		if t == "" {
			t = defaultSecretType
		}
		if !writePlainEntry(b, "type", t, 0) {
			return nil, false
		}
	}
	// As encodeObject: each document at its size, not the buffer's capacity.
	return bytes.Clone(b.Bytes()), true
}

// writeStringMap writes metadata's field (labels or annotations) as
// writePlainSecret does: ours (key, value, key, value...) and theirs, ours
// winning on conflict, Argo CD's tracking keys of theirs dropped
// (destinationSecret), in yaml.v3's key order. false: not plain.
func writeStringMap(b *bytes.Buffer, field string, ours []string, theirs map[string]string) bool {
	var room [8]string // most Secrets: ours and a few of theirs, no allocation
	keys := room[:0]
	for i := 0; i < len(ours); i += 2 {
		keys = append(keys, ours[i])
	}
	for k := range theirs {
		if _, mine := pairValue(ours, k); !mine && !contract.ArgoTracking(k, "") {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, yamlKeyCmp)
	b.WriteString("  " + field + ":\n")
	for _, k := range keys {
		v, mine := pairValue(ours, k)
		if !mine {
			v = theirs[k]
		}
		if !writePlainEntry(b, k, v, 4) {
			return false
		}
	}
	return true
}

// pairValue is k's value in pairs (key, value, key, value...).
func pairValue(pairs []string, k string) (string, bool) {
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i] == k {
			return pairs[i+1], true
		}
	}
	return "", false
}
