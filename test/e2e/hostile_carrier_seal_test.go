package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// Issue 15: the companion acts only on what generate wrote for that place
// (rows 1, 5, 9 — its state half — and 10). Every test here runs against
// the real companion under its shipped RBAC, a real apiserver, Vault and
// PostgreSQL, and is bounded to about 90 s.

// rowOneContract is the row-1 carrier: a "login" whose mount
// leaves auth/ for the attacker's cubbyhole, sent with the attacker's own
// Vault token, asking for a year-long token of the namespace's account.
func rowOneContract(name, attackerToken string, mutate func(*contract.V1)) *contract.V1 {
	c := &contract.V1{
		Version: contract.Version, Delivery: contract.DeliveryInCluster,
		Object: contract.Object{Kind: v1beta1.KindVaultDynamicSecret, Name: name, Namespace: "webapp-ns",
			Dynamic: &v1beta1.VaultDynamicSecretSpec{Mount: "database", Path: "creds/webapp-readonly",
				Destination: v1beta1.Destination{Name: name + "-db", Create: true}}},
		Connection: contract.Connection{Address: vaultSrv.Addr, Headers: map[string]string{"X-Vault-Token": attackerToken}},
		Auth: &contract.Auth{Method: "kubernetes", Mount: "../cubbyhole/loot", Role: "webapp-role", ServiceAccount: "webapp-sa",
			Audiences: []string{"anything"}, TokenSeconds: 365 * 24 * 3600, Headers: map[string]string{"X-Vault-Token": attackerToken}},
	}
	if mutate != nil {
		mutate(c)
	}
	return c
}

// handCarrier writes a carrier by hand in ns: the contract, and the seal
// sealed gives it ("" for none).
func (cw *companionWorld) handCarrier(t testing.TB, ns string, c *contract.V1, seal func(name string, body []byte) string) string {
	t.Helper()
	body, err := c.Marshal()
	require.NoError(t, err)
	name := contract.CarrierName(c.Object.Kind, c.Object.Name)
	ann := map[string]string{contract.AnnotationContract: string(body)}
	if seal != nil {
		ann[contract.AnnotationSeal] = seal(name, body)
	}
	_, err = cw.cluster.Admin.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: ann,
			Labels: map[string]string{contract.LabelContract: contract.Version, contract.LabelDelivery: c.Delivery}},
		Type: contract.SecretType,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cw.cluster.Admin.CoreV1().Secrets(ns).Delete(t.Context(), name, metav1.DeleteOptions{}) })
	return name
}

// sealWith seals as generate does with key, for the carrier's place in ns.
func sealWith(key, ns string) func(string, []byte) string {
	return func(name string, body []byte) string { return contract.Seal([]byte(key), ns, name, body) }
}

// attackerToken is a Vault token of the attacker's (default policy: its
// own cubbyhole) and a client for it.
func attackerToken(t testing.TB) (string, *api.Client) {
	t.Helper()
	s, err := vaultSrv.Client.Auth().Token().CreateWithContext(t.Context(), &api.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
	require.NoError(t, err)
	c, err := vaultSrv.Client.Clone()
	require.NoError(t, err)
	c.SetToken(s.Auth.ClientToken)
	return s.Auth.ClientToken, c
}

// auditCount counts the requests in Vault's audit log whose path has prefix.
func (cw *companionWorld) auditCount(t testing.TB, prefix string) int {
	t.Helper()
	return countAudit(t, cw.audit, func(p string) bool { return strings.HasPrefix(p, prefix) })
}

// tokenRequests is the apiserver's count of TokenRequests (POST
// serviceaccounts/token) so far, from its /metrics.
func (cw *companionWorld) tokenRequests(t testing.TB) int {
	t.Helper()
	b, err := cw.cluster.Admin.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	require.NoError(t, err)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `resource="serviceaccounts"`) && strings.Contains(line, `subresource="token"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			require.NoError(t, err)
			n += int(v)
		}
	}
	return n
}

// refused waits until the carrier ns/name says Error with want in its
// message, and checks the companion put nothing on it but that.
func (cw *companionWorld) refused(t testing.TB, ns, name, want string) {
	t.Helper()
	cw.statusSays(t, ns, name, want)
	s, err := cw.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, s.Finalizers, "no finalizer on a refused carrier")
	assert.Empty(t, s.Annotations["vaultcmp.io/state"], "no state on a refused carrier")
	assert.Contains(t, cw.eventsIn(t, ns, name), "ContractError")
}

// statusSays waits until the carrier ns/name says Error with want in its
// message.
func (cw *companionWorld) statusSays(t testing.TB, ns, name, want string) {
	t.Helper()
	eventually(t, 20*time.Second, func() (bool, string) {
		s, err := cw.cluster.Admin.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
		require.NoError(t, err)
		return s.Annotations["vaultcmp.io/status"] == "Error" && strings.Contains(s.Annotations["vaultcmp.io/message"], want),
			fmt.Sprintf("carrier %s/%s refused naming %q (annotations: %v)", ns, name, want, s.Annotations)
	}, cw.companion)
}

// (a) The row-1 attack as a hand-written carrier, unsealed or
// sealed with another installation's key: refused before anything — no
// TokenRequest, no Vault request at all (the attacker's cubbyhole stays
// empty), no destination — and the status says why.
func TestHostileCarrierUnsealed(t *testing.T) {
	cw := getCompanion(t)
	tok, attacker := attackerToken(t)
	tokens, cubby, logins := cw.tokenRequests(t), cw.auditCount(t, "cubbyhole/"), cw.auditCount(t, "auth/")
	unsealed := cw.handCarrier(t, "webapp-ns", rowOneContract("loot", tok, nil), nil)
	otherKey := cw.handCarrier(t, "webapp-ns", rowOneContract("loot2", tok, nil), sealWith("another-installation", "webapp-ns"))
	cw.refused(t, "webapp-ns", unsealed, "has no seal")
	cw.refused(t, "webapp-ns", otherKey, "does not verify")
	time.Sleep(2 * time.Second) // anything the companion would still do
	assert.Equal(t, tokens, cw.tokenRequests(t), "no TokenRequest")
	assert.Equal(t, cubby, cw.auditCount(t, "cubbyhole/"), "no request to any cubbyhole")
	assert.Equal(t, logins, cw.auditCount(t, "auth/"), "no login")
	loot, err := attacker.Logical().ListWithContext(t.Context(), "cubbyhole/loot")
	require.NoError(t, err)
	assert.Nil(t, loot, "the attacker's cubbyhole is empty")
	assert.Nil(t, cw.secret(t, "loot-db"))
	assert.NotContains(t, cw.companion.Log(), tok)
}

// (b) A carrier generate sealed, copied to another namespace or to another
// name: refused; nothing issued for the copies.
func TestHostileCarrierCopied(t *testing.T) {
	cw := getCompanion(t)
	cw.deploy(t, map[string]string{"vds.yaml": vds("sealcopy", "creds/webapp-readonly", "sealcopy-db", "")})
	cw.waitData(t, "sealcopy-db", "password", 30*time.Second)
	orig := cw.secret(t, "vaultcmp-vds.sealcopy")
	require.NotNil(t, orig)
	_, err := cw.cluster.Admin.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-b"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	reads, tokens := cw.auditCount(t, "database/creds/"), cw.tokenRequests(t)
	for _, place := range []struct{ ns, name string }{{"team-b", orig.Name}, {"webapp-ns", "vaultcmp-vds.sealcopy-copy"}} {
		cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: place.name, Namespace: place.ns, Labels: orig.Labels,
			Annotations: map[string]string{
				contract.AnnotationContract: orig.Annotations[contract.AnnotationContract],
				contract.AnnotationSeal:     orig.Annotations[contract.AnnotationSeal],
			}}, Type: orig.Type}
		_, err := cw.cluster.Admin.CoreV1().Secrets(place.ns).Create(t.Context(), cp, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = cw.cluster.Admin.CoreV1().Secrets(place.ns).Delete(t.Context(), place.name, metav1.DeleteOptions{})
		})
		cw.refused(t, place.ns, place.name, "does not verify")
	}
	time.Sleep(2 * time.Second)
	assert.Equal(t, reads, cw.auditCount(t, "database/creds/"), "nothing issued for a copy")
	assert.Equal(t, tokens, cw.tokenRequests(t), "no TokenRequest for a copy")
	_, err = cw.cluster.Admin.CoreV1().Secrets("team-b").Get(t.Context(), "sealcopy-db", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no destination in the other namespace")
	cw.deleteCarrier(t, "vaultcmp-vds.sealcopy")
}

// (c) Row 1 sealed with the installation's key (standing for a generate
// bug): the companion's own validation still refuses the mount and each
// credential header, before any credential is fetched or sent.
func TestHostileCarrierSealedButInvalid(t *testing.T) {
	cw := getCompanion(t)
	tok, attacker := attackerToken(t)
	tokens, cubby := cw.tokenRequests(t), cw.auditCount(t, "cubbyhole/")
	seal := sealWith(companionHMACKey, "webapp-ns")
	cases := map[string]struct {
		mutate func(*contract.V1)
		want   string
	}{
		"mount": {func(c *contract.V1) { c.Connection.Headers, c.Auth.Headers = nil, nil }, "spec.mount"},
		"login header": {func(c *contract.V1) {
			c.Connection.Headers, c.Auth.Mount = nil, "kubernetes"
		}, "spec.headers[X-Vault-Token]: Forbidden"},
		"connection header": {func(c *contract.V1) {
			c.Auth.Headers, c.Auth.Mount = nil, "kubernetes"
			c.Connection.Headers = map[string]string{"Authorization": "Bearer " + tok}
		}, "spec.headers[Authorization]: Forbidden"},
		"everything": {nil, "Forbidden"},
	}
	i := 0
	for name, tc := range cases {
		i++
		carrier := cw.handCarrier(t, "webapp-ns", rowOneContract(fmt.Sprintf("sealed-%d", i), tok, tc.mutate), seal)
		cw.refused(t, "webapp-ns", carrier, tc.want)
		t.Logf("%s: %s", name, cw.secret(t, carrier).Annotations["vaultcmp.io/message"])
	}
	time.Sleep(2 * time.Second)
	assert.Equal(t, tokens, cw.tokenRequests(t), "no TokenRequest")
	assert.Equal(t, cubby, cw.auditCount(t, "cubbyhole/"), "no request to any cubbyhole")
	loot, err := attacker.Logical().ListWithContext(t.Context(), "cubbyhole/loot")
	require.NoError(t, err)
	assert.Nil(t, loot, "the attacker's cubbyhole is empty")
	assert.NotContains(t, cw.companion.Log(), tok)
}

// patchAnnotations merge-patches a carrier's annotations as its writer can.
func (cw *companionWorld) patchAnnotations(t testing.TB, name string, ann map[string]string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	require.NoError(t, err)
	_, err = cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Patch(t.Context(), name, types.MergePatchType, b, metav1.PatchOptions{})
	require.NoError(t, err)
}

// (d) A forged state naming another carrier's lease — copied with its
// seal, or edited — is never revoked: the victim's PostgreSQL user
// survives the deletion of the attacker's carrier.
func TestHostileForgedStateLease(t *testing.T) {
	cw := getCompanion(t)
	cw.deploy(t, map[string]string{
		"victim.yaml": vds("victim", "creds/webapp-readonly", "victim-db", ""),
		"thief.yaml":  vds("thief", "creds/webapp-readonly", "thief-db", ""),
		"thief2.yaml": vds("thief2", "creds/webapp-readonly", "thief2-db", ""),
	})
	victim := cw.waitData(t, "victim-db", "password", 30*time.Second)
	user := string(victim.Data["username"])
	for _, c := range []string{"vaultcmp-vds.victim", "vaultcmp-vds.thief", "vaultcmp-vds.thief2"} {
		eventually(t, 20*time.Second, func() (bool, string) {
			return carrierAnnotations(t, cw, c)["vaultcmp.io/status"] == "Synced", c + " Synced"
		}, cw.companion)
	}
	va := carrierAnnotations(t, cw, "vaultcmp-vds.victim")
	require.Contains(t, va["vaultcmp.io/state"], `"leaseID":"database/creds/webapp-readonly/`)

	// The victim's state and its seal, copied whole.
	cw.patchAnnotations(t, "vaultcmp-vds.thief", map[string]string{
		"vaultcmp.io/state": va["vaultcmp.io/state"], "vaultcmp.io/state-seal": va["vaultcmp.io/state-seal"]})
	// The thief's own sealed state with the victim's lease id written in.
	ta := carrierAnnotations(t, cw, "vaultcmp-vds.thief2")
	var own, vs map[string]any
	require.NoError(t, json.Unmarshal([]byte(ta["vaultcmp.io/state"]), &own))
	require.NoError(t, json.Unmarshal([]byte(va["vaultcmp.io/state"]), &vs))
	own["leaseID"] = vs["leaseID"]
	forged, err := json.Marshal(own)
	require.NoError(t, err)
	cw.patchAnnotations(t, "vaultcmp-vds.thief2", map[string]string{"vaultcmp.io/state": string(forged)})

	cw.deleteCarrier(t, "vaultcmp-vds.thief")
	cw.deleteCarrier(t, "vaultcmp-vds.thief2")
	for _, c := range []string{"vaultcmp-vds.thief", "vaultcmp-vds.thief2"} {
		assert.Contains(t, cw.events(t, c), "state not ours, ignored", c)
	}
	time.Sleep(2 * time.Second)
	assert.True(t, cw.roleExists(t, user), "the victim's PostgreSQL user survives")
	assert.True(t, cw.canLogin(t, cw.secret(t, "victim-db")), "and still logs in")
	cw.deleteCarrier(t, "vaultcmp-vds.victim")
	eventually(t, 10*time.Second, func() (bool, string) { return !cw.roleExists(t, user), "the victim's own deletion revokes it" }, cw.companion)
}

// (e) A contract change revokes the lease of the contract before (its
// PostgreSQL user is dropped), and deleting a carrier whose contract was
// then made unreadable still revokes the current one.
func TestContractChangeRevokesOldLease(t *testing.T) {
	cw := getCompanion(t)
	deploy := func(percent int) {
		cw.deploy(t, map[string]string{"vds.yaml": vds("changing", "creds/webapp-readonly", "changing-db", fmt.Sprintf("  renewalPercent: %d\n", percent))})
	}
	deploy(50)
	first := string(cw.waitData(t, "changing-db", "password", 30*time.Second).Data["username"])
	deploy(60)
	var second string
	eventually(t, 20*time.Second, func() (bool, string) {
		second = string(cw.secret(t, "changing-db").Data["username"])
		return second != first, "new credentials for the new contract"
	}, cw.companion)
	eventually(t, 15*time.Second, func() (bool, string) { return !cw.roleExists(t, first), "the old lease revoked" }, cw.companion)
	assert.True(t, cw.canLogin(t, cw.secret(t, "changing-db")))
	assert.Contains(t, cw.events(t, "vaultcmp-vds.changing"), "LeaseRevoked")

	cw.patchAnnotations(t, "vaultcmp-vds.changing", map[string]string{contract.AnnotationContract: "{garbage"})
	cw.statusSays(t, "webapp-ns", "vaultcmp-vds.changing", "does not verify")
	assert.True(t, cw.roleExists(t, second))
	cw.deleteCarrier(t, "vaultcmp-vds.changing")
	eventually(t, 15*time.Second, func() (bool, string) {
		return !cw.roleExists(t, second), "revoked on delete, whatever the contract became"
	}, cw.companion)
}

// (e') A contract flipping every 2 s piles up neither live credentials
// (at most the current lease and the one being replaced) nor rollouts (at
// most one per 30 s).
func TestContractFlippingIsBounded(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.db.Role(t.Context(), "flipper", time.Hour, 2*time.Hour))
	live := func() int {
		out, err := cw.pg.SQL(t.Context(), "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%-flipper-%'")
		require.NoError(t, err)
		n, err := strconv.Atoi(out)
		require.NoError(t, err)
		return n
	}
	deploy := func(percent int) {
		cw.deploy(t, map[string]string{
			"vds.yaml": vds("flip", "creds/flipper", "flip-db",
				fmt.Sprintf("  renewalPercent: %d\n  rolloutRestartTargets:\n  - {kind: Deployment, name: flip-app}\n", percent)),
			"deploy.yaml": deployment("flip-app"),
		})
	}
	deploy(50)
	cw.waitData(t, "flip-db", "password", 30*time.Second)
	gen := cw.generation(t, "flip-app")
	peak := 0
	start := time.Now()
	for i := range 6 {
		deploy(50 + 10*((i+1)%2))
		for until := time.Now().Add(2 * time.Second); time.Now().Before(until); time.Sleep(250 * time.Millisecond) {
			peak = max(peak, live())
		}
	}
	t.Logf("6 contract changes in %s: peak %d live PostgreSQL users, %d rollouts", time.Since(start).Round(time.Second), peak, cw.generation(t, "flip-app")-gen)
	assert.LessOrEqual(t, peak, 2, "at most the current lease and the one being replaced")
	assert.LessOrEqual(t, cw.generation(t, "flip-app")-gen, int64(1), "at most one rollout per 30 s")
	eventually(t, 20*time.Second, func() (bool, string) { return live() == 1, "one live lease once the flipping stops" }, cw.companion)
	cw.deleteCarrier(t, "vaultcmp-vds.flip")
	eventually(t, 15*time.Second, func() (bool, string) { return live() == 0, "none after delete" }, cw.companion)
}

// application creates an Argo CD Application deploying to destNS.
func (cw *companionWorld) application(t testing.TB, name, destNS string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name, "namespace": "argocd"},
		"spec": map[string]any{"project": "default",
			"source":      map[string]any{"repoURL": "file:///nonexistent", "path": "."},
			"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": destNS}},
	})
	applyObjects(t, []map[string]any{mustMap(t, body)}, "argocd", false)
}

func (cw *companionWorld) refreshOf(t testing.TB, app string) string {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cw.cluster.RestConfig(AdminToken))
	require.NoError(t, err)
	u, err := dyn.Resource(appGVR).Namespace("argocd").Get(t.Context(), app, metav1.GetOptions{})
	require.NoError(t, err)
	return u.GetAnnotations()["argocd.argoproj.io/refresh"]
}

func inlineVSS(name, path string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: %s
  namespace: webapp-ns
spec:
  type: kv-v2
  mount: secret
  path: %s
  refreshAfter: 5s
  vaultAuthRef: vault-auth-k8s
  destination: {name: %s, create: true}
`, name, path, name+"-secret")
}

// (f) Hard refreshes go only to the Application the sealed contract names,
// and only when it deploys to the carrier's namespace: never to one the
// carrier's tracking label or annotation names.
func TestRefreshOnlyOwningApplication(t *testing.T) {
	cw := getCompanion(t)
	ctx := t.Context()
	cw.application(t, "owner-app", "webapp-ns")
	cw.application(t, "victim-app", "team-b")
	for _, p := range []string{"companion/owned", "companion/claimed"} {
		_, err := vaultSrv.Client.KVv2("secret").Put(ctx, p, map[string]any{"k": "v1"})
		require.NoError(t, err)
	}
	// Sealed for owner-app; the carrier's writer adds the victim's tracking.
	applyObjects(t, cw.render(t, vaultSrv.Addr, map[string]string{"vss.yaml": inlineVSS("owned", "companion/owned")}, "--application", "owner-app", "--delivery=inline"), "webapp-ns", false)
	cw.patchAnnotations(t, "vaultcmp-vss.owned", map[string]string{"argocd.argoproj.io/tracking-id": "victim-app:/Secret:webapp-ns/vaultcmp-vss.owned"})
	lb, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{"app.kubernetes.io/instance": "victim-app"}}})
	_, err := cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Patch(ctx, "vaultcmp-vss.owned", types.MergePatchType, lb, metav1.PatchOptions{})
	require.NoError(t, err)
	// Sealed naming victim-app, which deploys elsewhere.
	applyObjects(t, cw.render(t, vaultSrv.Addr, map[string]string{"vss.yaml": inlineVSS("claimed", "companion/claimed")}, "--application", "victim-app", "--delivery=inline"), "webapp-ns", false)
	time.Sleep(2 * time.Second)

	for _, p := range []string{"companion/owned", "companion/claimed"} {
		_, err := vaultSrv.Client.KVv2("secret").Put(ctx, p, map[string]any{"k": "v2"})
		require.NoError(t, err)
	}
	eventually(t, 15*time.Second, func() (bool, string) {
		return cw.refreshOf(t, "owner-app") == "hard", "a hard refresh of the owning Application"
	}, cw.companion)
	cw.statusSays(t, "webapp-ns", "vaultcmp-vss.claimed", `deploys to namespace "team-b", not the carrier's "webapp-ns"`)
	time.Sleep(2 * time.Second)
	assert.Empty(t, cw.refreshOf(t, "victim-app"), "never another team's Application")
	for _, c := range []string{"vaultcmp-vss.owned", "vaultcmp-vss.claimed"} {
		require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(ctx, c, metav1.DeleteOptions{}))
	}
}
