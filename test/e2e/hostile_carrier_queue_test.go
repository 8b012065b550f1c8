package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Issue 15, rows 2 and 3 and the fairness case: one tenant can never
// degrade another. Each test runs its own companion (small limits through
// its flags), then puts the shared one back.

// queueCompanion replaces the shared companion with one started with args
// for the length of t.
func queueCompanion(t *testing.T, cw *companionWorld, args ...string) *Companion {
	t.Helper()
	cw.companion.Stop()
	c, err := cw.startCompanion(context.Background(), args...)
	if err != nil {
		if shared, serr := cw.startCompanion(context.Background()); serr == nil {
			cw.companion = shared
		}
		t.Fatalf("starting the companion with %v: %v", args, err)
	}
	cw.companion = c
	t.Cleanup(func() {
		c.Stop()
		shared, err := cw.startCompanion(context.Background())
		if err != nil {
			t.Errorf("restarting the shared companion: %v", err)
			return
		}
		cw.companion = shared
	})
	return c
}

// tenantNamespace creates namespace ns with service account sa, and deletes
// what the test leaves in it (carriers first, while the test's companion
// still runs, so that their finalizers are removed).
func tenantNamespace(t *testing.T, cw *companionWorld, ns, sa string) {
	t.Helper()
	k := cw.cluster.Admin.CoreV1()
	if _, err := k.Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	if _, err := k.ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	t.Cleanup(func() { deleteCarriers(t, cw, ns) })
}

// deleteCarriers deletes every carrier of namespace ns and waits (bounded)
// until the companion has let them go.
func deleteCarriers(t *testing.T, cw *companionWorld, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := cw.cluster.Admin.CoreV1().Secrets(ns)
	sel := metav1.ListOptions{LabelSelector: "vaultcmp.io/contract"}
	if err := k.DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		t.Logf("deleting the carriers of %s: %v", ns, err)
		return
	}
	for ctx.Err() == nil {
		l, err := k.List(ctx, sel)
		if err == nil && len(l.Items) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("carriers of %s still there after 30 s", ns)
}

// kubeRole writes a Vault kubernetes-auth role for ns/sa with token_ttl.
func kubeRole(t *testing.T, name, ns, sa string, ttl time.Duration) {
	t.Helper()
	_, err := vaultSrv.Client.Logical().WriteWithContext(t.Context(), "auth/kubernetes/role/"+name, map[string]any{
		"bound_service_account_names": []string{sa}, "bound_service_account_namespaces": []string{ns},
		"audience": "vault", "token_policies": []string{"k8s-webapp-companion"},
		"token_ttl": int(ttl / time.Second), "token_max_ttl": 3600,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = vaultSrv.Client.Logical().Delete("auth/kubernetes/role/" + name) })
}

// tenantAuth is a VaultAuth named name in ns logging in as sa with Vault role role.
func tenantAuth(ns, name, role, sa string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: %s
  namespace: %s
spec:
  vaultConnectionRef: vault-connection
  method: kubernetes
  mount: kubernetes
  kubernetes:
    role: %s
    serviceAccount: %s
    audiences: [vault]
`, name, ns, role, sa)
}

// tenantVDS is a VaultDynamicSecret of database/<path> in ns through auth.
func tenantVDS(ns, name, auth, path, extra string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata:
  name: %s
  namespace: %s
spec:
  mount: database
  path: %s
  vaultAuthRef: %s
  destination:
    name: %s-db
    create: true
%s`, name, ns, path, auth, name, extra)
}

// renderTenant renders docs (plus a VaultConnection to the test Vault) for
// namespace ns with the installation's key, as generate would, and applies
// the result.
func renderTenant(t *testing.T, ns string, objs ...string) {
	t.Helper()
	conn := webappFile(t, "connection.yaml", vaultSrv.Addr)
	conn = strings.ReplaceAll(conn, "namespace: webapp-ns", "namespace: "+ns)
	files := map[string]string{"connection.yaml": conn}
	for i, d := range objs {
		files[fmt.Sprintf("obj%04d.yaml", i)] = d
	}
	r := run(t, []string{"VAULT_ADDR=" + vaultSrv.Addr, "VAULTCMP_HMAC_KEY=" + companionHMACKey}, "render", "-n", ns, writeApp(t, files))
	require.Equal(t, 0, r.code, r.stderr)
	applyObjects(t, docs(t, r.stdout), ns, false)
}

// carrierIn reads carrier name of namespace ns (nil when absent).
func carrierIn(t *testing.T, cw *companionWorld, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := cw.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return s
}

// rawAudit enables a file audit device that logs request data in clear (the
// role of each login), for this test only.
func rawAudit(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".log")
	require.NoError(t, vaultSrv.Client.Sys().EnableAuditWithOptionsWithContext(t.Context(), name, &api.EnableAuditOptions{
		Type: "file", Options: map[string]string{"file_path": p, "log_raw": "true"},
	}))
	t.Cleanup(func() { _ = vaultSrv.Client.Sys().DisableAudit(name) })
	return p
}

// auditEntry is one request of Vault's audit log.
type auditEntry struct {
	Time time.Time
	Path string // a renewal's path names its lease: sys/leases/renew/<lease id>
	Role string // a login's role
}

// auditRequests reads the requests of a file audit log.
func auditRequests(t *testing.T, p string) []auditEntry {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	var out []auditEntry
	for _, line := range strings.Split(string(b), "\n") {
		var e struct {
			Time    time.Time `json:"time"`
			Type    string    `json:"type"`
			Request struct {
				Path string         `json:"path"`
				Data map[string]any `json:"data"`
			} `json:"request"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Type != "request" {
			continue
		}
		role, _ := e.Request.Data["role"].(string)
		out = append(out, auditEntry{Time: e.Time, Path: e.Request.Path, Role: role})
	}
	return out
}

// The eviction attack (row 2): a victim holds a dynamic PostgreSQL lease
// through a Vault token of 15 s; another namespace brings more identities
// than the companion keeps — carriers whose login never succeeds, and
// carriers holding leases of their own. The victim's client is never
// evicted: its token is renewed and its lease outlives many token TTLs;
// the identities beyond the limit are refused with a status naming the
// limit and its flag.
func TestHostileQueueEvictionAttack(t *testing.T) {
	cw := getCompanion(t)
	const limit = 4
	queueCompanion(t, cw, fmt.Sprintf("--max-vault-identities=%d", limit), "--max-backoff=2s")
	const victimNS, noisyNS = "queue-victim", "queue-noisy-a"
	tenantNamespace(t, cw, victimNS, "victim-sa")
	tenantNamespace(t, cw, noisyNS, "noisy-sa")
	const tokenTTL = 15 * time.Second
	kubeRole(t, "queue-victim", victimNS, "victim-sa", tokenTTL)
	require.NoError(t, cw.db.Role(t.Context(), "queue-victim", time.Minute, time.Hour))

	renderTenant(t, victimNS, tenantAuth(victimNS, "victim-auth", "queue-victim", "victim-sa"),
		tenantVDS(victimNS, "victim", "victim-auth", "creds/queue-victim", ""))
	var victim *corev1.Secret
	eventually(t, 30*time.Second, func() (bool, string) {
		victim, _ = cw.cluster.Admin.CoreV1().Secrets(victimNS).Get(t.Context(), "victim-db", metav1.GetOptions{})
		return victim != nil && len(victim.Data["username"]) > 0, "the victim's credentials"
	}, cw.companion)
	user := string(victim.Data["username"])
	start := time.Now()

	// The attack: 3 identities with leases (all slots then held), one more,
	// and 12 that never log in (their Vault roles do not exist).
	var objs []string
	for i := 1; i <= limit; i++ {
		role := fmt.Sprintf("queue-holder-%d", i)
		kubeRole(t, role, noisyNS, "noisy-sa", time.Hour)
		objs = append(objs, tenantAuth(noisyNS, role, role, "noisy-sa"), tenantVDS(noisyNS, role, role, "creds/webapp-readonly", ""))
	}
	for i := range 12 {
		name := fmt.Sprintf("never-%02d", i)
		objs = append(objs, tenantAuth(noisyNS, name, "queue-missing-"+name, "noisy-sa"), tenantVDS(noisyNS, name, name, "creds/webapp-readonly", ""))
	}
	renderTenant(t, noisyNS, objs...)

	// New identities over the limit: a clear status on their carriers.
	eventually(t, 45*time.Second, func() (bool, string) {
		l, err := cw.cluster.Admin.CoreV1().Secrets(noisyNS).List(t.Context(), metav1.ListOptions{LabelSelector: "vaultcmp.io/contract"})
		require.NoError(t, err)
		refused := 0
		for _, s := range l.Items {
			if s.Annotations["vaultcmp.io/status"] == "Error" && strings.Contains(s.Annotations["vaultcmp.io/message"], "identity limit reached") {
				assert.Contains(t, s.Annotations["vaultcmp.io/message"], fmt.Sprintf("all %d Vault identities", limit))
				assert.Contains(t, s.Annotations["vaultcmp.io/message"], "--max-vault-identities")
				refused++
			}
		}
		return refused > 0, fmt.Sprintf("a carrier of %s refused at the identity limit", noisyNS)
	}, cw.companion)

	// Every slot ends up held by an identity with leases (the victim's and
	// 3 of the attacker's); the metrics say so.
	eventually(t, 30*time.Second, func() (bool, string) {
		m, err := cw.companion.Metrics()
		require.NoError(t, err)
		return strings.Contains(m, fmt.Sprintf("vaultcmp_vault_identities_limit %d", limit)) &&
			strings.Contains(m, fmt.Sprintf("vaultcmp_vault_identities_holding_leases %d", limit)), "every slot holding leases (metrics)"
	}, cw.companion)

	// The victim's lease outlives several token TTLs: the same PostgreSQL
	// user logs in the whole time, and the carrier is truthfully Synced.
	for time.Since(start) < 4*tokenTTL {
		require.True(t, cw.roleExists(t, user), "the victim's PostgreSQL user was dropped %s into the attack (its token was not renewed)", time.Since(start).Round(time.Second))
		time.Sleep(time.Second)
	}
	s, err := cw.cluster.Admin.CoreV1().Secrets(victimNS).Get(t.Context(), "victim-db", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, user, string(s.Data["username"]), "the same credentials (no re-issue after a revocation)")
	assert.True(t, cw.canLogin(t, s))
	c := carrierIn(t, cw, victimNS, "vaultcmp-vds.victim")
	require.NotNil(t, c)
	assert.Equal(t, "Synced", c.Annotations["vaultcmp.io/status"])
	t.Logf("the victim's lease survived the %s attack (%d× its token's TTL of %s) and is still live; identity limit %d",
		time.Since(start).Round(time.Second), int(time.Since(start)/tokenTTL), tokenTTL, limit)
}

// A carrier whose Vault role is missing (row 3): its logins, counted in
// Vault's audit log, follow the backoff — a permanent error is retried once
// per --max-backoff — not a loop through the companion's own status write.
func TestHostileQueueBackoff(t *testing.T) {
	cw := getCompanion(t)
	const maxBackoff = 10 * time.Second
	queueCompanion(t, cw, "--max-backoff="+maxBackoff.String())
	const ns = "queue-backoff"
	tenantNamespace(t, cw, ns, "app-sa")
	audit := rawAudit(t, fmt.Sprintf("queue%d", time.Now().UnixNano()))
	const role = "queue-no-such-role"
	renderTenant(t, ns, tenantAuth(ns, "auth", role, "app-sa"), tenantVDS(ns, "broken", "auth", "creds/webapp-readonly", ""))

	var first time.Time
	logins := func() []auditEntry {
		var out []auditEntry
		for _, e := range auditRequests(t, audit) {
			if e.Path == "auth/kubernetes/login" && e.Role == role {
				out = append(out, e)
			}
		}
		return out
	}
	eventually(t, 20*time.Second, func() (bool, string) {
		l := logins()
		if len(l) > 0 {
			first = l[0].Time
		}
		return len(l) > 0, "the first login of the broken carrier"
	}, cw.companion)
	const window = 45 * time.Second
	time.Sleep(time.Until(first.Add(window)))
	var n int
	for _, e := range logins() {
		if e.Time.Before(first.Add(window)) {
			n++
		}
	}
	c := carrierIn(t, cw, ns, "vaultcmp-vds.broken")
	require.NotNil(t, c)
	assert.Equal(t, "Error", c.Annotations["vaultcmp.io/status"])
	assert.Contains(t, c.Annotations["vaultcmp.io/message"], role)
	// A login 400 is permanent: once at first, then once per max-backoff.
	want := int(window/maxBackoff) + 1
	t.Logf("logins of one carrier with a missing Vault role: %d in %s (%.1f a minute; backoff: one per %s)",
		n, window, float64(n)*float64(time.Minute)/float64(window), maxBackoff)
	assert.InDelta(t, want, n, 1, "logins in %s", window)
}

// Two tenants (the fairness case): a noisy namespace with more identities
// than the limit — all failing, retried — and a quiet namespace whose lease
// renews every few seconds through a 15 s token. The quiet lease is renewed
// on time, every time, by the same credentials.
func TestHostileQueueTwoTenants(t *testing.T) {
	cw := getCompanion(t)
	queueCompanion(t, cw, "--max-vault-identities=4", "--max-backoff=2s", "--concurrency=2")
	const quietNS, noisyNS = "queue-quiet", "queue-noisy-c"
	tenantNamespace(t, cw, quietNS, "quiet-sa")
	tenantNamespace(t, cw, noisyNS, "noisy-sa")
	kubeRole(t, "queue-quiet", quietNS, "quiet-sa", 15*time.Second)
	const leaseTTL = 6 * time.Second
	require.NoError(t, cw.db.Role(t.Context(), "queue-quiet", leaseTTL, time.Hour))
	audit := rawAudit(t, fmt.Sprintf("quiet%d", time.Now().UnixNano()))

	renderTenant(t, quietNS, tenantAuth(quietNS, "quiet-auth", "queue-quiet", "quiet-sa"),
		tenantVDS(quietNS, "quiet", "quiet-auth", "creds/queue-quiet", "  renewalPercent: 50\n"))
	var user string
	eventually(t, 30*time.Second, func() (bool, string) {
		s, _ := cw.cluster.Admin.CoreV1().Secrets(quietNS).Get(t.Context(), "quiet-db", metav1.GetOptions{})
		if s != nil {
			user = string(s.Data["username"])
		}
		return user != "", "the quiet tenant's credentials"
	}, cw.companion)

	var objs []string
	for i := range 60 {
		name := fmt.Sprintf("noisy-%02d", i)
		objs = append(objs, tenantAuth(noisyNS, name, "queue-missing-"+name, "noisy-sa"), tenantVDS(noisyNS, name, name, "creds/webapp-readonly", ""))
	}
	renderTenant(t, noisyNS, objs...)
	start := time.Now()
	const window = 40 * time.Second
	for time.Since(start) < window {
		require.True(t, cw.roleExists(t, user), "the quiet tenant's PostgreSQL user was dropped %s into the noise", time.Since(start).Round(time.Second))
		time.Sleep(time.Second)
	}
	var renewals []time.Time
	noisyLogins := 0
	for _, e := range auditRequests(t, audit) {
		switch {
		case strings.HasPrefix(e.Path, "sys/leases/renew/database/creds/queue-quiet/") && !e.Time.Before(start):
			renewals = append(renewals, e.Time)
		case e.Path == "auth/kubernetes/login" && strings.HasPrefix(e.Role, "queue-missing-noisy-"):
			noisyLogins++
		}
	}
	s, err := cw.cluster.Admin.CoreV1().Secrets(quietNS).Get(t.Context(), "quiet-db", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, user, string(s.Data["username"]), "renewed, never re-issued")
	assert.True(t, cw.canLogin(t, s))
	// Renewals at 50-60 % of 6 s: every 3-3.6 s; late by more than 2 s is a failure.
	require.GreaterOrEqual(t, len(renewals), int(window/(4*time.Second)), "renewals in %s", window)
	var worst time.Duration
	prev := start
	for _, r := range renewals {
		worst = max(worst, r.Sub(prev))
		prev = r
	}
	worst = max(worst, start.Add(window).Sub(prev))
	t.Logf("quiet tenant: %d renewals in %s, longest gap %s (schedule: every 3-3.6 s); noisy tenant: 60 carriers, %d failed logins",
		len(renewals), window, worst.Round(10*time.Millisecond), noisyLogins)
	assert.Less(t, worst, 5600*time.Millisecond, "a renewal was more than 2 s late")
	c := carrierIn(t, cw, quietNS, "vaultcmp-vds.quiet")
	require.NotNil(t, c)
	assert.Equal(t, "Synced", c.Annotations["vaultcmp.io/status"])
}

// A carrier does not say Synced while its lease's token is failing: the
// victim's Vault role is deleted, so its 15 s token can be neither renewed
// nor replaced; the carrier turns Error (naming the failure) before Vault
// revokes the lease, and once the role is back it is filled again with new
// credentials and says Synced.
func TestHostileQueueTokenTroubleSurfaced(t *testing.T) {
	cw := getCompanion(t)
	queueCompanion(t, cw, "--max-backoff=3s")
	const ns = "queue-trouble"
	tenantNamespace(t, cw, ns, "app-sa")
	const tokenTTL = 15 * time.Second
	kubeRole(t, "queue-trouble", ns, "app-sa", tokenTTL)
	require.NoError(t, cw.db.Role(t.Context(), "queue-trouble", time.Minute, time.Hour))
	renderTenant(t, ns, tenantAuth(ns, "auth", "queue-trouble", "app-sa"), tenantVDS(ns, "app", "auth", "creds/queue-trouble", ""))
	var user string
	eventually(t, 30*time.Second, func() (bool, string) {
		s, _ := cw.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), "app-db", metav1.GetOptions{})
		if s != nil {
			user = string(s.Data["username"])
		}
		return user != "", "the credentials"
	}, cw.companion)
	filled := time.Now()
	eventually(t, 10*time.Second, func() (bool, string) {
		return carrierIn(t, cw, ns, "vaultcmp-vds.app").Annotations["vaultcmp.io/status"] == "Synced", "Synced"
	}, cw.companion)

	_, err := vaultSrv.Client.Logical().Delete("auth/kubernetes/role/queue-trouble")
	require.NoError(t, err)
	deleted := time.Now()
	eventually(t, tokenTTL+5*time.Second, func() (bool, string) {
		a := carrierIn(t, cw, ns, "vaultcmp-vds.app").Annotations
		return a["vaultcmp.io/status"] == "Error" && strings.Contains(a["vaultcmp.io/message"], "could not be renewed"),
			"status Error: the lease's token cannot be renewed (" + a["vaultcmp.io/message"] + ")"
	}, cw.companion)
	t.Logf("the carrier said Error %s after its Vault role was deleted (token TTL %s, filled %s before); the lease's PostgreSQL user still existed then: %v",
		time.Since(deleted).Round(100*time.Millisecond), tokenTTL, deleted.Sub(filled).Round(100*time.Millisecond), cw.roleExists(t, user))

	kubeRole(t, "queue-trouble", ns, "app-sa", tokenTTL)
	eventually(t, 30*time.Second, func() (bool, string) {
		s, _ := cw.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), "app-db", metav1.GetOptions{})
		a := carrierIn(t, cw, ns, "vaultcmp-vds.app").Annotations
		return s != nil && string(s.Data["username"]) != user && a["vaultcmp.io/status"] == "Synced",
			"new credentials and Synced once the role is back (" + a["vaultcmp.io/status"] + ": " + a["vaultcmp.io/message"] + ")"
	}, cw.companion)
	s, err := cw.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), "app-db", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, cw.canLogin(t, s))
}
