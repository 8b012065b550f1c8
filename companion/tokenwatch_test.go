package companion

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/vaultcmp/vaultcmp/vault"
)

// The token loop nudges the carriers of an identity once each time the
// identity becomes at risk, and only carriers that hold leases through it.
func TestAtRiskNudges(t *testing.T) {
	idA := &vault.Identity{Connection: vault.Connection{Address: "http://vault:8200"}, Auth: vault.AppRoleAuth("approle", "a", "")}
	idB := &vault.Identity{Connection: vault.Connection{Address: "http://vault:8200"}, Auth: vault.AppRoleAuth("approle", "b", "")}
	var h leaseHolders
	h.note(types.NamespacedName{Namespace: "team-a", Name: "c1"}, idA, true)
	h.note(types.NamespacedName{Namespace: "team-a", Name: "c2"}, idA, true)
	h.note(types.NamespacedName{Namespace: "team-b", Name: "c3"}, idB, true)
	h.note(types.NamespacedName{Namespace: "team-a", Name: "kv"}, idA, false) // holds no lease
	h.forget(types.NamespacedName{Namespace: "team-a", Name: "c2"})

	out := make(chan event.GenericEvent, 10)
	n := &atRiskNudger{out: out}
	drain := func() (got []string) {
		for {
			select {
			case ev := <-out:
				got = append(got, ev.Object.GetNamespace()+"/"+ev.Object.GetName())
			default:
				return got
			}
		}
	}
	n.nudge(t.Context(), []string{idA.Key()}, &h)
	assert.Equal(t, []string{"team-a/c1"}, drain())
	n.nudge(t.Context(), []string{idA.Key()}, &h)
	assert.Empty(t, drain(), "still at risk: nudged once")
	n.nudge(t.Context(), []string{idA.Key(), idB.Key()}, &h)
	assert.Equal(t, []string{"team-b/c3"}, drain())
	n.nudge(t.Context(), nil, &h)
	n.nudge(t.Context(), []string{idA.Key()}, &h)
	assert.Equal(t, []string{"team-a/c1"}, drain(), "at risk again")
}
