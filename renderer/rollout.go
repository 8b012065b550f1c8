package renderer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/internal/names"
)

// AnnotationChecksumPrefix prefixes the pod-template annotation that makes a
// workload roll when a Secret it uses changes: one annotation per Secret,
// "checksum.vaultcmp.io/<secret name>".
const AnnotationChecksumPrefix = "checksum.vaultcmp.io/"

// Checksum is the keyed HMAC-SHA256 of a Secret's data (contract.DataHMAC,
// which the companion computes too): it changes exactly when the data
// changes, and tells nothing about the data without the key.
func Checksum(key []byte, data map[string][]byte) string { return contract.DataHMAC(key, data) }

// checksumAnnotation is the annotation key for a Secret name; annotation
// names are at most 63 characters, so long Secret names are shortened with
// a digest of the full name.
func checksumAnnotation(secret string) string {
	if len(secret) <= 63 {
		return AnnotationChecksumPrefix + secret
	}
	sum := sha256.Sum256([]byte(secret))
	return AnnotationChecksumPrefix + secret[:54] + "-" + hex.EncodeToString(sum[:4])
}

// addRolloutAnnotations sets the checksum annotations on the rollout targets
// found in objs and warns about targets that are not there.
func addRolloutAnnotations(objs []map[string]any, jobs []*job, defaultNS string, key []byte) ([]string, error) {
	var warnings []string
	for _, j := range jobs {
		targets := j.vss.Spec.RolloutRestartTargets
		if len(targets) == 0 || j.inCluster { // the companion restarts them
			continue
		}
		if !j.vss.HMACEnabled() {
			continue // v1beta1.IgnoredFields warns
		}
		if len(key) == 0 {
			return nil, errors.New("renderer: rollout targets need an HMAC key")
		}
		sum := Checksum(key, j.data)
		for _, t := range targets {
			w := findWorkload(objs, t.Kind, t.Name, j.vo.ns, defaultNS)
			if w == nil {
				warnings = append(warnings, fmt.Sprintf("%s: rollout target %s %s is not in this app's output: it will not restart when Secret %s changes",
					j.vo.src.Where(), t.Kind, names.Qualified(j.vo.ns, t.Name), j.vss.Spec.Destination.Name))
				continue
			}
			setPodAnnotation(w, checksumAnnotation(j.vss.Spec.Destination.Name), sum)
		}
	}
	return warnings, nil
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
