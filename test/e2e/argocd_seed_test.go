package e2e

import (
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seed's whole webapp (examples/webapp, as written apart from the Vault
// address, the PKI secret with revoke: true, and no replicas as there is no
// kubelet) through Argo CD with the
// default delivery (in-cluster) and the running companion.
//
// Carriers before workloads: the sync is started while the companion is
// down, and Argo CD holds it at the carriers' wave (-1, the shipped health
// check: Progressing) — the Deployment does not exist; once the companion
// runs, it fills the three Secrets, the carriers turn Healthy, and only then
// does Argo CD create the Deployment (its creationTimestamp is not before
// the companion's write of any of its Secrets, from their managedFields).
//
// No value in Argo CD: none of the app's secret values (static, dynamic
// username and password, the TLS key) is in any Redis key (decompressed),
// in `argocd app manifests` (git and live) or in the repo-server's answer.
//
// Then: a hard refresh keeps the app Synced and the companion's data, and
// pruning the VaultDynamicSecret and the VaultPKISecret revokes the lease
// and the certificate.
func TestArgoCDSeedWebapp(t *testing.T) {
	cw := getCompanion(t) // Vault's database and PKI engines, kube-controller-manager, the companion
	c := getCD(t)
	const app, dir, ns = "seed-webapp", "apps/seed-webapp", "webapp-ns"
	files := example(t, "webapp")
	// revoke: true (VSO's default is false): the prune below revokes the certificate.
	files["pki-secret.yaml"] = strings.Replace(files["pki-secret.yaml"], "  ttl: 720h\n", "  ttl: 720h\n  revoke: true\n", 1)
	require.Contains(t, files["pki-secret.yaml"], "revoke: true")
	// No kubelet here: pods never become available, and a sync with waves
	// is done only when its last wave (the Deployment) is Healthy.
	files["deployment.yaml"] = strings.Replace(files["deployment.yaml"], "replicas: 3", "replicas: 0", 1)
	require.Contains(t, files["deployment.yaml"], "replicas: 0")
	c.commit(t, under(dir, files), "the seed webapp")

	// The companion is down: the sync is held at the carriers.
	cw.companion.Kill()
	t.Cleanup(func() {
		if cw.companion.Exited() {
			cw.restart(t)
		}
	})
	c.create(t, appSpec{name: app, path: dir, namespace: ns, validate: true})
	_, err := c.CLI(t.Context(), "app", "sync", app, "--async")
	require.NoError(t, err, "%s", c.CMPLog())
	carriers := []string{"vaultcmp-vss.webapp-config", "vaultcmp-vds.webapp-db-creds", "vaultcmp-pki.webapp-tls"}
	c.waitApp(t, app, 60*time.Second, "the carriers applied and Progressing", func(a *App) bool {
		for _, name := range carriers {
			if s, _ := a.resourceHealth("Secret", name); s != "Progressing" {
				return false
			}
		}
		return true
	})
	noDeployment := func(what string) {
		t.Helper()
		_, err := c.w.cluster.Admin.AppsV1().Deployments(ns).Get(t.Context(), "webapp", metav1.GetOptions{})
		require.True(t, apierrors.IsNotFound(err), "%s: the Deployment exists before its Secrets (err %v)", what, err)
	}
	noDeployment("carriers Progressing")
	time.Sleep(5 * time.Second) // several of Argo CD's health checks
	noDeployment("5 s later")
	a, err := c.Get(t.Context(), app)
	require.NoError(t, err)
	require.NotNil(t, a.Status.OperationState)
	assert.Equal(t, "Running", a.Status.OperationState.Phase, "the sync waits")

	cw.restart(t)
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
	c.waitApp(t, app, 90*time.Second, "the sync done, Synced, every carrier Healthy", func(a *App) bool {
		return carriersHealthy(a) && a.Status.OperationState != nil && a.Status.OperationState.Phase == "Succeeded"
	})
	dep, err := c.w.cluster.Admin.AppsV1().Deployments(ns).Get(t.Context(), "webapp", metav1.GetOptions{})
	require.NoError(t, err)
	for _, name := range []string{"webapp-k8s-secret", "webapp-db-secret", "webapp-tls-secret"} {
		written := companionWrite(t, c.secret(t, ns, name))
		assert.False(t, dep.CreationTimestamp.Before(&written), "Deployment created at %s, before Secret %s got its data at %s", dep.CreationTimestamp, name, written)
		t.Logf("Secret %s filled at %s; Deployment created at %s", name, written.Format(time.RFC3339), dep.CreationTimestamp.Format(time.RFC3339))
	}

	static := c.secret(t, ns, "webapp-k8s-secret")
	assert.Equal(t, webappConfig["db_pass"], string(static.Data["db_pass"]))
	db := cw.waitData(t, "webapp-db-secret", "password", 60*time.Second)
	user := string(db.Data["username"])
	assert.True(t, cw.roleExists(t, user))
	tlsS := cw.waitData(t, "webapp-tls-secret", "tls.crt", 60*time.Second)
	assert.NotEmpty(t, tlsS.Data["tls.key"])

	// No value in Argo CD.
	values := secretValues{"db-username": user, "db-password": string(db.Data["password"]), "tls.key": string(tlsS.Data["tls.key"])}
	for k, v := range webappConfig {
		values["static "+k] = v.(string)
	}
	counts := noValueInArgoCD(t, c, app, ns, dir, values)
	t.Logf("seed webapp, default delivery: secret values found: Redis %d, app manifests %d, repo-server answer %d", counts.redis, counts.manifests, counts.repoServer)

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
