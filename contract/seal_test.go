package contract_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vaultcmp/vaultcmp/contract"
)

func TestSealBindsPlaceContractAndKey(t *testing.T) {
	key, body := []byte("k"), []byte(`{"version":"v1"}`)
	seal := contract.Seal(key, "team-a", "vaultcmp-vds.db", body)
	assert.NoError(t, contract.CheckSeal(key, "team-a", "vaultcmp-vds.db", body, seal))
	for name, err := range map[string]error{
		"another namespace": contract.CheckSeal(key, "team-b", "vaultcmp-vds.db", body, seal),
		"another name":      contract.CheckSeal(key, "team-a", "vaultcmp-vds.other", body, seal),
		"another contract":  contract.CheckSeal(key, "team-a", "vaultcmp-vds.db", []byte(`{"version":"v2"}`), seal),
		"another key":       contract.CheckSeal([]byte("k2"), "team-a", "vaultcmp-vds.db", body, seal),
		"fields shifted":    contract.CheckSeal(key, "team-a", "vaultcmp-vds.d", append([]byte("b"), body...), seal),
	} {
		assert.True(t, errors.Is(err, contract.ErrBadSeal), "%s: %v", name, err)
	}
	assert.ErrorIs(t, contract.CheckSeal(key, "team-a", "vaultcmp-vds.db", body, ""), contract.ErrUnsealed)
}

func TestStateSealIsNotACarrierSeal(t *testing.T) {
	key, body := []byte("k"), []byte(`{}`)
	st := contract.SealState(key, "ns", "c", "uid-1", body)
	assert.NoError(t, contract.CheckStateSeal(key, "ns", "c", "uid-1", body, st))
	assert.ErrorIs(t, contract.CheckStateSeal(key, "ns", "c", "uid-2", body, st), contract.ErrBadSeal)
	assert.NotEqual(t, contract.Seal(key, "ns", "c", body), contract.SealState(key, "ns", "c", "", body))
	assert.Error(t, contract.CheckStateSeal(key, "ns", "c", "uid-1", body, ""))
}
