package renderer

import (
	"errors"
	"strings"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// AnnotationChecksumPrefix prefixes the pod-template annotation that makes a
// workload roll when a Secret it uses changes: one annotation per Secret,
// "checksum.vaultcmp.io/<secret name>" (contract.ChecksumAnnotation).
const AnnotationChecksumPrefix = contract.ChecksumAnnotationPrefix

// Checksum is the keyed HMAC-SHA256 of a Secret's data (contract.DataHMAC,
// which the companion computes too): it changes exactly when the data
// changes, and tells nothing about the data without the key.
func Checksum(key []byte, data map[string][]byte) string { return contract.DataHMAC(key, data) }

func checksumAnnotation(secret string) string { return contract.ChecksumAnnotation(secret) }

// addRolloutAnnotations sets the checksum annotations on the rollout targets
// found in objs; the companion restarts the others (companionRollouts).
func addRolloutAnnotations(objs []map[string]any, jobs []*job, defaultNS string, key []byte) error {
	for _, j := range jobs {
		targets := j.vss.Spec.RolloutRestartTargets
		if len(targets) == 0 || j.inCluster { // the companion restarts them
			continue
		}
		if !j.vss.HMACEnabled() {
			continue // v1beta1.IgnoredFields warns
		}
		if len(key) == 0 {
			return errors.New("renderer: rollout targets need an HMAC key")
		}
		sum := Checksum(key, j.data)
		for _, t := range targets {
			if t.Kind == v1beta1.RolloutKindArgoRollout {
				continue // the companion sets spec.restartAt, as VSO (rolloutinline.go)
			}
			if w := findWorkload(objs, t.Kind, t.Name, j.vo.ns, defaultNS); w != nil {
				setPodAnnotation(w, checksumAnnotation(j.vss.Spec.Destination.Name), sum)
			} // else: outside the app's output, the companion restarts it
		}
	}
	return nil
}

// companionRollouts tells whether an inline VaultStaticSecret has rollout
// targets that the companion restarts after a change, as VSO does: an
// argo.Rollout (spec.restartAt) or a workload outside the app's output (its
// pod template's vso.secrets.hashicorp.com/restartedAt). generate gives
// such an object a carrier (delivery inline) even without refreshAfter; the
// workloads of the output get the checksum annotation instead and restart
// with Argo CD's sync.
func companionRollouts(vss *v1beta1.VaultStaticSecret, ns string, dec *decoded, defaultNS string) bool {
	if len(vss.Spec.RolloutRestartTargets) == 0 || !vss.HMACEnabled() {
		return false
	}
	var plain []map[string]any
	for _, o := range dec.objs {
		if dec.vault[o] == nil {
			plain = append(plain, o.Data)
		}
	}
	for _, t := range vss.Spec.RolloutRestartTargets {
		if t.Kind == v1beta1.RolloutKindArgoRollout || findWorkload(plain, t.Kind, t.Name, ns, defaultNS) == nil {
			return true
		}
	}
	return false
}

func findWorkload(objs []map[string]any, targetKind, name, ns, defaultNS string) map[string]any {
	want, ok := v1beta1.RolloutResourceOf(targetKind)
	if !ok {
		return nil
	}
	for _, o := range objs {
		av, _ := o["apiVersion"].(string)
		kind, _ := o["kind"].(string)
		md, _ := o["metadata"].(map[string]any)
		if kind != want.Kind || !strings.HasPrefix(av, want.Group+"/") || md == nil {
			continue
		}
		oname, _ := md["name"].(string)
		ons, _ := md["namespace"].(string)
		if ons == "" {
			ons = defaultNS
		}
		if oname == name && ons == ns {
			return o
		}
	}
	return nil
}

// setPodAnnotation sets spec.template.metadata.annotations[k] = v, creating
// the maps on the way.
func setPodAnnotation(obj map[string]any, k, v string) {
	m := obj
	for _, f := range []string{"spec", "template", "metadata", "annotations"} {
		next, ok := m[f].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[f] = next
		}
		m = next
	}
	m[k] = v
}
