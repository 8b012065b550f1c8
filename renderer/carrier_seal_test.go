package renderer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// TestCarrierIsSealed: every carrier holds the seal of its own namespace,
// name and contract (with the owning Application) under the installation's
// key, and no carrier is written without a key.
func TestCarrierIsSealed(t *testing.T) {
	c := &contract.V1{Version: contract.Version, Delivery: contract.DeliveryInCluster, Application: "web",
		Object: contract.Object{Kind: v1beta1.KindVaultDynamicSecret, Name: "db", Namespace: "team-a",
			Dynamic: &v1beta1.VaultDynamicSecretSpec{Mount: "database", Path: "creds/ro", Destination: v1beta1.Destination{Name: "db"}}},
		Connection: contract.Connection{Address: "https://vault:8200"}}
	s, err := carrierSecret(c, []byte("k"))
	require.NoError(t, err)
	md := s["metadata"].(map[string]any)
	ann := md["annotations"].(map[string]any)
	body := []byte(ann[contract.AnnotationContract].(string))
	assert.Contains(t, string(body), `"application":"web"`)
	seal, _ := ann[contract.AnnotationSeal].(string)
	assert.NoError(t, contract.CheckSeal([]byte("k"), "team-a", "vaultcmp-vds.db", body, seal))
	assert.ErrorIs(t, contract.CheckSeal([]byte("other"), "team-a", "vaultcmp-vds.db", body, seal), contract.ErrBadSeal)
	again, err := carrierSecret(c, []byte("k"))
	require.NoError(t, err)
	assert.Equal(t, s, again, "deterministic")

	_, err = carrierSecret(c, nil)
	assert.ErrorContains(t, err, "HMAC key")
}
