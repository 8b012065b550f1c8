package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The GKE world: the stand-in Google APIs (trusting the real apiserver's
// tokens for the pool vaultcmp-e2e.svc.id.goog), a Google service account
// webapp-gcp that only webapp-ns/webapp-gcp-sa may impersonate, and
// Vault's gcp auth method (mount gcp) configured with custom_endpoint to
// ask the stand-in for service accounts and their keys.
var (
	gcpOnce   sync.Once
	gcpGoogle *FakeGoogle
	gcpErr    error
)

const (
	gcpProject  = "vaultcmp-e2e"
	gcpLocation = "europe-west1"
	gcpCluster  = "e2e"
	gcpRole     = "webapp-gcp" // the Vault role
	gcpGSA      = "webapp-gcp" // the Google service account
	gcpKSA      = "webapp-gcp-sa"
)

// getGCP sets the GKE world up once, on the Argo CD world's cluster.
func getGCP(t testing.TB, w *argoWorld) *FakeGoogle {
	t.Helper()
	gcpOnce.Do(func() { gcpErr = setupGCP(context.Background(), w) })
	if gcpErr != nil {
		t.Fatalf("the Google stand-in could not be set up: %v", gcpErr)
	}
	return gcpGoogle
}

// gcpCompanionEnv is the companion's Google setting: the stand-in.
func gcpCompanionEnv(w *argoWorld) []string {
	gcpOnce.Do(func() { gcpErr = setupGCP(context.Background(), w) })
	if gcpErr != nil {
		return nil
	}
	return []string{"VAULTCMP_GCP_STS_ENDPOINT=" + gcpGoogle.URL, "VAULTCMP_GCP_IAMCREDENTIALS_ENDPOINT=" + gcpGoogle.URL}
}

func setupGCP(ctx context.Context, w *argoWorld) error {
	k := w.cluster.Admin
	g := StartFakeGoogle(k, gcpProject, gcpLocation, gcpCluster)
	if err := g.AddServiceAccount(gcpGSA, "webapp-ns/"+gcpKSA); err != nil {
		return err
	}
	// The app's service account, and another namespace's that claims the
	// same Google service account.
	for _, ns := range []string{"webapp-ns", "other-ns"} {
		if _, err := k.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Name: gcpKSA, Annotations: map[string]string{"iam.gke.io/gcp-service-account": g.Email(gcpGSA)},
		}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if _, err := k.CoreV1().ServiceAccounts("webapp-ns").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "no-gsa-sa"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	creds, err := g.VaultCredentials()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vaultSrv.Dir(), GCPCredentialsFile), creds, 0o600); err != nil {
		return err
	}
	c := vaultSrv.Client
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "gcp", &api.EnableAuthOptions{Type: "gcp"}); err != nil {
		return err
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/gcp/config", map[string]any{
		"custom_endpoint": map[string]string{"api": g.URL, "iam": g.URL, "crm": g.URL, "compute": g.URL},
	}); err != nil {
		return fmt.Errorf("auth/gcp/config: %w", err)
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/gcp/role/"+gcpRole, map[string]any{
		"type": "iam", "bound_service_accounts": []string{g.Email(gcpGSA)}, "max_jwt_exp": "15m",
		"token_policies": []string{"k8s-webapp", "k8s-webapp-companion"}, "token_ttl": "10m",
	}); err != nil {
		return fmt.Errorf("auth/gcp/role: %w", err)
	}
	gcpGoogle = g
	return nil
}

// gcpAuth is a gcp VaultAuth of webapp-ns for Vault role role; spec is
// the rest of its gcp block.
func gcpAuth(name, role, spec string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: %s
  namespace: webapp-ns
spec:
  vaultConnectionRef: vault-connection
  method: gcp
  mount: gcp
  gcp:
    role: %s
%s`, name, role, spec)
}

// gcpSpec is the gcp block naming service account ksa of the e2e cluster.
func gcpSpec(ksa string) string {
	return fmt.Sprintf("    workloadIdentityServiceAccount: %s\n    projectID: %s\n    region: %s\n    clusterName: %s\n", ksa, gcpProject, gcpLocation, gcpCluster)
}

// gcpApp is an app: the connection to the test Vault, a gcp VaultAuth
// (role, spec) and a VaultStaticSecret that uses it.
func gcpApp(t testing.TB, role, spec string) map[string]string {
	return map[string]string{
		"connection.yaml": webappFile(t, "connection.yaml", vaultSrv.Addr),
		"auth.yaml":       gcpAuth("gcp-auth", role, spec),
		"static.yaml":     strings.NewReplacer("aws-config", "gcp-config").Replace(awsStatic("gcp-auth")),
	}
}

// TestGCPAuth: Vault's gcp auth (iam) with GKE Workload Identity of the
// app's own service account, for generate, against the real Vault and
// apiserver and stand-in Google APIs that check what Google checks.
func TestGCPAuth(t *testing.T) {
	w := getArgo(t)
	g := getGCP(t, w)
	tok, err := w.token(t.Context(), "argocd", "argocd-repo-server", nil)
	require.NoError(t, err)
	kubeconfig, err := w.cluster.WriteKubeconfig("gcp-sidecar", tok)
	require.NoError(t, err)
	vaultCreds := filepath.Join(vaultSrv.Dir(), GCPCredentialsFile)

	// generate runs as the sidecar runs it: the shipped RBAC, the app's
	// destination namespace ns, the operator's Google endpoints.
	generate := func(t *testing.T, ns string, files map[string]string, env ...string) Run {
		t.Helper()
		cmd := exec.Command(vaultcmp, "generate")
		cmd.Dir = writeApp(t, files)
		home := t.TempDir()
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + kubeconfig,
			"ARGOCD_APP_NAME=gcp", "ARGOCD_APP_NAMESPACE=" + ns, "VAULTCMP_HMAC_KEY=installation-key",
			"VAULTCMP_TOKEN_CACHE_DIR=" + filepath.Join(home, "tokens"),
			"VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr,
			"VAULTCMP_GCP_STS_ENDPOINT=" + g.URL, "VAULTCMP_GCP_IAMCREDENTIALS_ENDPOINT=" + g.URL}, env...)
		r, err := RunBounded(t.Context(), cmd, hostileBounds, nil)
		require.NoError(t, err)
		assertNoSecrets(t, r.Stderr)
		assert.NotContains(t, r.Stderr, "eyJ", "no token in the output")
		assert.NotContains(t, r.Stderr, "fed-", "no federated token in the output")
		return r
	}
	reads := func(t *testing.T, r Run) {
		t.Helper()
		readsInCluster(t, r, "gcp-config")
	}

	t.Run("generate: Workload Identity of the app's service account", func(t *testing.T) {
		sts, sign, keys := g.Calls("sts"), g.Calls("signJwt"), g.Calls("keys")
		reads(t, generate(t, "webapp-ns", gcpApp(t, gcpRole, gcpSpec(gcpKSA))))
		assert.Greater(t, g.Calls("sts"), sts, "the service-account token was exchanged")
		assert.Greater(t, g.Calls("signJwt"), sign, "Google signed the login JWT")
		assert.Greater(t, g.Calls("keys"), keys, "Vault checked it with the account's keys")
	})
	t.Run("another namespace's service account cannot get this app's role", func(t *testing.T) {
		files := gcpApp(t, gcpRole, gcpSpec(gcpKSA))
		for k, v := range files {
			files[k] = strings.ReplaceAll(v, "namespace: webapp-ns", "namespace: other-ns")
		}
		r := generate(t, "other-ns", files)
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "gcp: signJwt as "+g.Email(gcpGSA)+" for other-ns/"+gcpKSA)
		assert.Contains(t, r.Stderr, "iam.serviceAccounts.signJwt' denied")
		assert.Contains(t, r.Stderr, "roles/iam.serviceAccountTokenCreator")
	})
	t.Run("the pod's own identity is refused", func(t *testing.T) {
		// Working Google credentials in the environment are not used.
		sts := g.Calls("sts")
		spec := fmt.Sprintf("    projectID: %s\n", gcpProject)
		r := generate(t, "webapp-ns", gcpApp(t, gcpRole, spec), "GOOGLE_APPLICATION_CREDENTIALS="+vaultCreds)
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "spec.gcp.workloadIdentityServiceAccount")
		assert.Equal(t, sts, g.Calls("sts"), "nothing was exchanged")
	})
	t.Run("each failing step is named, with no credential", func(t *testing.T) {
		for _, c := range []struct {
			name, role, spec string
			want             []string
		}{
			{"service account missing", gcpRole, gcpSpec("no-such-sa"), []string{"gcp: reading service account webapp-ns/no-such-sa", "not found"}},
			{"no annotation", gcpRole, gcpSpec("no-gsa-sa"), []string{"gcp: service account webapp-ns/no-gsa-sa has no iam.gke.io/gcp-service-account annotation"}},
			{"STS exchange", gcpRole, strings.Replace(gcpSpec(gcpKSA), "clusterName: "+gcpCluster, "clusterName: another", 1),
				[]string{"gcp: STS exchange (token of webapp-ns/" + gcpKSA + " for pool " + gcpProject + ".svc.id.goog at " + g.URL, "invalid_target"}},
			{"Vault login", "no-such-role", gcpSpec(gcpKSA), []string{"login auth/gcp/login", "no-such-role"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := generate(t, "webapp-ns", gcpApp(t, c.role, c.spec))
				refused(t, r, "")
				for _, s := range c.want {
					assert.Contains(t, r.Stderr, s)
				}
			})
		}
	})
}

// TestGCPAuthCompanion: the companion logs in with the app's Workload
// Identity from a carrier rendered by vaultcmp render, and fills a
// dynamic secret.
func TestGCPAuthCompanion(t *testing.T) {
	cw := getCompanion(t)
	g := getGCP(t, cw.argoWorld)
	files := map[string]string{
		"gcp-auth.yaml": gcpAuth("vault-auth-gcp", gcpRole, gcpSpec(gcpKSA)),
		"dynamic.yaml":  strings.ReplaceAll(vds("gcp-db-creds", "creds/webapp-readonly", "gcp-db-secret", ""), "vault-auth-k8s", "vault-auth-gcp"),
	}
	before := g.Calls("signJwt")
	cw.deploy(t, files)
	db := cw.waitData(t, "gcp-db-secret", "password", 30*time.Second)
	assert.True(t, cw.canLogin(t, db), "the written password logs in")
	assert.Greater(t, g.Calls("signJwt"), before, "the companion logged in with the app's Workload Identity")
	assertNoSecrets(t, cw.companion.Log())
	assert.NotContains(t, cw.companion.Log(), "fed-")
	cw.deleteCarrier(t, "vaultcmp-vds.gcp-db-creds")

	// A failing step: the Event names it and what to do, nothing is written.
	t.Run("a failing step is named in an Event", func(t *testing.T) {
		files := map[string]string{
			"gcp-auth.yaml": gcpAuth("vault-auth-gcp-nogsa", gcpRole, gcpSpec("no-gsa-sa")),
			"dynamic.yaml":  strings.ReplaceAll(vds("gcp-nogsa-creds", "creds/webapp-readonly", "gcp-nogsa-secret", ""), "vault-auth-k8s", "vault-auth-gcp-nogsa"),
		}
		cw.deploy(t, files)
		carrier := "vaultcmp-vds.gcp-nogsa-creds"
		want := "gcp: service account webapp-ns/no-gsa-sa has no iam.gke.io/gcp-service-account annotation"
		eventually(t, 30*time.Second, func() (bool, string) {
			return strings.Contains(cw.events(t, carrier), want), "an Event naming the step (events: " + cw.events(t, carrier) + ")"
		}, cw.companion)
		assert.Nil(t, cw.secret(t, "gcp-nogsa-secret"), "nothing written")
		cw.deleteCarrier(t, carrier)
	})
}
