package companion

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/vaultcmp/vaultcmp/vault"
)

// A carrier must not say Synced while the Vault token that holds its lease
// is failing: Vault revokes a lease when the token that created it expires.
// The token loop (manager.go) renews tokens outside any reconcile; when an
// identity's leases become at risk (vault.Lifecycle.AtRiskIdentities: the
// renewal and the new login failed, or a new login replaced the token that
// created a lease), it nudges the carriers holding leases through that
// identity, and their reconcile (heldTokenHealth) either reports the failure
// (status Error, retried with backoff) or issues new credentials before the
// old token ends.

// leaseHolders remembers, for each carrier holding a lease, the identity it
// was last synced with. Bounded by the carriers with leases; forgotten when
// a carrier is deleted or holds no lease any more.
type leaseHolders struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*vault.Identity
}

// note records that carrier nn was synced with id, holding a lease or not.
func (h *leaseHolders) note(nn types.NamespacedName, id *vault.Identity, holds bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !holds || id == nil {
		delete(h.m, nn)
		return
	}
	if h.m == nil {
		h.m = map[types.NamespacedName]*vault.Identity{}
	}
	h.m[nn] = id
}

func (h *leaseHolders) forget(nn types.NamespacedName) { h.note(nn, nil, false) }

func (h *leaseHolders) get(nn types.NamespacedName) *vault.Identity {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[nn]
}

// carriersOf lists the carriers whose identity key is in keys.
func (h *leaseHolders) carriersOf(keys map[string]bool) []types.NamespacedName {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []types.NamespacedName
	for nn, id := range h.m {
		if keys[id.Key()] {
			out = append(out, nn)
		}
	}
	return out
}

// heldTokenHealth looks at the token behind carrier nn's lease: an error
// while the Lifecycle's last attempt to renew or replace it failed; a lease
// created by a replaced token makes st due now (the dynamic handler then
// issues new credentials).
func (r *Reconciler) heldTokenHealth(nn types.NamespacedName, st *State) error {
	id := r.holders.get(nn)
	if id == nil {
		return nil
	}
	if err := r.Vault.TokenTrouble(id); err != nil {
		// The token loop's last attempt failed (it tries again every few
		// seconds and clears this on success): say so now, before Vault
		// revokes the lease with the token, rather than ask Vault again.
		return fmt.Errorf("the Vault token holding this carrier's lease could not be renewed or replaced; Vault revokes the lease when the token expires: %w", err)
	}
	if st.LeaseID != "" && st.Runtime == r.Runtime && st.TokenGen != 0 {
		if _, superseded := r.Vault.TokenDeadline(id, st.TokenGen); superseded {
			if now := r.now(); st.NextAt.IsZero() || now.Before(st.NextAt) {
				st.NextAt = now
			}
		}
	}
	return nil
}

// atRiskNudger turns the Lifecycle's at-risk identities into reconciles of
// the carriers holding their leases, once per identity each time it
// becomes at risk.
type atRiskNudger struct {
	prev map[string]bool
	out  chan<- event.GenericEvent
}

// nudge sends the carriers of identities newly in keys.
func (n *atRiskNudger) nudge(ctx context.Context, keys []string, h *leaseHolders) {
	now := map[string]bool{}
	fresh := map[string]bool{}
	for _, k := range keys {
		now[k] = true
		if !n.prev[k] {
			fresh[k] = true
		}
	}
	n.prev = now
	if len(fresh) == 0 {
		return
	}
	for _, nn := range h.carriersOf(fresh) {
		ev := event.GenericEvent{Object: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nn.Namespace, Name: nn.Name}}}
		select {
		case n.out <- ev:
		case <-ctx.Done():
			return
		}
	}
}
