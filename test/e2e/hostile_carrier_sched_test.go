package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Issue 15, rows 8 and 9: schedules without a floor, and revocation by
// anyone. Carriers here stand for what an attacker who may create Secrets
// in webapp-ns writes: a contract generate refuses, sealed with the
// installation's key as if generate had let it through.

// schedEnv is the environment of this file's renders: the installation's
// key (so the carriers' seals verify for the companion) and the shipped
// floors.
func schedEnv() []string {
	return append(rootEnv(), "VAULTCMP_HMAC_KEY="+companionHMACKey)
}

// schedApp is files plus the seed's connection and auth, pointing at the
// test Vault (as cw.deploy adds them).
func schedApp(t *testing.T, files map[string]string) string {
	t.Helper()
	withWebappAccess(t, vaultSrv.Addr, files)
	return writeApp(t, files)
}

// renderSched renders files into webapp-ns and returns the objects; it
// fails the test unless the render succeeds.
func renderSched(t *testing.T, files map[string]string) []map[string]any {
	t.Helper()
	return sealedRender(t, vaultSrv.Addr, files)
}

// refusedRender renders files and requires a refusal whose message holds
// every want, and nothing on stdout.
func refusedRender(t *testing.T, files map[string]string, want ...string) {
	t.Helper()
	r := run(t, schedEnv(), "render", "-n", "webapp-ns", schedApp(t, files))
	assert.Equal(t, 1, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	for _, w := range want {
		assert.Contains(t, r.stderr, w)
	}
}

// forgeCarrier edits carrier's contract (replacing old by new in its JSON)
// and seals it again with the installation's key: a contract generate
// would have refused, made to look like one it let through.
func forgeCarrier(t *testing.T, carrier map[string]any, old, new string) {
	t.Helper()
	md := carrier["metadata"].(map[string]any)
	ann := md["annotations"].(map[string]any)
	js := ann[contract.AnnotationContract].(string)
	require.Contains(t, js, old)
	js = strings.Replace(js, old, new, 1)
	ann[contract.AnnotationContract] = js
	ann[contract.AnnotationSeal] = contract.Seal([]byte(companionHMACKey), "webapp-ns", md["name"].(string), []byte(js))
}

func pkiSched(name, role, ttl, offset string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata:
  name: %[1]s
  namespace: webapp-ns
spec:
  mount: pki
  role: %[2]s
  vaultAuthRef: vault-auth-k8s
  commonName: sched.example.com
  ttl: "%[3]s"
  expiryOffset: "%[4]s"
  revoke: true
  destination:
    name: %[1]s
    create: true
    type: kubernetes.io/tls
  rolloutRestartTargets:
  - {kind: Deployment, name: %[1]s-app}
`, name, role, ttl, offset)
}

// Row 8, PKI: expiryOffset ≥ ttl (once 210 certificates and 31 restarts in
// 30 s) is refused by render naming the floor, and a sealed carrier holding
// it is refused by the companion: no certificate, no rollout.
func TestHostileScheduleExpiryOffset(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	require.NoError(t, cw.pki.Role(ctx, "sched-never", time.Minute, "sched.example.com"))

	refusedRender(t, map[string]string{"pki.yaml": pkiSched("never", "sched-never", "30s", "30s")},
		"spec.expiryOffset", "can never be met", "--min-reissue-interval", "VAULTCMP_MIN_REISSUE_INTERVAL")
	refusedRender(t, map[string]string{"pki.yaml": pkiSched("never", "sched-never", "10s", "8s")},
		"spec.expiryOffset", "is below the floor of 5s", "--min-reissue-interval", "VAULTCMP_MIN_REISSUE_INTERVAL")

	objs := renderSched(t, map[string]string{"pki.yaml": pkiSched("sched-never", "sched-never", "1m", "10s"), "deploy.yaml": deployment("sched-never-app")})
	carrier := find(t, objs, "Secret", "vaultcmp-pki.sched-never")
	forgeCarrier(t, carrier, `"expiryOffset":"10s"`, `"expiryOffset":"1m"`)
	issued0 := cw.auditCount(t, "pki/issue/sched-never")
	applyObjects(t, []map[string]any{carrier, find(t, objs, "Deployment", "sched-never-app")}, "webapp-ns", false)
	gen := cw.generation(t, "sched-never-app")
	eventually(t, 15*time.Second, func() (bool, string) {
		ev := cw.events(t, "vaultcmp-pki.sched-never")
		return strings.Contains(ev, "ContractError") && strings.Contains(ev, "--min-reissue-interval"), "a ContractError naming the floor (events: " + ev + ")"
	}, cw.companion)
	start := time.Now()
	time.Sleep(10 * time.Second)
	issued := cw.auditCount(t, "pki/issue/sched-never") - issued0
	t.Logf("expiryOffset = ttl, sealed: %d certificates issued, %d rollouts in %s", issued, cw.generation(t, "sched-never-app")-gen, time.Since(start).Round(time.Second))
	assert.Zero(t, issued, "no certificate for a schedule that can never be met")
	assert.Equal(t, gen, cw.generation(t, "sched-never-app"), "no rollout")
	a := carrierAnnotations(t, cw, "vaultcmp-pki.sched-never")
	assert.Equal(t, "Error", a["vaultcmp.io/status"])
	assert.Contains(t, a["vaultcmp.io/message"], "VAULTCMP_MIN_REISSUE_INTERVAL")
	assert.Nil(t, cw.secret(t, "sched-never"), "no destination Secret")
	cw.deleteCarrier(t, "vaultcmp-pki.sched-never")
}

// Row 8, PKI without ttl: generate cannot know the lifetime, the companion
// checks the real one at issue. An expiryOffset of 1h against a role that
// gives 20 s certificates can never be met: the certificate is kept and
// re-issued at 2/3 of its lifetime, status Error naming the floor; the old
// serial is revoked with its key (revoke-with-key under the scoped policy).
func TestHostileScheduleCertLifetime(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	require.NoError(t, cw.pki.Role(ctx, "sched-life", 20*time.Second, "sched.example.com"))
	issued0 := cw.auditCount(t, "pki/issue/sched-life")
	cw.deploy(t, map[string]string{"pki.yaml": pkiSched("sched-life", "sched-life", "", "1h"), "deploy.yaml": deployment("sched-life-app")})
	first := cw.waitData(t, "sched-life", "tls.crt", 20*time.Second)
	start := time.Now()
	serial := string(first.Data["serial_number"])
	gen := cw.generation(t, "sched-life-app")
	eventually(t, 10*time.Second, func() (bool, string) {
		a := carrierAnnotations(t, cw, "vaultcmp-pki.sched-life")
		return a["vaultcmp.io/status"] == "Error" && strings.Contains(a["vaultcmp.io/message"], "can never be met"), "status Error: can never be met (" + a["vaultcmp.io/message"] + ")"
	}, cw.companion)
	a := carrierAnnotations(t, cw, "vaultcmp-pki.sched-life")
	assert.Contains(t, a["vaultcmp.io/message"], "--min-reissue-interval or VAULTCMP_MIN_REISSUE_INTERVAL")
	assert.Contains(t, cw.events(t, "vaultcmp-pki.sched-life"), "ScheduleFloor")
	assert.Equal(t, first.Data["tls.key"], cw.secret(t, "sched-life").Data["tls.key"], "the certificate is kept")

	time.Sleep(time.Until(start.Add(30 * time.Second)))
	issued := cw.auditCount(t, "pki/issue/sched-life") - issued0
	rollouts := cw.generation(t, "sched-life-app") - gen
	t.Logf("expiryOffset 1h, 20 s certificates: %d certificates issued, %d rollouts in 30 s", issued, rollouts)
	assert.GreaterOrEqual(t, issued, 2, "re-issued before expiry")
	assert.LessOrEqual(t, issued, 3, "at 2/3 of the lifetime, not continuously")
	assert.LessOrEqual(t, rollouts, int64(2))
	byCert, _, err := cw.pki.Revoked(ctx, serial)
	require.NoError(t, err)
	assert.True(t, byCert, "the first serial revoked with its key")
	last := string(cw.secret(t, "sched-life").Data["serial_number"])
	cw.deleteCarrier(t, "vaultcmp-pki.sched-life")
	byCert, _, err = cw.pki.Revoked(ctx, last)
	require.NoError(t, err)
	assert.True(t, byCert, "the current serial revoked on delete, with the key read from the destination")
}

func vssSched(name, path, refresh string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: %[1]s
  namespace: webapp-ns
  annotations: {vaultcmp.io/delivery: in-cluster}
spec:
  type: kv-v2
  mount: secret
  path: %[2]s
  refreshAfter: %[3]s
  vaultAuthRef: vault-auth-k8s
  destination: {name: %[1]s, create: true}
`, name, path, refresh)
}

// Row 8, KV: refreshAfter 0.001s (once 17 Vault reads a second per carrier)
// is refused by render naming the floor; a sealed carrier holding it reads
// nothing; a carrier at the floor reads once per 5 s.
func TestHostileScheduleRefreshAfter(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	for _, p := range []string{"companion/sched-fast", "companion/sched-floor"} {
		_, err := vaultSrv.Client.KVv2("secret").Put(ctx, p, map[string]any{"k": "v"})
		require.NoError(t, err)
	}
	refusedRender(t, map[string]string{"vss.yaml": vssSched("fast", "companion/sched-fast", "0.001s")},
		"spec.refreshAfter", "refreshAfter 1ms is below the floor of 5s", "--min-refresh-after", "VAULTCMP_MIN_REFRESH_AFTER")

	objs := renderSched(t, map[string]string{"vss.yaml": vssSched("sched-fast", "companion/sched-fast", "5s")})
	carrier := find(t, objs, "Secret", "vaultcmp-vss.sched-fast")
	forgeCarrier(t, carrier, `"refreshAfter":"5s"`, `"refreshAfter":"0.001s"`)
	fast0 := cw.auditCount(t, "secret/data/companion/sched-fast")
	applyObjects(t, []map[string]any{carrier}, "webapp-ns", false)
	floor0 := cw.auditCount(t, "secret/data/companion/sched-floor")
	cw.deploy(t, map[string]string{"vss.yaml": vssSched("sched-floor", "companion/sched-floor", "5s")})
	eventually(t, 15*time.Second, func() (bool, string) {
		ev := cw.events(t, "vaultcmp-vss.sched-fast")
		return strings.Contains(ev, "ContractError") && strings.Contains(ev, "--min-refresh-after"), "a ContractError naming the floor (events: " + ev + ")"
	}, cw.companion)
	cw.waitData(t, "sched-floor", "k", 15*time.Second)
	start := time.Now()
	time.Sleep(12 * time.Second)
	fast := cw.auditCount(t, "secret/data/companion/sched-fast") - fast0
	floor := cw.auditCount(t, "secret/data/companion/sched-floor") - floor0
	t.Logf("refreshAfter 0.001s, sealed: %d KV reads; refreshAfter 5s: %d KV reads (in %s after the first fill)", fast, floor, time.Since(start).Round(time.Second))
	assert.Zero(t, fast, "a carrier below the floor reads nothing")
	assert.LessOrEqual(t, floor, 5, "at the floor: the first fill and one read per 5 s")
	a := carrierAnnotations(t, cw, "vaultcmp-vss.sched-fast")
	assert.Equal(t, "Error", a["vaultcmp.io/status"])
	assert.Contains(t, a["vaultcmp.io/message"], "VAULTCMP_MIN_REFRESH_AFTER")
	for _, c := range []string{"vaultcmp-vss.sched-fast", "vaultcmp-vss.sched-floor"} {
		require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(ctx, c, metav1.DeleteOptions{}))
	}
}

// teamPolicy is docs/install.md's scoped policy for a team whose database
// role is <team>-db and PKI role sched-team.
func teamPolicy(team string) string {
	return fmt.Sprintf(`
path "database/creds/%[1]s-db" { capabilities = ["read"] }
path "pki/issue/sched-team" { capabilities = ["update"] }
path "sys/leases/renew/database/creds/%[1]s-db/*" {
  capabilities      = ["update"]
  denied_parameters = { "lease_id" = [] }
}
path "sys/leases/revoke/database/creds/%[1]s-db/*" {
  capabilities      = ["update"]
  denied_parameters = { "lease_id" = [] }
}
path "pki/revoke-with-key" { capabilities = ["update"] }
`, team)
}

// Row 9: with the scoped policy, team A's identity renews and revokes its
// own lease and certificate, and cannot touch team B's: not by path (403),
// not with B's lease id in the body of its own path (denied_parameters:
// Vault prefers a body lease_id), not with the unscoped forms, not B's
// certificate without B's key.
func TestHostileRevokeOnlyOwner(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	for _, team := range []string{"sched-a", "sched-b"} {
		require.NoError(t, cw.db.Role(ctx, team+"-db", time.Hour, 2*time.Hour))
	}
	require.NoError(t, cw.pki.Role(ctx, "sched-team", time.Hour, "team.example.com"))
	al, err := vault.ParseAllowList(vaultSrv.Addr)
	require.NoError(t, err)
	lc := vault.NewLifecycle(vault.LifecycleOptions{AllowList: al})
	ids, tokens := map[string]*vault.Identity{}, map[string]*api.Client{}
	for _, team := range []string{"sched-a", "sched-b"} {
		roleID, secretID, err := vaultSrv.AppRole(ctx, team, teamPolicy(team), time.Hour, 0)
		require.NoError(t, err)
		ids[team] = &vault.Identity{Connection: vault.Connection{Address: vaultSrv.Addr}, Auth: vault.AppRoleAuth("approle", roleID, secretID)}
		c, err := api.NewClient(&api.Config{Address: vaultSrv.Addr})
		require.NoError(t, err)
		s, err := c.Logical().WriteWithContext(ctx, "auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
		require.NoError(t, err)
		c.SetToken(s.Auth.ClientToken)
		tokens[team] = c
	}
	a, b := ids["sched-a"], ids["sched-b"]
	la, err := lc.ReadDynamic(ctx, vault.DynamicRequest{Identity: a, Mount: "database", Path: "creds/sched-a-db"})
	require.NoError(t, err)
	lb, err := lc.ReadDynamic(ctx, vault.DynamicRequest{Identity: b, Mount: "database", Path: "creds/sched-b-db"})
	require.NoError(t, err)
	userA, userB := la.Data["username"].(string), lb.Data["username"].(string)

	_, err = lc.RenewLease(ctx, a, la.Lease.ID, time.Hour)
	require.NoError(t, err, "A renews its own lease")
	forbidden := func(err error, what string) {
		t.Helper()
		var verr *vault.Error
		require.ErrorAs(t, err, &verr, what)
		assert.Equal(t, vault.ReasonForbidden, verr.Reason, what)
		assert.Equal(t, 403, verr.Status, what)
	}
	_, err = lc.RenewLease(ctx, a, lb.Lease.ID, time.Hour)
	forbidden(err, "A renews B's lease")
	forbidden(lc.RevokeLease(ctx, a, lb.Lease.ID), "A revokes B's lease")
	_, err = tokens["sched-a"].Logical().WriteWithContext(ctx, "sys/leases/revoke/"+la.Lease.ID, map[string]any{"lease_id": lb.Lease.ID})
	assert.ErrorContains(t, err, "403", "B's lease id in the body of A's own path")
	_, err = tokens["sched-a"].Logical().WriteWithContext(ctx, "sys/leases/revoke", map[string]any{"lease_id": lb.Lease.ID})
	assert.ErrorContains(t, err, "403", "the unscoped form")
	assert.True(t, cw.roleExists(t, userB), "B's PostgreSQL user survives")

	require.NoError(t, lc.RevokeLease(ctx, a, la.Lease.ID), "A revokes its own lease")
	assert.False(t, cw.roleExists(t, userA), "A's PostgreSQL user dropped")
	require.NoError(t, lc.RevokeLease(ctx, b, lb.Lease.ID))
	assert.False(t, cw.roleExists(t, userB))

	ca, err := lc.IssueCertificate(ctx, vault.PKIRequest{Identity: a, Mount: "pki", Role: "sched-team", CommonName: "team.example.com", TTL: time.Hour})
	require.NoError(t, err)
	cb, err := lc.IssueCertificate(ctx, vault.PKIRequest{Identity: b, Mount: "pki", Role: "sched-team", CommonName: "team.example.com", TTL: time.Hour})
	require.NoError(t, err)
	keyA := ca.Data["private_key"].(string)
	err = lc.RevokeCertificate(ctx, a, "pki", cb.Serial, keyA)
	assert.Error(t, err, "A revokes B's certificate with A's key")
	_, err = tokens["sched-a"].Logical().WriteWithContext(ctx, "pki/revoke", map[string]any{"serial_number": cb.Serial})
	assert.ErrorContains(t, err, "403", "pki/revoke by serial is not granted")
	byCert, _, err := cw.pki.Revoked(ctx, cb.Serial)
	require.NoError(t, err)
	assert.False(t, byCert, "B's certificate is not revoked")
	require.NoError(t, lc.RevokeCertificate(ctx, a, "pki", ca.Serial, keyA), "A revokes its own with its key")
	byCert, _, err = cw.pki.Revoked(ctx, ca.Serial)
	require.NoError(t, err)
	assert.True(t, byCert)
}

// Row 9 in the companion, in depth: a carrier's state names another
// team's lease (a forged state; the state seal makes the companion ignore
// one, this holds without it). The companion world's identity may revoke
// every lease under database/creds/, so only the companion's own rule
// stands between the carrier and the victim's lease: a lease id is revoked
// only under the carrier's own <mount>/<path>/.
func TestHostileForeignLeaseNotRevoked(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	require.NoError(t, cw.db.Role(ctx, "sched-victim-db", time.Hour, 2*time.Hour))
	victim, err := vaultSrv.Client.Logical().ReadWithContext(ctx, "database/creds/sched-victim-db")
	require.NoError(t, err)
	victimUser := victim.Data["username"].(string)
	t.Cleanup(func() { _ = vaultSrv.Client.Sys().RevokeWithContext(ctx, victim.LeaseID) })

	cw.deploy(t, map[string]string{"vds.yaml": vds("sched-thief", "creds/webapp-readonly", "sched-thief-db", "")})
	own := string(cw.waitData(t, "sched-thief-db", "username", 20*time.Second).Data["username"])
	eventually(t, 10*time.Second, func() (bool, string) {
		return carrierAnnotations(t, cw, "vaultcmp-vds.sched-thief")["vaultcmp.io/status"] == "Synced", "Synced"
	}, cw.companion)
	k := cw.cluster.Admin.CoreV1().Secrets("webapp-ns")
	c, err := k.Get(ctx, "vaultcmp-vds.sched-thief", metav1.GetOptions{})
	require.NoError(t, err)
	state := c.Annotations["vaultcmp.io/state"]
	var st struct {
		LeaseID string `json:"leaseID"`
	}
	require.NoError(t, json.Unmarshal([]byte(state), &st), state)
	ownLease := st.LeaseID
	require.NotEmpty(t, ownLease, state)
	c.Annotations["vaultcmp.io/state"] = strings.Replace(state, ownLease, victim.LeaseID, 1)
	_, err = k.Update(ctx, c, metav1.UpdateOptions{})
	require.NoError(t, err)

	revokes0 := cw.auditCount(t, "sys/leases/revoke/"+victim.LeaseID)
	cw.deleteCarrier(t, "vaultcmp-vds.sched-thief")
	time.Sleep(2 * time.Second)
	assert.True(t, cw.roleExists(t, victimUser), "the victim's PostgreSQL user survives the carrier's deletion")
	assert.Zero(t, cw.auditCount(t, "sys/leases/revoke/"+victim.LeaseID)-revokes0, "no revocation of the victim's lease reached Vault")
	t.Logf("events: %s", cw.events(t, "vaultcmp-vds.sched-thief"))
	// The carrier's own lease was not revoked (its id was overwritten): the
	// test's cleanup does it.
	require.NoError(t, vaultSrv.Client.Sys().RevokeWithContext(ctx, ownLease))
	assert.False(t, cw.roleExists(t, own))
}
