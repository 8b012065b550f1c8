package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed's whole webapp (examples/webapp, as written apart from the Vault
// address) through Argo CD with the running companion: `argocd app sync`
// succeeds (the TLS Secret is no longer refused), the companion fills the
// dynamic and PKI Secrets, the shipped health check turns the carriers from
// Progressing to Healthy, a hard refresh keeps the app Synced and the
// companion's data, and pruning the VaultDynamicSecret revokes its lease.
func TestArgoCDSeedWebapp(t *testing.T) {
	cw := getCompanion(t) // Vault's database and PKI engines, kube-controller-manager, the companion
	c := getCD(t)
	const app, dir = "seed-webapp", "apps/seed-webapp"
	c.commit(t, under(dir, example(t, "webapp")), "the seed webapp")
	c.create(t, appSpec{name: app, path: dir, namespace: "webapp-ns", validate: true})
	out, err := c.sync(t, app)
	require.NoError(t, err, "%s\n%s", out, c.CMPLog())
	assertNoSecrets(t, out)

	static := c.secret(t, "webapp-ns", "webapp-k8s-secret")
	assert.Equal(t, webappConfig["db_pass"], string(static.Data["db_pass"]))
	db := cw.waitData(t, "webapp-db-secret", "password", 60*time.Second)
	user := string(db.Data["username"])
	assert.True(t, cw.roleExists(t, user))
	tlsS := cw.waitData(t, "webapp-tls-secret", "tls.crt", 60*time.Second)
	assert.NotEmpty(t, tlsS.Data["tls.key"])

	carriersHealthy := func(a *App) bool {
		filled := map[string]bool{}
		for _, r := range a.Status.Resources {
			if r.Kind == "Secret" && strings.HasPrefix(r.Name, "vaultcmp-") { // every carrier
				if r.Health == nil || r.Health.Status != "Healthy" {
					return false
				}
				filled[r.Name] = true
			}
		}
		return synced(a) && filled["vaultcmp-vds.webapp-db-creds"] && filled["vaultcmp-pki.webapp-tls"]
	}
	c.waitApp(t, app, 60*time.Second, "Synced, both carriers Healthy", carriersHealthy)

	// GitOps fidelity with the companion's data: a hard refresh regenerates,
	// the app stays Synced and nothing the companion wrote is wiped.
	prev := c.waitApp(t, app, 10*time.Second, "readable", func(*App) bool { return true }).Status.ReconciledAt
	_, err = c.CLI(t.Context(), "app", "get", app, "--hard-refresh", "-o", "json")
	require.NoError(t, err)
	c.waitApp(t, app, 60*time.Second, "reconciled, Synced", func(a *App) bool { return a.Status.ReconciledAt != prev && carriersHealthy(a) })
	_, err = c.sync(t, app)
	require.NoError(t, err)
	assert.Equal(t, db.Data, c.secret(t, "webapp-ns", "webapp-db-secret").Data, "a sync never wipes the companion's data")

	// The VaultDynamicSecret leaves git; sync --prune: the lease is revoked.
	c.commit(t, map[string]string{dir + "/dynamic-secret.yaml": ""}, "drop the dynamic secret")
	_, err = c.CLI(t.Context(), "app", "get", app, "--hard-refresh", "-o", "json")
	require.NoError(t, err)
	_, err = c.sync(t, app)
	require.NoError(t, err)
	eventually(t, 60*time.Second, func() (bool, string) { return !cw.roleExists(t, user), "PostgreSQL role dropped" }, cw.companion)
}
