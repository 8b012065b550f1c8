package contract_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

func pki() *contract.V1 {
	return &contract.V1{
		Version:  contract.Version,
		Delivery: contract.DeliveryInCluster,
		Object: contract.Object{Kind: v1beta1.KindVaultPKISecret, Name: "tls", Namespace: "app",
			PKI: &v1beta1.VaultPKISecretSpec{Mount: "pki", Role: "r", Destination: v1beta1.Destination{Name: "tls-secret", Create: true}}},
		Connection: contract.Connection{Address: "https://vault:8200", Headers: map[string]string{"b": "2", "a": "1"}},
		Auth:       &contract.Auth{Method: "kubernetes", Mount: "kubernetes", Role: "r", ServiceAccount: "sa"},
	}
}

func TestRoundTrip(t *testing.T) {
	c := pki()
	a, err := c.Marshal()
	require.NoError(t, err)
	b, err := c.Marshal()
	require.NoError(t, err)
	assert.Equal(t, a, b, "deterministic")
	assert.Contains(t, string(a), `"headers":{"a":"1","b":"2"}`, "sorted map keys")
	got, err := contract.Parse(contract.SecretType, a)
	require.NoError(t, err)
	assert.Equal(t, c, got)
	assert.Equal(t, "tls-secret", got.Object.Destination().Name)
	assert.Equal(t, "vaultcmp-pki.tls", contract.CarrierName(got.Object.Kind, got.Object.Name))
}

func TestParseRefuses(t *testing.T) {
	good, _ := pki().Marshal()
	for _, tc := range []struct {
		name, typ string
		mutate    func(*contract.V1)
		raw       string
		want      string
		unknown   bool
	}{
		{name: "other carrier type", typ: "vaultcmp.io/contract-v2", unknown: true, want: "contract-v2"},
		{name: "unknown version", raw: `{"version":"v9"}`, unknown: true, want: `"v9"`},
		{name: "not JSON", raw: `{`, want: "reading the contract"},
		{name: "kind without its spec", mutate: func(c *contract.V1) { c.Object.Kind = v1beta1.KindVaultDynamicSecret }, want: "exactly its own spec"},
		{name: "no address", mutate: func(c *contract.V1) { c.Connection.Address = "" }, want: "connection.address"},
		{name: "inline PKI", mutate: func(c *contract.V1) { c.Delivery = contract.DeliveryInline }, want: "only a VaultStaticSecret"},
		{name: "bad timeout", mutate: func(c *contract.V1) { c.Connection.Timeout = "soon" }, want: "connection.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, raw := contract.SecretType, good
			if tc.typ != "" {
				typ = tc.typ
			}
			if tc.raw != "" {
				raw = []byte(tc.raw)
			}
			if tc.mutate != nil {
				c := pki()
				tc.mutate(c)
				raw, _ = c.Marshal()
			}
			_, err := contract.Parse(typ, raw)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.unknown, errors.Is(err, contract.ErrUnknownVersion))
		})
	}
}

// A field added by a newer generate within v1 is ignored.
func TestParseIgnoresNewFields(t *testing.T) {
	b, _ := pki().Marshal()
	b = append([]byte(`{"addedLater":true,`), b[1:]...)
	_, err := contract.Parse(contract.SecretType, b)
	require.NoError(t, err)
}
