package companion

import (
	"encoding/json"
	"time"

	"github.com/vaultcmp/vaultcmp/contract"
)

// Annotations the companion writes on a carrier. Argo CD's diff ignores them:
// they are not in the desired manifest.
const (
	AnnotationState = "vaultcmp.io/state" // State, JSON
	// AnnotationStateSeal is the seal of AnnotationState (contract.SealState
	// over the carrier's namespace, name and uid): a state that does not
	// verify was not written by this installation's companion for this
	// carrier, and is ignored.
	AnnotationStateSeal = "vaultcmp.io/state-seal"
	AnnotationStatus    = "vaultcmp.io/status"  // StatusSynced or StatusError; read by the health check
	AnnotationMessage   = "vaultcmp.io/message" // why; never a value
	StatusSynced        = "Synced"
	StatusError         = "Error"

	// Finalizer makes a carrier's deletion wait until the companion has
	// revoked its lease or certificate.
	Finalizer = "vaultcmp.io/revoke"
	// KeyFinalizer keeps a destination Secret the companion created for a
	// VaultPKISecret with revoke: true until the carrier's finalizer has
	// revoked its certificate with the private key it holds
	// (revoke-with-key): the garbage collector cannot delete the key first
	// (keep.go).
	KeyFinalizer = "vaultcmp.io/revoke-key"
	// FieldManager names every write of the companion.
	FieldManager = "vaultcmp-companion"
	// AnnotationRestartedAt is the pod-template annotation of a rollout
	// restart: VSO's own key (helpers/rollout_restart.go), so a workload
	// moved from VSO keeps one annotation and tools that read it still do.
	AnnotationRestartedAt = "vso.secrets.hashicorp.com/restartedAt"
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
	// IssuedAt is when the current lease or certificate was issued: the
	// next issue waits for the re-issue floor after it (floors.go).
	IssuedAt time.Time `json:"issuedAt,omitzero"`

	// DataHMAC is the keyed HMAC of the data last written.
	DataHMAC string `json:"dataHMAC,omitempty"`
	// KVVersion is, for an inline secret, the version Argo CD was last asked
	// to refresh for.
	KVVersion int    `json:"kvVersion,omitempty"`
	Refreshed string `json:"refreshed,omitempty"` // what was last refreshed for (version or HMAC)
	// VaultAt is when an inline carrier next reads Vault (refreshAfter),
	// NextAt being sooner for its rollout watch (rolloutinline.go).
	VaultAt time.Time `json:"vaultAt,omitzero"`

	// NextAt is when the companion next acts (renew, re-issue, re-read).
	NextAt time.Time `json:"nextAt,omitzero"`
	// Change identifies the data last written; Rolled is the change the
	// rollout targets were last restarted for.
	Change string `json:"change,omitempty"`
	Rolled string `json:"rolled,omitempty"`
	// Retries counts failures since the last success (for backoff).
	Retries int `json:"retries,omitempty"`

	// Issuer is how LeaseID or Serial was issued: enough to revoke it
	// whatever the contract has become since (edited, unreadable, deleted).
	Issuer *Issuer `json:"issuer,omitempty"`
	// Old is the lease or certificate of the previous contract, kept until
	// it is revoked (after the new one is written); while it is held, a
	// further contract change issues nothing (at most one superseded lease
	// per carrier).
	Old *Held `json:"old,omitempty"`
	// RolledAt is when the rollout targets were last restarted: rollouts
	// are at least rolloutMinInterval apart.
	RolledAt time.Time `json:"rolledAt,omitzero"`
	// RetryAt is when a failed carrier may be tried again, FailedInput the
	// digest of the carrier that failed (backoff.go): the same carrier waits
	// until RetryAt, a changed one is tried at once.
	RetryAt     time.Time `json:"retryAt,omitzero"`
	FailedInput string    `json:"failedInput,omitempty"`
}

// Issuer is the connection and auth (by names: no credential) of the
// contract a lease or certificate was issued under, and where in Vault:
// the identity that revokes it.
type Issuer struct {
	// Contract is the digest of the issuing contract.
	Contract   string              `json:"contract"`
	Connection contract.Connection `json:"connection"`
	Auth       *contract.Auth      `json:"auth,omitempty"`
	// Namespace, Mount and Path are the object's Vault namespace, mount and
	// path (PKI: role) of the issue.
	Namespace string `json:"namespace,omitempty"`
	Mount     string `json:"mount,omitempty"`
	Path      string `json:"path,omitempty"`
	// Revoke is a VaultPKISecret's spec.revoke: its certificates are revoked
	// when replaced or deleted.
	Revoke bool `json:"revoke,omitempty"`
	// Destination is the destination Secret's name: a certificate is
	// revoked with the private key it holds (revoke-with-key).
	Destination string `json:"destination,omitempty"`
}

// Held is a lease or certificate issued under a previous contract.
type Held struct {
	LeaseID  string `json:"leaseID,omitempty"`
	Serial   string `json:"serial,omitempty"`
	Issuer   Issuer `json:"issuer"`
	Attempts int    `json:"attempts,omitempty"` // failed revocations
}

func (st State) encode() string {
	b, _ := json.Marshal(st) // plain fields always marshal
	return string(b)
}
