package renderer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shippedVSS is an inline or in-cluster VaultStaticSecret writing Secret
// "s", create as given.
func shippedVSS(name, delivery string, create bool) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: %s, annotations: {vaultcmp.io/delivery: %s}}
spec: {type: kv-v1, mount: kv, path: team/app, destination: {name: s, create: %t}}
`, name, delivery, create)
}

const shippedDoc = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, labels: {team: blue}}\ntype: Opaque\n"

// authDoc is the VaultAuth an in-cluster object's carrier names (the
// companion logs in with it; render reads with VAULT_TOKEN).
const authDoc = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: default}\nspec: {method: kubernetes, mount: kubernetes, kubernetes: {role: r, serviceAccount: default}}\n"

// Every rule of a shipped Secret and destination.create: false
// (createfalse.go), in both deliveries.
func TestShippedSecretRules(t *testing.T) {
	const pki = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata: {name: cert}
spec: {mount: pki, role: r, commonName: a.example, destination: {name: s}}
`
	tests := []struct {
		name    string
		docs    []string
		secrets int      // Secrets named "s" in the output
		labels  bool     // the one "s" keeps the shipped label
		data    bool     // the one "s" has data
		want    []string // problems, all of them
	}{
		{"inline: one Secret, shipped metadata, data from Vault", []string{shippedDoc, shippedVSS("a", "inline", false)}, 1, true, true, nil},
		{"inline: either order", []string{shippedVSS("a", "inline", false), shippedDoc}, 1, true, true, nil},
		{"in-cluster: the shipped Secret as it is, no data", []string{authDoc, shippedDoc, shippedVSS("a", "in-cluster", false)}, 1, true, false, nil},
		{"PKI (always in-cluster): the shipped Secret as it is", []string{authDoc, shippedDoc, pki}, 1, true, false, nil},
		{"create: true and a shipped Secret are two writers", []string{shippedDoc, shippedVSS("a", "inline", true)},
			0, false, false, []string{"spec.destination.name", "also written by", "destination.create: false"}},
		{"one pair per Secret: a second filler is refused", []string{shippedDoc, shippedVSS("a", "inline", false), shippedVSS("b", "inline", false)},
			0, false, false, []string{"spec.destination.name", "also written by"}},
		{"two shipped Secrets are still two writers", []string{shippedDoc, shippedDoc, shippedVSS("a", "inline", false)},
			0, false, false, []string{"metadata.name", "also written by"}},
		{"in-cluster: a shipped Secret with data is refused",
			[]string{strings.Replace(shippedDoc, "type: Opaque", "data: {user: YWxpY2U=}", 1), shippedVSS("a", "in-cluster", false)},
			0, false, false, []string{"data", "Argo CD would write this data back", "without data and stringData"}},
		{"in-cluster: a shipped Secret with stringData is refused",
			[]string{strings.Replace(shippedDoc, "type: Opaque", "stringData: {user: x}", 1), shippedVSS("a", "in-cluster", false)},
			0, false, false, []string{"stringData", "Argo CD would write this stringData back"}},
		{"inline: shipped stringData is dropped, the data is Vault's",
			[]string{strings.Replace(shippedDoc, "type: Opaque", "stringData: {user: stale}", 1), shippedVSS("a", "inline", false)}, 1, true, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode([]byte(strings.Join(tc.docs, "---\n")), "app.yaml")
			require.NoError(t, err)
			res, err := Render(t.Context(), objs, testOptions(newMem()))
			if len(tc.want) > 0 {
				var probs Problems
				require.True(t, errors.As(err, &probs), "want problems, got %v", err)
				require.Len(t, probs, 1, err.Error())
				for _, w := range tc.want {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			out, err := res.Objects()
			require.NoError(t, err)
			var found []map[string]any
			for _, o := range out {
				md, _ := o["metadata"].(map[string]any)
				if o["kind"] == "Secret" && md["name"] == "s" {
					found = append(found, o)
				}
			}
			require.Len(t, found, tc.secrets)
			s := found[0]
			md := s["metadata"].(map[string]any)
			if tc.labels {
				assert.Equal(t, map[string]any{"team": "blue"}, md["labels"], "the shipped metadata, nothing of vaultcmp's")
				assert.Nil(t, md["annotations"])
			}
			assert.Nil(t, s["stringData"])
			if tc.data {
				assert.Equal(t, map[string]any{"user": "YWxpY2U=", "_raw": "eyJ1c2VyIjoiYWxpY2UifQ=="}, s["data"])
			} else {
				assert.Nil(t, s["data"])
			}
		})
	}
}

// validate (offline) takes the same pairs: the placeholder note goes on the
// merged Secret, the shipped input is not changed.
func TestShippedSecretOffline(t *testing.T) {
	objs, err := Decode([]byte(shippedDoc+"---\n"+shippedVSS("a", "inline", false)), "app.yaml")
	require.NoError(t, err)
	shipped := objs[0]
	opts := testOptions(nil)
	opts.Vault, opts.Offline = nil, true
	res, err := Render(t.Context(), objs, opts)
	require.NoError(t, err)
	out, err := res.Objects()
	require.NoError(t, err)
	require.Len(t, out, 1)
	md := out[0]["metadata"].(map[string]any)
	assert.Contains(t, md["annotations"], AnnotationOffline)
	assert.Equal(t, map[string]any{"team": "blue"}, md["labels"])
	assert.Nil(t, shipped.Data["metadata"].(map[string]any)["annotations"], "the shipped input is not changed")
}
