package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The companion's finalizers (companion.KeyFinalizer, companion.Finalizer).
const (
	keyFinalizer     = "vaultcmp.io/revoke-key"
	carrierFinalizer = "vaultcmp.io/revoke"
)

// keepPKI is a VaultPKISecret named name with revoke: true whose
// destination (of the same name) the companion creates.
func keepPKI(name string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata:
  name: %[1]s
  namespace: webapp-ns
spec:
  mount: pki
  role: keep-cert
  vaultAuthRef: vault-auth-k8s
  commonName: keep-e2e.example.com
  ttl: 1h
  revoke: true
  destination:
    name: %[1]s
    create: true
    type: kubernetes.io/tls
`, name)
}

// A certificate with revoke: true is revoked when its carrier is deleted
// with foreground propagation (Argo CD's prune): the garbage collector
// deletes the destination Secret at once, and the companion's finalizer
// still needs the private key in it (revoke-with-key). The destination's
// own finalizer keeps it until then; afterwards it is gone. Background
// propagation (the Secret deleted after the carrier) too.
func TestCompanionPKIRevokeOnDeleteKeepsKey(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.pki.Role(t.Context(), "keep-cert", time.Hour, "keep-e2e.example.com"))
	for _, p := range []metav1.DeletionPropagation{metav1.DeletePropagationForeground, metav1.DeletePropagationBackground} {
		t.Run(string(p), func(t *testing.T) {
			name := "keep-" + map[metav1.DeletionPropagation]string{metav1.DeletePropagationForeground: "fg", metav1.DeletePropagationBackground: "bg"}[p]
			carrier := "vaultcmp-pki." + name
			cw.deploy(t, map[string]string{"pki.yaml": keepPKI(name)})
			s := cw.waitData(t, name, "tls.crt", 20*time.Second)
			serial := string(s.Data["serial_number"])
			require.NotEmpty(t, serial)
			assert.Contains(t, s.Finalizers, keyFinalizer, "the key is kept for the revocation")
			require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(t.Context(), carrier, metav1.DeleteOptions{PropagationPolicy: &p}))
			eventually(t, 30*time.Second, func() (bool, string) {
				return cw.secret(t, carrier) == nil && cw.secret(t, name) == nil, "carrier and destination gone"
			}, cw.companion)
			byCert, _, err := cw.pki.Revoked(t.Context(), serial)
			require.NoError(t, err)
			assert.True(t, byCert, "serial %s revoked on delete (%s); events:\n%s", serial, p, cw.events(t, carrier))
			if !assert.NotContains(t, cw.events(t, carrier), "giving up") {
				for _, l := range strings.Split(cw.companion.Log(), "\n") {
					if strings.Contains(l, name) && !strings.Contains(l, "DBG") {
						t.Log(l)
					}
				}
			}
		})
	}
}

// A live carrier's destination deleted by hand goes (its key finalizer is
// let go) and is created again, with a new certificate.
func TestCompanionPKIDestinationDeletedByHand(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.pki.Role(t.Context(), "keep-cert", time.Hour, "keep-e2e.example.com"))
	cw.deploy(t, map[string]string{"pki.yaml": keepPKI("keep-hand")})
	s := cw.waitData(t, "keep-hand", "tls.crt", 20*time.Second)
	require.NoError(t, cw.cluster.Admin.CoreV1().Secrets("webapp-ns").Delete(t.Context(), "keep-hand", metav1.DeleteOptions{}))
	eventually(t, 30*time.Second, func() (bool, string) {
		n := cw.secret(t, "keep-hand")
		return n != nil && n.UID != s.UID && n.DeletionTimestamp == nil && len(n.Data["tls.crt"]) > 0 &&
				string(n.Data["serial_number"]) != string(s.Data["serial_number"]),
			"the destination deleted by hand, then created again with a new certificate"
	}, cw.companion)
	assert.Contains(t, cw.secret(t, "keep-hand").Finalizers, keyFinalizer)
	cw.deleteCarrier(t, "vaultcmp-pki.keep-hand")
	eventually(t, 20*time.Second, func() (bool, string) { return cw.secret(t, "keep-hand") == nil, "destination gone" }, cw.companion)
}

// The key finalizer never holds a Secret forever: with the companion down,
// a carrier whose own finalizer was removed by hand is deleted; the
// garbage collector deletes its destination, and the companion, back,
// lets it go (no carrier, no state).
func TestCompanionPKIKeyReleasedWithoutCarrier(t *testing.T) {
	cw := getCompanion(t)
	require.NoError(t, cw.pki.Role(t.Context(), "keep-cert", time.Hour, "keep-e2e.example.com"))
	cw.deploy(t, map[string]string{"pki.yaml": keepPKI("keep-orphan")})
	s := cw.waitData(t, "keep-orphan", "tls.crt", 20*time.Second)
	require.Contains(t, s.Finalizers, keyFinalizer)
	cw.companion.Kill()
	secrets := cw.cluster.Admin.CoreV1().Secrets("webapp-ns")
	c, err := secrets.Get(t.Context(), "vaultcmp-pki.keep-orphan", metav1.GetOptions{})
	require.NoError(t, err)
	c.Finalizers = slices.DeleteFunc(c.Finalizers, func(f string) bool { return f == carrierFinalizer })
	_, err = secrets.Update(t.Context(), c, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.NoError(t, secrets.Delete(t.Context(), c.Name, metav1.DeleteOptions{}))
	eventually(t, 20*time.Second, func() (bool, string) {
		d := cw.secret(t, "keep-orphan")
		return cw.secret(t, c.Name) == nil && d != nil && d.DeletionTimestamp != nil, "carrier gone, destination held by the key finalizer"
	}, nil)
	nc, err := cw.startCompanion(t.Context())
	require.NoError(t, err)
	cw.companion = nc
	eventually(t, 20*time.Second, func() (bool, string) { return cw.secret(t, "keep-orphan") == nil, "destination let go" }, cw.companion)
}
