package renderer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/limits"
)

// Schedules below the operator's floors are refused by render and generate,
// naming the field, the floor, its flag and its variable; at the floor, or
// with the floor lowered, they pass.
func TestFloorsRefused(t *testing.T) {
	const auth = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: default}
spec: {method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app}}
---
`
	vss := func(refresh string) string {
		return auth + `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: app, annotations: {vaultcmp.io/delivery: in-cluster}}
spec: {type: kv-v2, mount: secret, path: app, refreshAfter: ` + refresh + `, destination: {name: app, create: true}}
`
	}
	vds := func(refresh string) string {
		return auth + `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata: {name: db}
spec: {mount: database, path: creds/ro, refreshAfter: ` + refresh + `, destination: {name: db, create: true}}
`
	}
	pki := func(ttl, offset string) string {
		return auth + `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata: {name: tls}
spec: {mount: pki, role: web, commonName: a.example.com, ttl: ` + ttl + `, expiryOffset: ` + offset + `, destination: {name: tls, create: true}}
`
	}
	lowered := limits.Default()
	lowered.MinRefreshAfter, lowered.MinReissueInterval = time.Millisecond, time.Second
	for _, c := range []struct {
		name  string
		input string
		lim   limits.Limits
		want  []string // nil: renders
	}{
		{"in-cluster VSS refreshAfter 0.001s", vss("0.001s"), limits.Default(),
			[]string{"spec.refreshAfter", "refreshAfter 1ms is below the floor of 5s", "--min-refresh-after", "VAULTCMP_MIN_REFRESH_AFTER"}},
		{"VSS refreshAfter at the floor", vss("5s"), limits.Default(), nil},
		{"VSS floor lowered by the operator", vss("0.001s"), lowered, nil},
		{"VDS refreshAfter 1s", vds("1s"), limits.Default(), []string{"spec.refreshAfter", "--min-refresh-after"}},
		{"PKI expiryOffset leaves 2s of 10s", pki("10s", "8s"), limits.Default(),
			[]string{"spec.expiryOffset", "(ttl 10s − expiryOffset 8s = 2s) is below the floor of 5s", "--min-reissue-interval", "VAULTCMP_MIN_REISSUE_INTERVAL"}},
		{"PKI expiryOffset leaves the floor", pki("10s", "5s"), limits.Default(), nil},
		{"PKI floor lowered", pki("10s", "8s"), lowered, nil},
		{"PKI no ttl: the companion checks the real lifetime", pki("''", "1h"), limits.Default(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs, err := Decode([]byte(c.input), "app.yaml")
			require.NoError(t, err)
			_, err = Render(context.Background(), objs, Options{Namespace: "apps", Offline: true, Limits: c.lim, Delivery: contract.DeliveryInCluster, HMACKey: []byte("k")})
			if c.want == nil {
				require.NoError(t, err)
				return
			}
			var probs Problems
			require.True(t, errors.As(err, &probs), "%v", err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
