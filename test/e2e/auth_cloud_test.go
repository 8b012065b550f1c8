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

// The AWS world: the stand-in STS (trusting the real apiserver's tokens)
// and Vault's aws auth method (mount aws) configured to send the signed
// sts:GetCallerIdentity there, with a server-ID header required.
var (
	awsOnce sync.Once
	awsSTS  *FakeSTS
	awsErr  error
	// awsUserID/awsUserSecret are static keys of IAM user webapp-ci.
	awsUserID, awsUserSecret string
)

const (
	awsRole        = "webapp-aws" // the IAM role and the Vault role
	awsServerID    = "vault.e2e.test"
	awsIRSAAccount = "webapp-aws-sa"
)

// getAWS sets the AWS world up once, on the Argo CD world's cluster.
func getAWS(t testing.TB, w *argoWorld) *FakeSTS {
	t.Helper()
	awsOnce.Do(func() { awsErr = setupAWS(context.Background(), w) })
	if awsErr != nil {
		t.Fatalf("the AWS stand-in could not be set up: %v", awsErr)
	}
	return awsSTS
}

// awsCompanionEnv is the companion's AWS setting: the stand-in STS.
func awsCompanionEnv(w *argoWorld) []string {
	awsOnce.Do(func() { awsErr = setupAWS(context.Background(), w) })
	if awsErr != nil {
		return nil
	}
	// Working keys of its own, which it must not use for an app.
	return []string{"VAULTCMP_AWS_STS_ENDPOINT=" + awsSTS.URL,
		"AWS_ACCESS_KEY_ID=" + awsUserID, "AWS_SECRET_ACCESS_KEY=" + awsUserSecret, "AWS_EC2_METADATA_DISABLED=true"}
}

func setupAWS(ctx context.Context, w *argoWorld) error {
	k := w.cluster.Admin
	awsSTS = StartFakeSTS(k)
	awsSTS.TrustRole(awsRole, "webapp-ns", awsIRSAAccount)
	awsUserID, awsUserSecret = awsSTS.AddUser("webapp-ci")
	// The app's IRSA service account, and another namespace's that claims
	// the same role.
	for _, ns := range []string{"webapp-ns", "other-ns"} {
		if _, err := k.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Name: awsIRSAAccount, Annotations: map[string]string{"eks.amazonaws.com/role-arn": awsSTS.RoleARN(awsRole)},
		}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if _, err := k.CoreV1().ServiceAccounts("webapp-ns").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "no-role-sa"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	c := vaultSrv.Client
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "aws", &api.EnableAuthOptions{Type: "aws"}); err != nil {
		return err
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/aws/config/client", map[string]any{
		"sts_endpoint": awsSTS.URL, "iam_endpoint": awsSTS.URL, "sts_region": "us-east-1",
		"iam_server_id_header_value": awsServerID,
	}); err != nil {
		return fmt.Errorf("auth/aws/config/client: %w", err)
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/aws/role/"+awsRole, map[string]any{
		"auth_type": "iam", "resolve_aws_unique_ids": false,
		"bound_iam_principal_arn": []string{awsSTS.RoleARN(awsRole), "arn:aws:iam::" + awsSTS.Account + ":user/webapp-ci"},
		"token_policies":          []string{"k8s-webapp", "k8s-webapp-companion"}, "token_ttl": "10m",
	}); err != nil {
		return fmt.Errorf("auth/aws/role: %w", err)
	}
	return nil
}

// awsAuth is an aws VaultAuth of webapp-ns for the Vault role awsRole;
// spec is the rest of its aws block.
func awsAuth(name, spec string) string { return awsAuthRole(name, awsRole, spec) }

// awsAuthRole is awsAuth for Vault role role.
func awsAuthRole(name, role, spec string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: %s
  namespace: webapp-ns
spec:
  vaultConnectionRef: vault-connection
  method: aws
  mount: aws
  aws:
    role: %s
    headerValue: %s
%s`, name, role, awsServerID, spec)
}

// awsStatic is a VaultStaticSecret of the seed's KV data, logging in with
// VaultAuth auth.
func awsStatic(auth string) string {
	return fmt.Sprintf(`apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: aws-config
  namespace: webapp-ns
spec:
  type: kv-v2
  mount: secret
  path: webapp/config
  vaultAuthRef: %s
  destination: {name: aws-config, create: true}
`, auth)
}

// awsApp is an app: the connection to the test Vault, an aws VaultAuth
// with the aws block spec, and a VaultStaticSecret that uses it.
func awsApp(t testing.TB, spec string) map[string]string {
	return map[string]string{
		"connection.yaml": webappFile(t, "connection.yaml", vaultSrv.Addr),
		"auth.yaml":       awsAuth("aws-auth", spec),
		"static.yaml":     awsStatic("aws-auth"),
	}
}

// TestAWSAuth: Vault's aws auth (iam) with the app's own AWS identity, for
// generate, render and the companion, against the real Vault and
// apiserver and a stand-in STS that checks what AWS checks.
func TestAWSAuth(t *testing.T) {
	w := getArgo(t)
	sts := getAWS(t, w)
	tok, err := w.token(t.Context(), "argocd", "argocd-repo-server", nil)
	require.NoError(t, err)
	kubeconfig, err := w.cluster.WriteKubeconfig("aws-sidecar", tok)
	require.NoError(t, err)

	// generate runs as the sidecar runs it: the shipped RBAC, the app's
	// destination namespace ns, the operator's STS endpoint.
	generate := func(t *testing.T, ns string, files map[string]string, env ...string) Run {
		t.Helper()
		cmd := exec.Command(vaultcmp, "generate")
		cmd.Dir = writeApp(t, files)
		home := t.TempDir()
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + kubeconfig,
			"ARGOCD_APP_NAME=aws", "ARGOCD_APP_NAMESPACE=" + ns, "VAULTCMP_HMAC_KEY=installation-key",
			"VAULTCMP_TOKEN_CACHE_DIR=" + filepath.Join(home, "tokens"),
			"VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr, "VAULTCMP_AWS_STS_ENDPOINT=" + sts.URL}, env...)
		r, err := RunBounded(t.Context(), cmd, hostileBounds, nil)
		require.NoError(t, err)
		assertNoSecrets(t, r.Stderr)
		assert.NotContains(t, r.Stderr, awsUserSecret)
		return r
	}
	reads := func(t *testing.T, r Run) {
		t.Helper()
		readsInCluster(t, r, "aws-config")
	}
	irsa := "    irsaServiceAccount: " + awsIRSAAccount + "\n"

	t.Run("generate: IRSA, the app's service account's role", func(t *testing.T) {
		before := sts.Calls("AssumeRoleWithWebIdentity")
		reads(t, generate(t, "webapp-ns", awsApp(t, irsa)))
		assert.Greater(t, sts.Calls("AssumeRoleWithWebIdentity"), before, "the web identity was exchanged")
		h := sts.LastHeaders("GetCallerIdentity")
		assert.Equal(t, awsServerID, h.Get("X-Vault-AWS-IAM-Server-ID"), "the server-ID header reached STS through Vault")
		assert.Contains(t, h.Get("Authorization"), "x-vault-aws-iam-server-id", "and is signed")
	})
	t.Run("render: static keys of a secretRef, from the environment", func(t *testing.T) {
		dir := writeApp(t, awsApp(t, "    secretRef: aws-static-creds\n"))
		r := run(t, []string{"VAULT_ADDR=" + vaultSrv.Addr, "VAULTCMP_HMAC_KEY=k", "VAULTCMP_AWS_STS_ENDPOINT=" + sts.URL,
			"VAULTCMP_SECRET_AWS_STATIC_CREDS_ACCESS_KEY_ID=" + awsUserID,
			"VAULTCMP_SECRET_AWS_STATIC_CREDS_SECRET_ACCESS_KEY=" + awsUserSecret}, "render", "--delivery=inline", "-n", "webapp-ns", dir)
		require.Equal(t, 0, r.code, r.stderr)
		got := secretData(t, find(t, docs(t, r.stdout), "Secret", "aws-config"))
		assert.Equal(t, webappConfig["db_pass"], got["db_pass"])
	})
	t.Run("another namespace's service account cannot get this app's role", func(t *testing.T) {
		files := awsApp(t, irsa)
		for k, v := range files {
			files[k] = strings.ReplaceAll(v, "namespace: webapp-ns", "namespace: other-ns")
		}
		r := generate(t, "other-ns", files)
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "aws: STS exchange (AssumeRoleWithWebIdentity of other-ns/"+awsIRSAAccount)
		assert.Contains(t, r.Stderr, "AccessDenied")
		assert.Contains(t, r.Stderr, "trust policy")
		assert.NotContains(t, r.Stderr, "eyJ", "no token in the error")
	})
	t.Run("the pod's own identity is refused by default", func(t *testing.T) {
		// The sidecar's own keys would work: they are refused all the same.
		podEnv := []string{"AWS_ACCESS_KEY_ID=" + awsUserID, "AWS_SECRET_ACCESS_KEY=" + awsUserSecret, "AWS_EC2_METADATA_DISABLED=true"}
		r := generate(t, "webapp-ns", awsApp(t, ""), podEnv...)
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "the pod's own AWS identity is not used")
		assert.Contains(t, r.Stderr, "VAULTCMP_AWS_ALLOW_POD_IDENTITY=true")
		assert.Contains(t, r.Stderr, "shared by every app")
		// The operator opts in: it logs in.
		reads(t, generate(t, "webapp-ns", awsApp(t, ""), append(podEnv, "VAULTCMP_AWS_ALLOW_POD_IDENTITY=true")...))
	})
	t.Run("a manifest's stsEndpoint is not where signed requests go", func(t *testing.T) {
		attacker := capture(t, Echo)
		r := generate(t, "webapp-ns", awsApp(t, irsa+"    stsEndpoint: "+attacker.Addr+"\n"), "VAULTCMP_AWS_STS_ENDPOINT=")
		refused(t, r, "")
		assert.Contains(t, r.Stderr, "spec.aws.stsEndpoint")
		assert.Contains(t, r.Stderr, "VAULTCMP_AWS_ALLOWED_ENDPOINTS")
		nothingReached(t, attacker)
		// Listed by the operator, it is used.
		reads(t, generate(t, "webapp-ns", awsApp(t, irsa+"    stsEndpoint: "+sts.URL+"\n"),
			"VAULTCMP_AWS_STS_ENDPOINT=", "VAULTCMP_AWS_ALLOWED_ENDPOINTS="+sts.URL))
	})
	t.Run("each failing step is named, with no credential", func(t *testing.T) {
		for _, c := range []struct {
			name, spec string
			want       []string
		}{
			{"service account missing", "    irsaServiceAccount: no-such-sa\n", []string{"aws: reading service account webapp-ns/no-such-sa", "not found"}},
			{"no role annotation", "    irsaServiceAccount: no-role-sa\n", []string{"aws: service account webapp-ns/no-role-sa has no eks.amazonaws.com/role-arn annotation"}},
			{"Vault login", "", []string{"login auth/aws/login", "no-such-role"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				files := awsApp(t, c.spec)
				if c.spec == "" {
					files["auth.yaml"] = awsAuthRole("aws-auth", "no-such-role", irsa)
				}
				r := generate(t, "webapp-ns", files)
				refused(t, r, "")
				for _, s := range c.want {
					assert.Contains(t, r.Stderr, s)
				}
				assert.NotContains(t, r.Stderr, "eyJ", "no token in the error")
				assert.NotContains(t, r.Stderr, "X-Amz-Security-Token")
			})
		}
	})
}

// TestAWSAuthCompanion: the companion logs in with the app's IRSA role
// from a carrier rendered by vaultcmp render, and fills a dynamic secret.
func TestAWSAuthCompanion(t *testing.T) {
	cw := getCompanion(t)
	getAWS(t, cw.argoWorld)
	files := map[string]string{
		"aws-auth.yaml": awsAuth("vault-auth-aws", "    irsaServiceAccount: "+awsIRSAAccount+"\n"),
		"dynamic.yaml":  strings.ReplaceAll(vds("aws-db-creds", "creds/webapp-readonly", "aws-db-secret", ""), "vault-auth-k8s", "vault-auth-aws"),
	}
	before := awsSTS.Calls("AssumeRoleWithWebIdentity")
	cw.deploy(t, files)
	db := cw.waitData(t, "aws-db-secret", "password", 30*time.Second)
	assert.True(t, cw.canLogin(t, db), "the written password logs in")
	assert.Greater(t, awsSTS.Calls("AssumeRoleWithWebIdentity"), before, "the companion exchanged the app's web identity")
	assertNoSecrets(t, cw.companion.Log())
	cw.deleteCarrier(t, "vaultcmp-vds.aws-db-creds")

	// A VaultAuth with no credentials of its own: the companion does not
	// use its own AWS identity (its environment has working keys); the
	// Event says why and what to do.
	t.Run("the pod's own identity is refused by default", func(t *testing.T) {
		files := map[string]string{
			"aws-auth.yaml": awsAuth("vault-auth-aws-pod", ""),
			"dynamic.yaml":  strings.ReplaceAll(vds("aws-pod-creds", "creds/webapp-readonly", "aws-pod-secret", ""), "vault-auth-k8s", "vault-auth-aws-pod"),
		}
		cw.deploy(t, files)
		carrier := "vaultcmp-vds.aws-pod-creds"
		want := "the pod's own AWS identity is not used"
		eventually(t, 30*time.Second, func() (bool, string) {
			return strings.Contains(cw.events(t, carrier), want), "an Event naming the refusal (events: " + cw.events(t, carrier) + ")"
		}, cw.companion)
		assert.Contains(t, cw.events(t, carrier), "VAULTCMP_AWS_ALLOW_POD_IDENTITY")
		assert.Nil(t, cw.secret(t, "aws-pod-secret"), "nothing written")
		cw.deleteCarrier(t, carrier)
	})
}
