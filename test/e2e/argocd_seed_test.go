package e2e

import (
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed's whole webapp (examples/webapp, as written apart from the Vault
// address, and the PKI secret with revoke: true) through Argo CD with the
// running companion: `argocd app sync` succeeds (the TLS Secret is no
// longer refused), the companion fills the dynamic and PKI Secrets, the
// shipped health check turns the carriers from Progressing to Healthy, a
// hard refresh keeps the app Synced and the companion's data, and pruning
// the VaultDynamicSecret and the VaultPKISecret revokes the lease and the
// certificate.
func TestArgoCDSeedWebapp(t *testing.T) {
	cw := getCompanion(t) // Vault's database and PKI engines, kube-controller-manager, the companion
	c := getCD(t)
	const app, dir = "seed-webapp", "apps/seed-webapp"
	files := example(t, "webapp")
	// revoke: true (VSO's default is false): the prune below revokes the certificate.
	files["pki-secret.yaml"] = strings.Replace(files["pki-secret.yaml"], "  ttl: 720h\n", "  ttl: 720h\n  revoke: true\n", 1)
	require.Contains(t, files["pki-secret.yaml"], "revoke: true")
	c.commit(t, under(dir, files), "the seed webapp")
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
	c.hardRefresh(t, app)
	c.waitApp(t, app, 60*time.Second, "Synced", carriersHealthy)
	_, err = c.sync(t, app)
	require.NoError(t, err)
	assert.Equal(t, db.Data, c.secret(t, "webapp-ns", "webapp-db-secret").Data, "a sync never wipes the companion's data")

	// The VaultDynamicSecret and the VaultPKISecret leave git; sync
	// --prune: the lease is revoked (the PostgreSQL role is gone) and the
	// certificate revoked in Vault.
	serial := vaultSerial(leafCert(t, tlsS.Data["tls.crt"]))
	revoked := func() bool {
		byCert, _, err := cw.pki.Revoked(t.Context(), serial)
		require.NoError(t, err)
		return byCert
	}
	require.False(t, revoked(), "serial %s revoked before the prune", serial)
	c.commit(t, map[string]string{dir + "/dynamic-secret.yaml": "", dir + "/pki-secret.yaml": ""}, "drop the dynamic and PKI secrets")
	c.hardRefresh(t, app)
	_, err = c.sync(t, app)
	require.NoError(t, err)
	eventually(t, 60*time.Second, func() (bool, string) { return !cw.roleExists(t, user), "PostgreSQL role dropped" }, cw.companion)
	eventually(t, 60*time.Second, func() (bool, string) { return revoked(), "certificate " + serial + " revoked" }, cw.companion)
	c.waitApp(t, app, 60*time.Second, "Synced without the carriers", func(a *App) bool {
		for _, r := range a.Status.Resources {
			if strings.HasPrefix(r.Name, "vaultcmp-vds.") || strings.HasPrefix(r.Name, "vaultcmp-pki.") {
				return false
			}
		}
		return synced(a)
	})
}

// vaultSerial is a certificate's serial as Vault writes it (aa:bb:…).
func vaultSerial(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}
