package companion

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vaultcmp/vaultcmp/contract"
)

// The refresh decision: Argo CD is asked once per change in Vault that the
// carrier does not show yet, for in-cluster and inline static secrets
// alike; never for the data the carrier already names (the sync of the
// new carrier refreshes nothing more).
func TestNeedsRefresh(t *testing.T) {
	v3 := &contract.V1{Static: &contract.StaticState{KVVersion: 3}}
	h := &contract.V1{Static: &contract.StaticState{DataHMAC: "aa"}}
	for _, tc := range []struct {
		name    string
		c       *contract.V1
		st      State
		current string
		want    bool
	}{
		{"the carrier names this version", v3, State{}, "3", false},
		{"a new version", v3, State{}, "4", true},
		{"already asked for it", v3, State{Refreshed: "4"}, "4", false},
		{"a newer one since", v3, State{Refreshed: "4"}, "5", true},
		{"the carrier synced to the new version", &contract.V1{Static: &contract.StaticState{KVVersion: 4}}, State{Refreshed: "4"}, "4", false},
		{"kv-v1: the same HMAC", h, State{}, "aa", false},
		{"kv-v1: another HMAC", h, State{}, "bb", true},
		{"nothing known of Vault's data", v3, State{}, "", false},
		{"a carrier without KV state", &contract.V1{}, State{}, "3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, needsRefresh(tc.c, tc.st, tc.current))
		})
	}
}

func TestKVState(t *testing.T) {
	data := map[string][]byte{"k": []byte("v")}
	assert.Equal(t, "7", kvState(7, []byte("key"), data))
	assert.Equal(t, contract.DataHMAC([]byte("key"), data), kvState(0, []byte("key"), data))
	assert.Empty(t, kvState(0, nil, data), "no key: no HMAC")
	assert.Empty(t, kvState(0, []byte("key"), nil), "no data read")
}
