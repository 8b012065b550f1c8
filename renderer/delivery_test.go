package renderer

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
)

// The default delivery is in-cluster: no Secret and no value in the
// output, a carrier in an early sync wave (or the wave the user gave the
// Vault object); inline is an explicit choice (option or annotation), and
// an inline object's carrier (refreshAfter) holds no wave.
func TestDefaultDeliveryAndSyncWave(t *testing.T) {
	const vss = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: default}
spec: {method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app}}
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: s
%s
spec: {type: kv-v2, mount: secret, path: webapp/config, refreshAfter: 30s, destination: {name: s-secret, create: true}}
`
	for _, tc := range []struct {
		name, delivery, meta string
		wantSecret           bool   // the destination Secret, with its value, in the output
		wantDelivery         string // the carrier's label
		wantWave             string // the carrier's sync wave ("": none)
	}{
		{"default", "", "", false, contract.DeliveryInCluster, CarrierSyncWave},
		{"default, the user's wave", "", "  annotations: {argocd.argoproj.io/sync-wave: \"3\"}", false, contract.DeliveryInCluster, "3"},
		{"in-cluster by option", contract.DeliveryInCluster, "", false, contract.DeliveryInCluster, CarrierSyncWave},
		{"inline by option", contract.DeliveryInline, "", true, contract.DeliveryInline, ""},
		{"inline by annotation", "", "  annotations: {vaultcmp.io/delivery: inline}", true, contract.DeliveryInline, ""},
		{"in-cluster by annotation over inline", contract.DeliveryInline, "  annotations: {vaultcmp.io/delivery: in-cluster}", false, contract.DeliveryInCluster, CarrierSyncWave},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode([]byte(strings.Replace(vss, "%s\n", tc.meta+"\n", 1)), "s.yaml")
			require.NoError(t, err)
			opts := testOptions(newMem())
			opts.Delivery = tc.delivery
			res, err := Render(t.Context(), objs, opts)
			require.NoError(t, err)
			out, err := res.Objects()
			require.NoError(t, err)
			var secret, carrier map[string]any
			for _, o := range out {
				md := o["metadata"].(map[string]any)
				switch md["name"] {
				case "s-secret":
					secret = o
				case contract.CarrierName("VaultStaticSecret", "s"):
					carrier = md
				}
			}
			assert.Equal(t, tc.wantSecret, secret != nil, "the destination Secret in the output")
			var b bytes.Buffer
			require.NoError(t, res.WriteYAML(&b))
			assert.Equal(t, tc.wantSecret, strings.Contains(b.String(), "cDRzcw=="), "the value (db_pass) in the output")
			require.NotNil(t, carrier, "the carrier")
			assert.Equal(t, tc.wantDelivery, carrier["labels"].(map[string]any)[contract.LabelDelivery])
			wave, _ := carrier["annotations"].(map[string]any)[AnnotationSyncWave].(string)
			assert.Equal(t, tc.wantWave, wave)
		})
	}
}

// A carrier's contract must let the companion log in: VAULT_TOKEN is
// render's own login, so an in-cluster object without a VaultAuth is
// refused (inline, render's token reads Vault and nothing is left to the
// companion).
func TestInClusterNeedsAVaultAuth(t *testing.T) {
	const vss = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: c}\nspec: {type: kv-v2, mount: secret, path: webapp/config, destination: {name: c, create: true}}\n"
	objs, err := Decode([]byte(vss), "c.yaml")
	require.NoError(t, err)
	opts := testOptions(newMem()) // VAULT_TOKEN, no VaultAuth
	opts.Delivery = ""
	_, err = Render(t.Context(), objs, opts)
	var probs Problems
	require.ErrorAs(t, err, &probs)
	require.Len(t, probs, 1)
	assert.Contains(t, probs[0].Error(), "the companion logs in with a VaultAuth")
	opts.Delivery = contract.DeliveryInline
	objs, err = Decode([]byte(vss), "c.yaml")
	require.NoError(t, err)
	_, err = Render(t.Context(), objs, opts)
	require.NoError(t, err)
}
