package renderer

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
)

// TestInlineCheck: Options.InlineCheck is asked about exactly the objects
// whose values the output would hold, before anything is read from Vault,
// and its error refuses the render.
func TestInlineCheck(t *testing.T) {
	refused := errors.New("refused")
	const second = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: other, namespace: webapp-ns, annotations: {vaultcmp.io/delivery: %s}}\n" +
		"spec: {type: kv-v2, mount: secret, path: webapp/config, vaultAuthRef: vault-auth-k8s, destination: {name: other, create: true}}\n"
	for _, tc := range []struct {
		name     string
		delivery string
		// the annotation of a second VaultStaticSecret, "" for none
		annotation string
		answer     error
		want       []string // what the check is asked; nil: not asked
	}{
		{name: "inline: asked, allowed", delivery: contract.DeliveryInline,
			want: []string{"VaultStaticSecret webapp-ns/webapp-config"}},
		{name: "inline: asked, refused", delivery: contract.DeliveryInline, answer: refused,
			want: []string{"VaultStaticSecret webapp-ns/webapp-config"}},
		{name: "in-cluster: not asked", delivery: contract.DeliveryInCluster},
		{name: "in-cluster with one inline by annotation: asked about that one", delivery: contract.DeliveryInCluster,
			annotation: contract.DeliveryInline, answer: refused, want: []string{"VaultStaticSecret webapp-ns/other"}},
		{name: "inline with one in-cluster by annotation: asked about the others", delivery: contract.DeliveryInline,
			annotation: contract.DeliveryInCluster, want: []string{"VaultStaticSecret webapp-ns/webapp-config"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Load("../examples/webapp")
			require.NoError(t, err)
			if tc.annotation != "" {
				more, err := Decode([]byte(fmt.Sprintf(second, tc.annotation)), "second.yaml")
				require.NoError(t, err)
				objs = append(objs, more...)
			}
			mem := newMem()
			opts := testOptions(mem)
			opts.Delivery = tc.delivery
			opts.Application = "webapp"
			var asked [][]string
			opts.InlineCheck = func(_ context.Context, inline []string) error {
				asked = append(asked, inline)
				mem.mu.Lock()
				defer mem.mu.Unlock()
				assert.Empty(t, mem.reads, "asked before any Vault read")
				return tc.answer
			}
			res, err := Render(t.Context(), objs, opts)
			if tc.want == nil {
				assert.Empty(t, asked)
			} else {
				assert.Equal(t, [][]string{tc.want}, asked, "asked once, about the inline objects")
			}
			if tc.answer != nil {
				require.ErrorIs(t, err, tc.answer)
				assert.Nil(t, res, "no output")
				assert.Empty(t, mem.reads, "nothing read from Vault")
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, res)
		})
	}
}
