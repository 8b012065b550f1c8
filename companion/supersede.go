package companion

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Bounds of what a changing contract can leave behind.
const (
	// maxRevokeAttempts bounds the retries of a superseded lease's
	// revocation while Vault is away; then it is given up, visibly.
	maxRevokeAttempts = 5
	// rolloutMinInterval is the least time between two rollout restarts
	// of one carrier's targets: a contract flipping every 2 s restarts them
	// at most twice a minute, each time with the data then current.
	rolloutMinInterval = 30 * time.Second
)

// errOldPending is a contract change while the lease of the contract
// before last is still not revoked: nothing new is issued until it is.
var errOldPending = errors.New("the contract changed again while the lease or certificate of an earlier contract is not yet revoked: nothing new is issued until it is")

// issuerOf is the issuer of what c issues, for a contract of digest d.
func issuerOf(c *contract.V1, d string) *Issuer {
	is := &Issuer{Contract: d, Connection: c.Connection, Auth: c.Auth, Destination: c.Object.Destination().Name}
	switch o := c.Object; {
	case o.Dynamic != nil:
		is.Namespace, is.Mount, is.Path = o.Dynamic.Namespace, o.Dynamic.Mount, o.Dynamic.Path
	case o.PKI != nil:
		is.Namespace, is.Mount, is.Path, is.Revoke = o.PKI.Namespace, o.PKI.Mount, o.PKI.Role, o.PKI.Revoke
	}
	return is
}

// supersede is the contract-change decision (pure): when st holds a lease
// or certificate issued under another contract than d, it moves it to
// st.Old (revoked once the new one is written), so the handler issues
// afresh; it refuses when st.Old is still held (at most one superseded
// lease per carrier). A state without a lease or certificate, or of the
// same contract, is left as it is.
func supersede(st *State, d string) error {
	if st.Contract == "" || st.Contract == d || (st.LeaseID == "" && st.Serial == "") {
		return nil
	}
	if st.Old != nil {
		return errOldPending
	}
	if st.Issuer == nil {
		// Not ours to revoke by another identity: forget it (it expires).
		st.LeaseID, st.Serial = "", ""
		return nil
	}
	st.Old = &Held{LeaseID: st.LeaseID, Serial: st.Serial, Issuer: *st.Issuer}
	st.LeaseID, st.Serial, st.Issuer = "", "", nil
	return nil
}

// recordIssuer notes, after a successful handler, how the lease or
// certificate in st was issued (under the current contract c of digest d).
func recordIssuer(st *State, c *contract.V1, d string) {
	switch {
	case st.LeaseID == "" && st.Serial == "":
		st.Issuer = nil
	case st.Issuer == nil || st.Issuer.Contract != d:
		st.Issuer = issuerOf(c, d)
	}
}

// revokeHeld revokes a lease or certificate with the identity that issued
// it (is, checked with the contract's rules first): a lease only if it lies
// under the issuing object's own path (ownLeaseAt), a certificate with the
// private key its destination Secret holds (revoke-with-key).
func (r *Reconciler) revokeHeld(ctx context.Context, carrier *corev1.Secret, leaseID, serial string, is *Issuer) (string, error) {
	if leaseID == "" && (serial == "" || !is.Revoke) {
		return "", nil
	}
	if leaseID != "" {
		if err := ownLeaseAt(is.Mount, is.Path, leaseID); err != nil {
			return "", err
		}
	}
	if err := contract.ValidateIdentity(is.Connection, is.Auth); err != nil {
		return "", err
	}
	c := &contract.V1{Connection: is.Connection, Auth: is.Auth}
	id, err := nsCredentials{kube: r.Kube}.identity(ctx, carrier.Namespace, c)
	if err != nil {
		return "", err
	}
	if leaseID != "" {
		return "LeaseRevoked", r.Vault.RevokeLease(ctx, id, leaseID)
	}
	c.Object.PKI = &v1beta1.VaultPKISecretSpec{Mount: is.Mount, Role: is.Path, Destination: v1beta1.Destination{Name: is.Destination}}
	return "CertificateRevoked", r.revokeCertificate(ctx, carrier, c, id, serial, nil)
}

// revokeOld revokes st.Old, the superseded lease or certificate, and
// reports whether st changed. A final failure, or the last of
// maxRevokeAttempts, gives it up with a warning Event.
func (r *Reconciler) revokeOld(ctx context.Context, carrier *corev1.Secret, st *State) bool {
	h := st.Old
	if h == nil {
		return false
	}
	reason, err := r.revokeHeld(ctx, carrier, h.LeaseID, h.Serial, &h.Issuer)
	switch {
	case err == nil:
		if reason != "" {
			r.Recorder.Event(carrier, corev1.EventTypeNormal, reason, "revoked what the previous contract issued")
		}
		st.Old = nil
	case vault.Retryable(err) && h.Attempts+1 < maxRevokeAttempts:
		h.Attempts++
		r.Recorder.Event(carrier, corev1.EventTypeWarning, "RevokeError", fmt.Sprintf("revoking what the previous contract issued (attempt %d): %s", h.Attempts, errorMessage(err)))
	default:
		r.Recorder.Event(carrier, corev1.EventTypeWarning, "RevokeError", "revoking what the previous contract issued (giving up): "+errorMessage(err))
		st.Old = nil
	}
	return true
}

// rolloutWait is how long a due rollout must still wait (rolloutMinInterval
// after the last one); 0 when it may run now.
func rolloutWait(st State, now time.Time) time.Duration {
	if st.RolledAt.IsZero() {
		return 0
	}
	return max(st.RolledAt.Add(rolloutMinInterval).Sub(now), 0)
}

// requeue is when to come back after a success: at st.NextAt, or sooner
// for a rollout that waits (rolloutWait) or a superseded lease still to
// revoke; 0 (never) when nothing is due.
func (r *Reconciler) requeue(st State, rolloutIn time.Duration) time.Duration {
	var next time.Duration
	if !st.NextAt.IsZero() {
		next = max(st.NextAt.Sub(r.now()), time.Second)
	}
	soonest := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = max(d, time.Second)
		}
	}
	soonest(rolloutIn)
	if st.Old != nil {
		soonest(r.backoff(st.Old.Attempts + 1))
	}
	return next
}
