package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// companionWorld is the Argo CD world plus Vault's database engine against a
// real PostgreSQL, the PKI engine, and the real `vaultcmp companion`.
type companionWorld struct {
	*argoWorld
	pg         *Postgres
	db         *DatabaseEngine
	pki        *PKIEngine
	kubeconfig string
	companion  *Companion
	proxy      *Proxy // to Vault; Down() is a Vault outage for what uses it
	// metricsToken may get /metrics (bound to the shipped metrics-reader).
	metricsToken string
}

var (
	compOnce  sync.Once
	compWorld *companionWorld
	compErr   error
)

const companionHMACKey = "e2e-installation-key" // the sidecar's key (argoenv_test.go)

func getCompanion(t testing.TB) *companionWorld {
	t.Helper()
	w := getArgo(t)
	compOnce.Do(func() { compWorld, compErr = startCompanionWorld(context.Background(), w) })
	if compErr != nil {
		t.Fatalf("the companion world could not start: %v", compErr)
	}
	if compWorld.companion.Exited() {
		t.Fatalf("the companion exited:\n%s", compWorld.companion.Log())
	}
	return compWorld
}

func startCompanionWorld(ctx context.Context, w *argoWorld) (*companionWorld, error) {
	cw := &companionWorld{argoWorld: w}
	var err error
	if cw.proxy, err = StartProxy(strings.TrimPrefix(vaultSrv.Addr, "http://")); err != nil {
		return nil, err
	}
	if cw.pg, err = SharedPostgres(ctx); err != nil {
		return nil, err
	}
	if cw.db, err = vaultSrv.EnableDatabase(ctx, cw.pg, "database"); err != nil {
		return nil, err
	}
	if err := cw.db.Role(ctx, "webapp-readonly", time.Hour, 2*time.Hour); err != nil {
		return nil, err
	}
	if cw.pki, err = vaultSrv.EnablePKI(ctx, "pki"); err != nil {
		return nil, err
	}
	if err := cw.pki.SeedRole(ctx, 800*time.Hour); err != nil {
		return nil, err
	}
	// What the seed's webapp-role may do with the companion: the scoped
	// policy of docs/install.md (leases renewed and revoked only under the
	// team's own database/creds/ paths, certificates only with their key).
	c := vaultSrv.Client
	if err := c.Sys().PutPolicyWithContext(ctx, "k8s-webapp-companion", companionScopedPolicy); err != nil {
		return nil, err
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/kubernetes/role/webapp-role", map[string]any{
		"bound_service_account_names": []string{"webapp-sa"}, "bound_service_account_namespaces": []string{"webapp-ns"},
		"audience": "vault", "token_policies": []string{"k8s-webapp", "k8s-webapp-companion"}, "token_ttl": "10m",
	}); err != nil {
		return nil, err
	}
	// The companion runs with exactly the RBAC shipped in sidecar/kustomize.
	if err := installCompanionRBAC(ctx, w); err != nil {
		return nil, err
	}
	if cw.metricsToken, err = metricsScraper(ctx, w, "vaultcmp-metrics-scraper", true); err != nil {
		return nil, err
	}
	tok, err := w.token(ctx, "argocd", "vaultcmp-companion", nil)
	if err != nil {
		return nil, err
	}
	if cw.kubeconfig, err = w.cluster.WriteKubeconfig("vaultcmp-companion", tok); err != nil {
		return nil, err
	}
	if err := w.cluster.StartControllerManager(ctx); err != nil {
		return nil, err
	}
	if err := installApplicationCRD(ctx, w); err != nil {
		return nil, err
	}
	cw.companion, err = cw.startCompanion(ctx)
	return cw, err
}

// companionScopedPolicy is docs/install.md's policy for the webapp team of
// the companion world, whose database roles are all under database/creds/.
const companionScopedPolicy = `
path "database/creds/*" { capabilities = ["read"] }
path "pki/issue/*" { capabilities = ["update"] }
path "pki/revoke-with-key" { capabilities = ["update"] }
path "sys/leases/renew/database/creds/*" {
  capabilities      = ["update"]
  denied_parameters = { "lease_id" = [] }
}
path "sys/leases/revoke/database/creds/*" {
  capabilities      = ["update"]
  denied_parameters = { "lease_id" = [] }
}
path "secret/data/companion/*" { capabilities = ["read"] }
`

func (cw *companionWorld) startCompanion(ctx context.Context, args ...string) (*Companion, error) {
	c, err := StartCompanion(ctx, vaultcmp, cw.kubeconfig, append([]string{
		"HOME=" + os.TempDir(), "VAULTCMP_HMAC_KEY=" + companionHMACKey,
		"VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr + ",http://" + cw.proxy.Addr,
	}, append(awsCompanionEnv(cw.argoWorld), gcpCompanionEnv(cw.argoWorld)...)...), args...)
	if c != nil {
		c.MetricsToken = cw.metricsToken
	}
	return c, err
}

// restart kills the companion (a crash) and starts a new one.
func (cw *companionWorld) restart(t testing.TB) {
	t.Helper()
	cw.companion.Kill()
	c, err := cw.startCompanion(t.Context())
	require.NoError(t, err)
	cw.companion = c
}

// deploy renders an app of files (the seed's connection and auth added,
// pointing at the test Vault) and applies it for real, as Argo CD's sync.
func (cw *companionWorld) deploy(t testing.TB, files map[string]string) []map[string]any {
	t.Helper()
	return cw.deployVia(t, vaultSrv.Addr, files)
}

// deployVia is deploy with the VaultConnection's address set to addr.
func (cw *companionWorld) deployVia(t testing.TB, addr string, files map[string]string) []map[string]any {
	t.Helper()
	objs := cw.render(t, addr, files)
	applyObjects(t, objs, "webapp-ns", false)
	return objs
}

// render renders an app of files for webapp-ns as deploy does (sealedRender).
func (cw *companionWorld) render(t testing.TB, addr string, files map[string]string, args ...string) []map[string]any {
	t.Helper()
	return sealedRender(t, addr, files, args...)
}

// sealedRender renders an app of files for webapp-ns — the seed's
// connection and auth added where files has none, pointing at addr — with
// the installation's key (companionHMACKey: the companion acts only on
// carriers sealed with it) and render's extra args (e.g. --application);
// it fails the test unless the render succeeds.
func sealedRender(t testing.TB, addr string, files map[string]string, args ...string) []map[string]any {
	t.Helper()
	withWebappAccess(t, addr, files)
	args = append(append([]string{"render", "-n", "webapp-ns"}, args...), writeApp(t, files))
	r := run(t, append(rootEnv(), "VAULT_ADDR="+addr, "VAULTCMP_HMAC_KEY="+companionHMACKey), args...)
	require.Equal(t, 0, r.code, r.stderr)
	return docs(t, r.stdout)
}

// withWebappAccess adds the seed's connection.yaml and auth.yaml to files
// where it has none, pointing at the Vault at addr.
func withWebappAccess(t testing.TB, addr string, files map[string]string) {
	t.Helper()
	for _, n := range []string{"connection.yaml", "auth.yaml"} {
		if _, ok := files[n]; !ok {
			files[n] = webappFile(t, n, addr)
		}
	}
}

// webappFile is examples/webapp's file name with the seed's Vault address
// replaced by addr.
func webappFile(t testing.TB, name, addr string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examples("webapp"), name))
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), "https://vault.corp.com:8200", addr)
}

func (cw *companionWorld) secret(t testing.TB, name string) *corev1.Secret {
	t.Helper()
	s, err := cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return s
}

// waitData waits until Secret name has key and returns the Secret.
func (cw *companionWorld) waitData(t testing.TB, name, key string, timeout time.Duration) *corev1.Secret {
	t.Helper()
	var s *corev1.Secret
	eventually(t, timeout, func() (bool, string) {
		s = cw.secret(t, name)
		return s != nil && len(s.Data[key]) > 0, fmt.Sprintf("Secret %s with key %s", name, key)
	}, cw.companion)
	return s
}

func (cw *companionWorld) generation(t testing.TB, deployment string) int64 {
	t.Helper()
	d, err := cw.cluster.Admin.AppsV1().Deployments("webapp-ns").Get(t.Context(), deployment, metav1.GetOptions{})
	require.NoError(t, err)
	return d.Generation
}

// replicaSets counts a Deployment's ReplicaSets (kube-controller-manager
// makes one per pod template: a rollout restart makes one more).
func (cw *companionWorld) replicaSets(t testing.TB, app string) int {
	t.Helper()
	l, err := cw.cluster.Admin.AppsV1().ReplicaSets("webapp-ns").List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	return len(l.Items)
}

func (cw *companionWorld) deleteCarrier(t testing.TB, name string) {
	t.Helper()
	require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(t.Context(), name, metav1.DeleteOptions{}))
	eventually(t, 20*time.Second, func() (bool, string) {
		return cw.secret(t, name) == nil, "carrier " + name + " gone (finalizer removed)"
	}, cw.companion)
}

// events are the Events recorded on a carrier: "reason: message" lines.
func (cw *companionWorld) events(t testing.TB, carrier string) string {
	t.Helper()
	return cw.eventsIn(t, "webapp-ns", carrier)
}

// eventsIn is events of a carrier in namespace ns.
func (cw *companionWorld) eventsIn(t testing.TB, ns, carrier string) string {
	t.Helper()
	list, err := cw.cluster.Admin.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + carrier})
	require.NoError(t, err)
	var b strings.Builder
	for _, e := range list.Items {
		fmt.Fprintf(&b, "%s: %s\n", e.Reason, e.Message)
	}
	return b.String()
}

func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string), c *Companion) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, what := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			log := ""
			if c != nil {
				log = string(tail([]byte(c.Log()), 4000))
			}
			t.Fatalf("timed out after %s waiting for %s\ncompanion log:\n%s", timeout, what, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dbUser is a Secret's PostgreSQL user and whether it can log in with the
// written password.
func (cw *companionWorld) canLogin(t testing.TB, s *corev1.Secret) bool {
	t.Helper()
	_, err := cw.pg.SQLAs(t.Context(), string(s.Data["username"]), string(s.Data["password"]), "SELECT 1")
	return err == nil
}

func (cw *companionWorld) roleExists(t testing.TB, user string) bool {
	t.Helper()
	ok, err := cw.pg.RoleExists(t.Context(), user)
	require.NoError(t, err)
	return ok
}

func leafCert(t testing.TB, pemBytes []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(pemBytes)
	require.NotNil(t, b, "no PEM block")
	c, err := x509.ParseCertificate(b.Bytes)
	require.NoError(t, err)
	return c
}

func carrierAnnotations(t testing.TB, cw *companionWorld, name string) map[string]string {
	t.Helper()
	s := cw.secret(t, name)
	require.NotNil(t, s, "carrier %s", name)
	return s.Annotations
}

// The seed's webapp, generated, applied and filled: the PostgreSQL user
// exists and logs in with the written password; the certificate verifies
// against the CA with the seed's CN and SANs; tls.crt and tls.key form a
// pair. Deleting the carrier revokes the lease: the role is gone.
func TestCompanionSeedWebapp(t *testing.T) {
	cw := getCompanion(t)
	files := map[string]string{}
	for _, n := range []string{"dynamic-secret.yaml", "pki-secret.yaml", "static-secret.yaml", "deployment.yaml"} {
		files[n] = readFile(t, filepath.Join(examples("webapp"), n))
	}
	cw.deploy(t, files)
	gen := cw.generation(t, "webapp")

	db := cw.waitData(t, "webapp-db-secret", "password", 30*time.Second)
	user := string(db.Data["username"])
	assert.True(t, cw.roleExists(t, user))
	assert.True(t, cw.canLogin(t, db), "the written password logs in")
	assert.Contains(t, string(db.Data["_raw"]), `"username"`)
	require.Len(t, db.OwnerReferences, 1)
	assert.Equal(t, "vaultcmp-vds.webapp-db-creds", db.OwnerReferences[0].Name)
	assert.NotContains(t, db.Labels, "app.kubernetes.io/instance")

	tlsS := cw.waitData(t, "webapp-tls-secret", "tls.crt", 30*time.Second)
	assert.Equal(t, corev1.SecretTypeTLS, tlsS.Type)
	leaf := leafCert(t, tlsS.Data["tls.crt"])
	assert.Equal(t, SeedCN, leaf.Subject.CommonName)
	assert.Subset(t, leaf.DNSNames, SeedSANs)
	pool := x509.NewCertPool()
	pool.AddCert(cw.pki.CACert)
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: SeedCN})
	assert.NoError(t, err)
	_, err = tls.X509KeyPair(tlsS.Data["tls.crt"], tlsS.Data["tls.key"])
	assert.NoError(t, err, "tls.crt and tls.key form a pair")
	for _, k := range []string{"certificate", "private_key", "issuing_ca", "serial_number", "expiration"} {
		assert.NotEmpty(t, tlsS.Data[k], k)
	}

	for _, c := range []string{"vaultcmp-vds.webapp-db-creds", "vaultcmp-pki.webapp-tls"} {
		eventually(t, 10*time.Second, func() (bool, string) {
			return carrierAnnotations(t, cw, c)["vaultcmp.io/status"] == "Synced", c + " Synced"
		}, cw.companion)
	}
	assert.Equal(t, gen, cw.generation(t, "webapp"), "the first fill restarts nothing")
	assertNoSecrets(t, cw.companion.Log())
	assert.NotContains(t, cw.companion.Log(), string(db.Data["password"]))
	assert.NotContains(t, cw.companion.Log(), string(tlsS.Data["tls.key"]))

	// The object leaves git (Argo CD prunes the carrier): lease revoked.
	cw.deleteCarrier(t, "vaultcmp-vds.webapp-db-creds")
	eventually(t, 10*time.Second, func() (bool, string) { return !cw.roleExists(t, user), "PostgreSQL role dropped" }, cw.companion)
	eventually(t, 30*time.Second, func() (bool, string) {
		return cw.secret(t, "webapp-db-secret") == nil, "the destination Secret garbage-collected with its carrier"
	}, cw.companion)
	cw.deleteCarrier(t, "vaultcmp-pki.webapp-tls")
}

func vds(name, path, dest string, extra string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata:
  name: %s
  namespace: webapp-ns
spec:
  mount: database
  path: %s
  vaultAuthRef: vault-auth-k8s
  destination:
    name: %s
    create: true
%s`, name, path, dest, extra)
}

func deployment(name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: webapp-ns
spec:
  replicas: 0
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
      - name: app
        image: app:latest
`, name)
}

// Renewal keeps the same PostgreSQL user past its first TTL without a
// rollout; Vault's max TTL truncates a renewal: new credentials, exactly
// one rollout.
func TestCompanionRenewalAndTruncation(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.db.Role(t.Context(), "short", 4*time.Second, 12*time.Second))
	cw.deploy(t, map[string]string{
		"vds.yaml":    vds("short-creds", "creds/short", "short-db", "  renewalPercent: 50\n  rolloutRestartTargets:\n  - {kind: Deployment, name: short-app}\n"),
		"deploy.yaml": deployment("short-app"),
	})
	s := cw.waitData(t, "short-db", "password", 20*time.Second)
	start := time.Now()
	eventually(t, 10*time.Second, func() (bool, string) { return cw.replicaSets(t, "short-app") == 1, "the first ReplicaSet" }, cw.companion)
	user := string(s.Data["username"])
	gen := cw.generation(t, "short-app")

	time.Sleep(time.Until(start.Add(6 * time.Second)))
	s = cw.secret(t, "short-db")
	assert.Equal(t, user, string(s.Data["username"]), "renewed, not re-issued")
	assert.True(t, cw.canLogin(t, s), "the user outlives its first 4 s TTL")
	assert.Equal(t, gen, cw.generation(t, "short-app"), "no rollout after a renewal")

	eventually(t, 15*time.Second, func() (bool, string) {
		return string(cw.secret(t, "short-db").Data["username"]) != user, "new credentials after max-TTL truncation"
	}, cw.companion)
	s = cw.secret(t, "short-db")
	assert.True(t, cw.canLogin(t, s))
	eventually(t, 5*time.Second, func() (bool, string) {
		return cw.generation(t, "short-app") == gen+1, "one rollout"
	}, cw.companion)
	eventually(t, 10*time.Second, func() (bool, string) { return cw.replicaSets(t, "short-app") == 2, "a new ReplicaSet" }, cw.companion)
	time.Sleep(time.Second)
	assert.Equal(t, gen+1, cw.generation(t, "short-app"), "exactly one rollout")
	assert.Equal(t, 2, cw.replicaSets(t, "short-app"), "exactly one new ReplicaSet")
	assert.Contains(t, cw.events(t, "vaultcmp-vds.short-creds"), "truncated")

	newUser := string(s.Data["username"])
	cw.deleteCarrier(t, "vaultcmp-vds.short-creds")
	eventually(t, 10*time.Second, func() (bool, string) { return !cw.roleExists(t, newUser), "lease revoked on delete" }, cw.companion)
}

// A certificate is re-issued before it expires: new serial, exactly one
// rollout, the old serial revoked (revoke: true); on delete the current
// one is revoked too. Metrics show what happened.
func TestCompanionPKIReissue(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.pki.Role(t.Context(), "short-cert", time.Hour, "pki-e2e.example.com"))
	cw.deploy(t, map[string]string{
		"pki.yaml": `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata:
  name: short-tls
  namespace: webapp-ns
spec:
  mount: pki
  role: short-cert
  vaultAuthRef: vault-auth-k8s
  commonName: pki-e2e.example.com
  ttl: 10s
  expiryOffset: 5s
  revoke: true
  destination:
    name: short-tls
    create: true
    type: kubernetes.io/tls
  rolloutRestartTargets:
  - {kind: Deployment, name: pki-app}
`,
		"deploy.yaml": deployment("pki-app"),
	})
	s := cw.waitData(t, "short-tls", "tls.crt", 20*time.Second)
	serial := string(s.Data["serial_number"])
	gen := cw.generation(t, "pki-app")
	eventually(t, 12*time.Second, func() (bool, string) {
		return string(cw.secret(t, "short-tls").Data["serial_number"]) != serial, "a new serial before expiry"
	}, cw.companion)
	cur := cw.secret(t, "short-tls")
	assert.True(t, time.Until(leafCert(t, leafPEM(cur)).NotAfter) > 0, "re-issued before the old one expired")
	eventually(t, 5*time.Second, func() (bool, string) { return cw.generation(t, "pki-app") == gen+1, "one rollout" }, cw.companion)
	eventually(t, 5*time.Second, func() (bool, string) {
		byCert, _, err := cw.pki.Revoked(t.Context(), serial)
		return err == nil && byCert, "old serial revoked"
	}, cw.companion)

	m, err := cw.companion.Metrics()
	require.NoError(t, err)
	assert.Contains(t, m, `vso_secret_sync_total{kind="VaultPKISecret",namespace="webapp-ns"}`)
	assert.Contains(t, m, `vso_secret_rotation_total{kind="VaultPKISecret",namespace="webapp-ns"}`)
	assert.Contains(t, m, `vaultcmp_certificate_expiry_timestamp_seconds{carrier="vaultcmp-pki.short-tls",namespace="webapp-ns"}`)
	assert.Contains(t, m, `vaultcmp_rollout_restart_total{kind="Deployment",namespace="webapp-ns"}`)

	last := string(cw.secret(t, "short-tls").Data["serial_number"])
	cw.deleteCarrier(t, "vaultcmp-pki.short-tls")
	byCert, _, err := cw.pki.Revoked(t.Context(), last)
	require.NoError(t, err)
	assert.True(t, byCert, "current serial revoked on delete")
}

func leafPEM(s *corev1.Secret) []byte { return s.Data["tls.crt"] }

// Killed mid-lease and restarted: zero new credentials, zero rollouts.
func TestCompanionRestart(t *testing.T) {
	cw := getCompanion(t)
	cw.deploy(t, map[string]string{
		"vds.yaml":    vds("long-creds", "creds/webapp-readonly", "long-db", "  rolloutRestartTargets:\n  - {kind: Deployment, name: long-app}\n"),
		"deploy.yaml": deployment("long-app"),
	})
	s := cw.waitData(t, "long-db", "password", 20*time.Second)
	gen := cw.generation(t, "long-app")
	cw.restart(t)
	time.Sleep(4 * time.Second)
	after := cw.secret(t, "long-db")
	assert.Equal(t, s.Data["username"], after.Data["username"], "no new credentials after a restart")
	assert.Equal(t, gen, cw.generation(t, "long-app"), "no rollout after a restart")
	m, err := cw.companion.Metrics()
	require.NoError(t, err)
	assert.NotContains(t, m, "vso_secret_rotation_total{")
	cw.deleteCarrier(t, "vaultcmp-vds.long-creds")
}

// Bad input: an unknown contract version, a missing service account, a
// Vault address the operator did not allow: a clear Event and status, no
// panic, the other Secrets unaffected.
func TestCompanionBadInput(t *testing.T) {
	cw := getCompanion(t)
	k := cw.cluster.Admin.CoreV1().Secrets("webapp-ns")
	_, err := k.Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vaultcmp-vds.future", Labels: map[string]string{"vaultcmp.io/contract": "v9"},
			Annotations: map[string]string{"vaultcmp.io/contract": `{"version":"v9"}`}},
		// A carrier of another type is not even watched (only the carrier
		// type is cached): the unknown version inside a v1 carrier is refused.
		Type: "vaultcmp.io/contract-v1",
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	noSA := strings.ReplaceAll(readFile(t, filepath.Join(examples("webapp"), "auth.yaml")), "serviceAccount: webapp-sa", "serviceAccount: missing-sa")
	cw.deploy(t, map[string]string{
		"auth.yaml": strings.ReplaceAll(noSA, "https://vault.corp.com:8200", vaultSrv.Addr),
		"vds.yaml":  vds("no-sa", "creds/webapp-readonly", "no-sa-db", ""),
	})
	conn := webappFile(t, "connection.yaml", "http://127.0.0.1:1")
	r := run(t, []string{"VAULTCMP_HMAC_KEY=" + companionHMACKey}, "render", "-n", "webapp-ns", writeApp(t, map[string]string{
		"connection.yaml": conn, "auth.yaml": readFile(t, filepath.Join(examples("webapp"), "auth.yaml")),
		"vds.yaml": vds("elsewhere", "creds/webapp-readonly", "elsewhere-db", ""),
	}))
	require.Equal(t, 0, r.code, r.stderr)
	applyObjects(t, docs(t, r.stdout), "webapp-ns", false)

	for carrier, want := range map[string]string{
		"vaultcmp-vds.future":    "has no seal", // written by hand: not acted on
		"vaultcmp-vds.no-sa":     "missing-sa",
		"vaultcmp-vds.elsewhere": "127.0.0.1:1",
	} {
		eventually(t, 15*time.Second, func() (bool, string) {
			return strings.Contains(cw.events(t, carrier), want), fmt.Sprintf("an Event on %s naming %q (events: %s)", carrier, want, cw.events(t, carrier))
		}, cw.companion)
		a := carrierAnnotations(t, cw, carrier)
		assert.Equal(t, "Error", a["vaultcmp.io/status"], carrier)
		assert.Contains(t, a["vaultcmp.io/message"], want)
	}
	assert.Contains(t, cw.events(t, "vaultcmp-vds.elsewhere"), "not allowed")
	assert.False(t, cw.companion.Exited())
	// Another carrier still works.
	cw.deploy(t, map[string]string{"vds.yaml": vds("fine", "creds/webapp-readonly", "fine-db", "")})
	cw.waitData(t, "fine-db", "password", 20*time.Second)
	m, err := cw.companion.Metrics()
	require.NoError(t, err)
	assert.Contains(t, m, `vso_secret_sync_error_total{kind="VaultDynamicSecret",namespace="webapp-ns"}`)
	for _, c := range []string{"vaultcmp-vds.future", "vaultcmp-vds.no-sa", "vaultcmp-vds.elsewhere", "vaultcmp-vds.fine"} {
		cw.deleteCarrier(t, c)
	}
}

// An inline static secret with refreshAfter: a new KV version makes the
// companion ask Argo CD to hard-refresh the owning Application.
func TestCompanionInlineRefresh(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	_, err := vaultSrv.Client.KVv2("secret").Put(ctx, "companion/inline", map[string]any{"k": "v1"})
	require.NoError(t, err)
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "inline-app", "namespace": "argocd"},
		"spec": map[string]any{"project": "default", // valid also against Argo CD's own CRD (argocd.go installs it)
			"source":      map[string]any{"repoURL": "file:///nonexistent", "path": "."},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "webapp-ns"}},
	})
	applyObjects(t, []map[string]any{mustMap(t, body)}, "argocd", false)
	// generate seals the owning Application (ARGOCD_APP_NAME) into the
	// contract; render takes it from --application.
	objs := cw.render(t, vaultSrv.Addr, map[string]string{"vss.yaml": `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: inline
  namespace: webapp-ns
spec:
  type: kv-v2
  mount: secret
  path: companion/inline
  refreshAfter: 5s
  vaultAuthRef: vault-auth-k8s
  destination: {name: inline-secret, create: true}
`}, "--application", "inline-app", "--delivery=inline")
	applyObjects(t, objs, "webapp-ns", false)
	time.Sleep(2 * time.Second)
	assert.Empty(t, appAnnotations(t, cw)["argocd.argoproj.io/refresh"], "nothing changed: no refresh")

	_, err = vaultSrv.Client.KVv2("secret").Put(ctx, "companion/inline", map[string]any{"k": "v2"})
	require.NoError(t, err)
	eventually(t, 12*time.Second, func() (bool, string) { // refreshAfter 5s: the floor
		return appAnnotations(t, cw)["argocd.argoproj.io/refresh"] == "hard", "the hard-refresh annotation on the Application"
	}, cw.companion)
	assertRefreshTimestamp(t, appAnnotations(t, cw))
	assert.Equal(t, "v1", string(cw.secret(t, "inline-secret").Data["k"]), "the companion never writes an inline Secret")
	require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(ctx, "vaultcmp-vss.inline", metav1.DeleteOptions{}))
}

func mustMap(t testing.TB, b []byte) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// Vault down for a while: the data stays, the error is visible (status,
// Event, metric), and once Vault is back the same lease is renewed: no new
// credentials.
func TestCompanionVaultDown(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.db.Role(t.Context(), "outage", 10*time.Second, time.Hour))
	cw.deployVia(t, "http://"+cw.proxy.Addr, map[string]string{
		"vds.yaml": vds("outage-creds", "creds/outage", "outage-db", "  renewalPercent: 30\n"),
	})
	s := cw.waitData(t, "outage-db", "password", 20*time.Second)
	cw.proxy.Down()
	eventually(t, 15*time.Second, func() (bool, string) {
		return carrierAnnotations(t, cw, "vaultcmp-vds.outage-creds")["vaultcmp.io/status"] == "Error", "status Error while Vault is down"
	}, cw.companion)
	assert.Contains(t, cw.events(t, "vaultcmp-vds.outage-creds"), "SyncError")
	assert.Equal(t, s.Data, cw.secret(t, "outage-db").Data, "the data is kept")
	require.NoError(t, cw.proxy.Up())
	eventually(t, 15*time.Second, func() (bool, string) {
		return carrierAnnotations(t, cw, "vaultcmp-vds.outage-creds")["vaultcmp.io/status"] == "Synced", "Synced again"
	}, cw.companion)
	assert.Equal(t, s.Data["username"], cw.secret(t, "outage-db").Data["username"], "recovered without new credentials")
	assert.True(t, cw.canLogin(t, cw.secret(t, "outage-db")))
	m, err := cw.companion.Metrics()
	require.NoError(t, err)
	assert.Contains(t, m, `vaultcmp_lease_renewal_error_total{kind="VaultDynamicSecret",namespace="webapp-ns"}`)
	cw.deleteCarrier(t, "vaultcmp-vds.outage-creds")
}

// Two replicas with leader election; the leader is killed: the other takes
// over, issues nothing new and keeps renewing.
func TestCompanionLeaderChange(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.db.Role(t.Context(), "leader", 30*time.Second, time.Hour))
	cw.companion.Stop()
	le := []string{"--leader-elect", "--leader-election-namespace=argocd"}
	a, err := cw.startCompanion(t.Context(), le...)
	require.NoError(t, err)
	b, err := cw.startCompanion(t.Context(), le...)
	require.NoError(t, err)
	defer func() {
		for _, c := range []*Companion{a, b} {
			if !c.Exited() {
				c.Stop()
			}
		}
		c, err := cw.startCompanion(context.Background())
		require.NoError(t, err)
		cw.companion = c
	}()
	cw.companion = a
	cw.deploy(t, map[string]string{
		"vds.yaml":    vds("leader-creds", "creds/leader", "leader-db", "  renewalPercent: 30\n  rolloutRestartTargets:\n  - {kind: Deployment, name: leader-app}\n"),
		"deploy.yaml": deployment("leader-app"),
	})
	var leader, other *Companion
	eventually(t, 30*time.Second, func() (bool, string) {
		for _, c := range []*Companion{a, b} {
			if acquired(c) {
				leader = c
			}
		}
		return leader != nil && cw.secret(t, "leader-db") != nil && len(cw.secret(t, "leader-db").Data["password"]) > 0, "a leader and the Secret"
	}, a)
	other = a
	if leader == a {
		other = b
	}
	user := string(cw.secret(t, "leader-db").Data["username"])
	gen := cw.generation(t, "leader-app")
	leader.Kill()
	cw.companion = other
	eventually(t, 40*time.Second, func() (bool, string) {
		return acquired(other), "the other replica leads"
	}, other)
	before := carrierAnnotations(t, cw, "vaultcmp-vds.leader-creds")["vaultcmp.io/state"]
	eventually(t, 20*time.Second, func() (bool, string) {
		return carrierAnnotations(t, cw, "vaultcmp-vds.leader-creds")["vaultcmp.io/state"] != before, "a renewal by the new leader"
	}, other)
	assert.Equal(t, user, string(cw.secret(t, "leader-db").Data["username"]), "no double issue")
	assert.Equal(t, gen, cw.generation(t, "leader-app"), "no rollout")
	assert.NotContains(t, other.Log(), "new credentials")
	cw.deleteCarrier(t, "vaultcmp-vds.leader-creds")
}

func acquired(c *Companion) bool {
	return strings.Contains(strings.ToLower(c.Log()), "successfully acquired lease")
}
