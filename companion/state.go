package companion

import (
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Annotations the companion writes on a carrier. Argo CD's diff ignores them:
// they are not in the desired manifest.
const (
	AnnotationState   = "vaultcmp.io/state"   // State, JSON
	AnnotationStatus  = "vaultcmp.io/status"  // StatusSynced or StatusError; read by the health check
	AnnotationMessage = "vaultcmp.io/message" // why; never a value
	StatusSynced      = "Synced"
	StatusError       = "Error"

	// Finalizer makes a carrier's deletion wait until the companion has
	// revoked its lease or certificate.
	Finalizer = "vaultcmp.io/revoke"
	// FieldManager names every write of the companion.
	FieldManager = "vaultcmp-companion"
	// AnnotationRestartedAt is the pod-template annotation of a rollout restart.
	AnnotationRestartedAt = "vaultcmp.io/restartedAt"
)

// State is what the companion remembers of a carrier, on the carrier: lease,
// certificate and schedule, and the change ids that decide rollouts.
type State struct {
	// Contract is the digest of the contract the data was issued for: a new
	// contract (spec changed in git) means a new issue.
	Contract string `json:"contract,omitempty"`

	LeaseID        string    `json:"leaseID,omitempty"`
	LeaseDuration  int64     `json:"leaseDuration,omitempty"` // seconds
	Renewable      bool      `json:"renewable,omitempty"`
	LeaseExpiresAt time.Time `json:"leaseExpiresAt,omitzero"`
	// TokenGen and Runtime name the Vault token that created the lease
	// (vault.DynamicSecret.TokenGeneration in the process Runtime): Vault
	// revokes a lease when that token expires.
	TokenGen uint64 `json:"tokenGen,omitempty"`
	Runtime  string `json:"runtime,omitempty"`

	Serial     string    `json:"serial,omitempty"`
	Expiration time.Time `json:"expiration,omitzero"`

	// DataHMAC is the keyed HMAC of the data last written.
	DataHMAC string `json:"dataHMAC,omitempty"`
	// KVVersion is, for an inline secret, the version Argo CD was last asked
	// to refresh for.
	KVVersion int    `json:"kvVersion,omitempty"`
	Refreshed string `json:"refreshed,omitempty"` // what was last refreshed for (version or HMAC)

	// NextAt is when the companion next acts (renew, re-issue, re-read).
	NextAt time.Time `json:"nextAt,omitzero"`
	// Change identifies the data last written; Rolled is the change the
	// rollout targets were last restarted for.
	Change string `json:"change,omitempty"`
	Rolled string `json:"rolled,omitempty"`
	// Retries counts failures since the last success (for backoff).
	Retries int `json:"retries,omitempty"`
	// RetryAt is when a failed carrier may be tried again, FailedInput the
	// digest of the carrier that failed (backoff.go): the same carrier waits
	// until RetryAt, a changed one is tried at once.
	RetryAt     time.Time `json:"retryAt,omitzero"`
	FailedInput string    `json:"failedInput,omitempty"`
}

func readState(s *corev1.Secret) (State, error) {
	var st State
	raw := s.Annotations[AnnotationState]
	if raw == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return State{}, fmt.Errorf("reading annotation %s: %w", AnnotationState, err)
	}
	return st, nil
}

func (st State) encode() string {
	b, _ := json.Marshal(st) // plain fields always marshal
	return string(b)
}
