package companion

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// Which carriers' targets the companion restarts, by delivery and object.
func TestInlineRollouts(t *testing.T) {
	f, tr := false, true
	targets := []v1beta1.RolloutRestartTarget{{Kind: v1beta1.RolloutKindArgoRollout, Name: "r"}}
	static := func(h *bool) *contract.Object {
		return &contract.Object{Static: &v1beta1.VaultStaticSecretSpec{HMACSecretData: h}}
	}
	for _, tc := range []struct {
		name string
		c    contract.V1
		want bool
	}{
		{"inline with targets", contract.V1{Delivery: contract.DeliveryInline, Object: *static(nil), RolloutTargets: targets}, true},
		{"inline, hmacSecretData true", contract.V1{Delivery: contract.DeliveryInline, Object: *static(&tr), RolloutTargets: targets}, true},
		{"inline, hmacSecretData false (VSO: no rollout)", contract.V1{Delivery: contract.DeliveryInline, Object: *static(&f), RolloutTargets: targets}, false},
		{"inline without targets (refreshAfter only)", contract.V1{Delivery: contract.DeliveryInline, Object: *static(nil)}, false},
		{"in-cluster: the handlers' own rollouts", contract.V1{Delivery: contract.DeliveryInCluster, Object: *static(nil), RolloutTargets: targets}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, inlineRollouts(&tc.c)) })
	}
}

// One rollout per change of the data in the cluster: none at first sight,
// none for the same data seen again (a renewal, a companion restart).
func TestNoteInlineData(t *testing.T) {
	var st State
	assert.False(t, noteInlineData(&st, "a"), "first sight")
	assert.Equal(t, st.Change, st.Rolled)
	assert.False(t, noteInlineData(&st, "a"), "the same data again")
	restarted := st // a companion restart reads the same state back
	assert.False(t, noteInlineData(&restarted, "a"))
	assert.True(t, noteInlineData(&st, "b"), "new data")
	assert.NotEqual(t, st.Change, st.Rolled, "due until Reconcile records the rollout")
	st.Rolled = st.Change
	assert.False(t, noteInlineData(&st, "b"), "rolled once")
}

// An inline carrier's status names what it watches.
func TestInlineMessage(t *testing.T) {
	targets := []v1beta1.RolloutRestartTarget{{Kind: v1beta1.RolloutKindDeployment, Name: "w"}}
	c := func(refresh string, tg []v1beta1.RolloutRestartTarget) *contract.V1 {
		return &contract.V1{Delivery: contract.DeliveryInline, RolloutTargets: tg,
			Object: contract.Object{Static: &v1beta1.VaultStaticSecretSpec{RefreshAfter: refresh}}}
	}
	assert.Equal(t, "Watching Vault for Argo CD", inlineMessage(c("1h", nil)))
	assert.Equal(t, "Watching Vault for Argo CD, and the Secret for rollouts", inlineMessage(c("1h", targets)))
	assert.Equal(t, "Watching the Secret for rollouts", inlineMessage(c("", targets)))
}
