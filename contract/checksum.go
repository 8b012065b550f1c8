package contract

import (
	"crypto/sha256"
	"encoding/hex"
)

// ChecksumAnnotationPrefix prefixes the pod-template annotation that makes
// a workload of the app's output roll when a Secret rendered inline
// changes: one annotation per Secret, "checksum.vaultcmp.io/<secret name>",
// its value the Secret's DataHMAC. generate writes it; the companion reads
// it to leave those workloads to Argo CD (an inline Secret's rollout
// targets that do not carry it are the companion's to restart).
const ChecksumAnnotationPrefix = "checksum.vaultcmp.io/"

// ChecksumAnnotation is the annotation key for a Secret name; annotation
// names are at most 63 characters, so long Secret names are shortened with
// a digest of the full name.
func ChecksumAnnotation(secret string) string {
	if len(secret) <= 63 {
		return ChecksumAnnotationPrefix + secret
	}
	sum := sha256.Sum256([]byte(secret))
	return ChecksumAnnotationPrefix + secret[:54] + "-" + hex.EncodeToString(sum[:4])
}
