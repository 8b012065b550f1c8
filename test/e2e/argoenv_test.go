package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/hashicorp/vault/api"
)

// argoWorld is a real control plane, Vault's kubernetes auth configured
// against it, and Argo CD's cmp-server running vaultcmp as the repo-server's
// sidecar does, with only the RBAC of sidecar/kustomize/rbac.yaml.
type argoWorld struct {
	cluster  *Cluster
	cmp      *CMPServer
	repo     *GitRepo
	cacheDir string
	audit    string
}

var (
	argoOnce sync.Once
	argo     *argoWorld
	argoErr  error
)

// getArgo starts the world once for every test that needs it; a part that
// cannot start fails the test.
func getArgo(t testing.TB) *argoWorld {
	t.Helper()
	argoOnce.Do(func() { argo, argoErr = startArgoWorld(context.Background()) })
	if argoErr != nil {
		t.Fatalf("the Argo CD world could not start: %v", argoErr)
	}
	return argo
}

func stopArgoWorld() {
	if argo != nil {
		argo.cmp.Stop()
		argo.cluster.Stop()
	}
}

func startArgoWorld(ctx context.Context) (*argoWorld, error) {
	c, err := StartCluster(ctx)
	if err != nil {
		return nil, err
	}
	w := &argoWorld{cluster: c}
	if err := w.setupCluster(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	if err := w.setupVault(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	tok, err := w.token(ctx, "argocd", "argocd-repo-server", nil)
	if err != nil {
		c.Stop()
		return nil, err
	}
	kubeconfig, err := c.WriteKubeconfig("argocd-repo-server", tok)
	if err != nil {
		c.Stop()
		return nil, err
	}
	w.cacheDir = filepath.Join(vaultSrv.Dir(), "token-cache")
	w.cmp, err = StartCMPServer(ctx, vaultcmp, []string{
		"KUBECONFIG=" + kubeconfig,
		"VAULTCMP_TOKEN_CACHE_DIR=" + w.cacheDir,
		"VAULTCMP_HMAC_KEY=e2e-installation-key",
		// Where the Applications are: the pod's namespace in a cluster.
		"VAULTCMP_ARGOCD_NAMESPACE=argocd",
		// The operator's allow-list: the test Vault, and the address of the
		// "down" app (nothing listens there).
		"VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + vaultSrv.Addr + ",http://127.0.0.1:9",
		// A sidecar-wide identity must never be used by generate.
		"VAULT_TOKEN=" + RootToken, "VAULT_ADDR=http://127.0.0.1:1",
	})
	if err != nil {
		c.Stop()
		return nil, err
	}
	if w.repo, err = newArgoRepo(filepath.Join(vaultSrv.Dir(), "repo")); err != nil {
		w.cmp.Stop()
		c.Stop()
		return nil, err
	}
	return w, nil
}

func (w *argoWorld) setupCluster(ctx context.Context) error {
	k := w.cluster.Admin
	for _, ns := range []string{"argocd", "webapp-ns", "other-ns", "vault"} {
		if _, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, sa := range [][2]string{{"argocd", "argocd-repo-server"}, {"webapp-ns", "webapp-sa"}, {"other-ns", "webapp-sa"}, {"vault", "vault-reviewer"}} {
		if _, err := k.CoreV1().ServiceAccounts(sa[0]).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa[1]}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	// The sidecar's RBAC, exactly as shipped.
	b, err := os.ReadFile(filepath.Join(RepoRoot(), "sidecar", "kustomize", "rbac.yaml"))
	if err != nil {
		return err
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			return fmt.Errorf("sidecar RBAC: %w", err)
		}
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			_, err = k.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = k.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role: // in Argo CD's namespace, as kustomize's namespace: argocd puts it
			_, err = k.RbacV1().Roles("argocd").Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = k.RbacV1().RoleBindings("argocd").Create(ctx, o, metav1.CreateOptions{})
		default:
			err = fmt.Errorf("sidecar RBAC: unexpected %T", obj)
		}
		if err != nil {
			return err
		}
	}
	_, err = k.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-reviewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "vault-reviewer", Namespace: "vault"}},
	}, metav1.CreateOptions{})
	return err
}

func (w *argoWorld) token(ctx context.Context, ns, sa string, audiences []string) (string, error) {
	exp := int64(24 * 3600)
	tr, err := w.cluster.Admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &exp},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", ns, sa, err)
	}
	return tr.Status.Token, nil
}

// setupVault configures Vault's kubernetes auth against the real apiserver
// (TokenReview) with the seed's role: webapp-role for webapp-ns/webapp-sa.
func (w *argoWorld) setupVault(ctx context.Context) error {
	c := vaultSrv.Client
	reviewer, err := w.token(ctx, "vault", "vault-reviewer", nil)
	if err != nil {
		return err
	}
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "kubernetes", &api.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		return err
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/kubernetes/config", map[string]any{
		"kubernetes_host": w.cluster.URL, "kubernetes_ca_cert": string(w.cluster.CAPEM),
		"token_reviewer_jwt": reviewer, "disable_local_ca_jwt": true,
	}); err != nil {
		return err
	}
	if err := c.Sys().PutPolicyWithContext(ctx, "k8s-webapp", `path "secret/data/webapp/*" { capabilities = ["read"] }`); err != nil {
		return err
	}
	if _, err := c.Logical().WriteWithContext(ctx, "auth/kubernetes/role/webapp-role", map[string]any{
		"bound_service_account_names": []string{"webapp-sa"}, "bound_service_account_namespaces": []string{"webapp-ns"},
		"audience": "vault", "token_policies": []string{"k8s-webapp"}, "token_ttl": "10m",
	}); err != nil {
		return err
	}
	w.audit, err = vaultSrv.EnableAudit(ctx, "argo")
	return err
}

// newArgoRepo is the git repository the Applications point at.
func newArgoRepo(dir string) (*GitRepo, error) {
	files := map[string]string{}
	for _, ex := range []string{"webapp"} {
		entries, err := os.ReadDir(examples(ex))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(examples(ex), e.Name()))
			if err != nil {
				return nil, err
			}
			// The seed's address is not reachable here; generate ignores VAULT_ADDR.
			files["apps/"+ex+"/"+e.Name()] = strings.ReplaceAll(string(b), "https://vault.corp.com:8200", vaultSrv.Addr)
		}
	}
	webapp := func(name string) string { return files["apps/webapp/"+name] }
	stripNS := func(s string) string { return strings.ReplaceAll(s, "  namespace: webapp-ns\n", "") }
	files["apps/plain/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: b\n"
	// A kustomization whose Vault objects come from a base outside the app directory.
	files["apps/kbase/kustomization.yaml"] = "resources:\n- connection.yaml\n- auth.yaml\n- static-secret.yaml\n"
	files["apps/kbase/connection.yaml"] = stripNS(webapp("connection.yaml"))
	files["apps/kbase/auth.yaml"] = stripNS(webapp("auth.yaml"))
	files["apps/kbase/static-secret.yaml"] = stripNS(webapp("static-secret.yaml"))
	files["apps/kustomize/kustomization.yaml"] = "resources:\n- ../kbase\n- deployment.yaml\ncommonLabels:\n  team: web\n"
	files["apps/kustomize/deployment.yaml"] = stripNS(webapp("deployment.yaml"))
	// A Helm chart.
	files["apps/chart/Chart.yaml"] = "apiVersion: v2\nname: webapp\nversion: 0.1.0\n"
	files["apps/chart/values.yaml"] = "secretPath: webapp/none\nsecretName: chart-secret\n"
	files["apps/chart/values-prod.yaml"] = "secretPath: webapp/config\n"
	files["apps/chart/templates/vault.yaml"] = stripNS(webapp("connection.yaml")) + "---\n" + stripNS(webapp("auth.yaml"))
	files["apps/chart/templates/secret.yaml"] = `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: {{ .Release.Name }}-config
spec:
  type: kv-v2
  mount: secret
  path: {{ .Values.secretPath }}
  vaultAuthRef: vault-auth-k8s
  destination:
    name: {{ .Values.secretName }}
    create: true
`
	// The webapp without namespaces, for an Application of another namespace.
	for _, n := range []string{"connection.yaml", "auth.yaml", "static-secret.yaml"} {
		files["apps/portable/"+n] = stripNS(webapp(n))
	}
	// Vault objects in another namespace than the Application's.
	files["apps/cross-ns/static-secret.yaml"] = webapp("static-secret.yaml")
	files["apps/cross-ns/auth.yaml"] = webapp("auth.yaml")
	files["apps/cross-ns/connection.yaml"] = webapp("connection.yaml")
	// AppRole with the secret-id in a Secret of the app's namespace.
	files["apps/approle/connection.yaml"] = stripNS(webapp("connection.yaml"))
	files["apps/approle/static-secret.yaml"] = strings.Replace(stripNS(webapp("static-secret.yaml")), "vaultAuthRef: vault-auth-k8s", "vaultAuthRef: vault-auth-approle", 1)
	files["apps/approle/auth.yaml"] = strings.Replace(stripNS(webapp("auth.yaml")), `roleId: "your-role-id"`, `roleId: "ROLE_ID"`, 1)
	// Vault down.
	files["apps/down/connection.yaml"] = strings.ReplaceAll(stripNS(webapp("connection.yaml")), vaultSrv.Addr, "http://127.0.0.1:9")
	files["apps/down/auth.yaml"] = stripNS(webapp("auth.yaml"))
	files["apps/down/static-secret.yaml"] = stripNS(webapp("static-secret.yaml"))
	return NewGitRepo(dir, files)
}
