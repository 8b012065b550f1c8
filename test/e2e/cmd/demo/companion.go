package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/vaultcmp/vaultcmp/test/e2e"
)

// companionDemo runs the seed's webapp the way a cluster does: a real
// kube-apiserver, Vault's kubernetes auth against it, the database engine
// against a real PostgreSQL, the PKI engine, generate's output applied, and
// the real `vaultcmp companion` filling the Secrets.
func companionDemo(ctx context.Context, bin string, v *e2e.VaultServer, tmp string) error {
	fmt.Fprintln(os.Stderr, "# starting etcd + kube-apiserver, PostgreSQL; configuring Vault's kubernetes auth, database and PKI engines")
	c, err := e2e.StartCluster(ctx)
	if err != nil {
		return err
	}
	defer c.Stop()
	pg, err := e2e.StartPostgres(ctx)
	if err != nil {
		return err
	}
	defer pg.Stop()
	k := c.Admin
	for _, ns := range []string{"webapp-ns", "vault", "argocd"} {
		if _, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, sa := range [][2]string{{"webapp-ns", "webapp-sa"}, {"vault", "vault-reviewer"}} {
		if _, err := k.CoreV1().ServiceAccounts(sa[0]).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa[1]}}, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if _, err := k.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-reviewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "vault-reviewer", Namespace: "vault"}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	exp := int64(3600)
	tr, err := k.CoreV1().ServiceAccounts("vault").CreateToken(ctx, "vault-reviewer", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	vc := v.Client
	if err := vc.Sys().EnableAuthWithOptionsWithContext(ctx, "kubernetes", &api.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		return err
	}
	if _, err := vc.Logical().WriteWithContext(ctx, "auth/kubernetes/config", map[string]any{
		"kubernetes_host": c.URL, "kubernetes_ca_cert": string(c.CAPEM), "token_reviewer_jwt": tr.Status.Token, "disable_local_ca_jwt": true,
	}); err != nil {
		return err
	}
	if err := vc.Sys().PutPolicyWithContext(ctx, "webapp", `
path "secret/data/webapp/*" { capabilities = ["read"] }
path "database/creds/webapp-readonly" { capabilities = ["read"] }
path "pki/issue/webapp-cert" { capabilities = ["update"] }
path "sys/leases/renew/database/creds/webapp-readonly/*" {
  capabilities      = ["update"]
  denied_parameters = { "lease_id" = [] }
}
path "sys/leases/revoke/database/creds/webapp-readonly/*" {
  capabilities      = ["update"]
  denied_parameters = { "lease_id" = [] }
}
path "pki/revoke-with-key" { capabilities = ["update"] }
`); err != nil {
		return err
	}
	if _, err := vc.Logical().WriteWithContext(ctx, "auth/kubernetes/role/webapp-role", map[string]any{
		"bound_service_account_names": []string{"webapp-sa"}, "bound_service_account_namespaces": []string{"webapp-ns"},
		"audience": "vault", "token_policies": []string{"webapp"}, "token_ttl": "10m",
	}); err != nil {
		return err
	}
	db, err := v.EnableDatabase(ctx, pg, "database")
	if err != nil {
		return err
	}
	if err := db.Role(ctx, "webapp-readonly", time.Hour, 24*time.Hour); err != nil {
		return err
	}
	pki, err := v.EnablePKI(ctx, "pki")
	if err != nil {
		return err
	}
	if err := pki.SeedRole(ctx, 800*time.Hour); err != nil {
		return err
	}

	dir := filepath.Join(e2e.RepoRoot(), "examples", "webapp")
	fmt.Fprintf(os.Stderr, "# vaultcmp render -n webapp-ns %s | server-side apply (what Argo CD's sync does)\n", dir)
	cmd := exec.CommandContext(ctx, bin, "render", "-n", "webapp-ns", dir)
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+e2e.RootToken, "VAULTCMP_HMAC_KEY=demo-installation-key")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("vaultcmp render: %w", err)
	}
	if err := apply(ctx, c, string(out)); err != nil {
		return err
	}
	kubeconfig, err := c.WriteKubeconfig("demo-admin", e2e.AdminToken)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "# vaultcmp companion --kubeconfig ... --allowed-vault-address", v.Addr)
	comp, err := e2e.StartCompanion(ctx, bin, kubeconfig, []string{"HOME=" + tmp, "VAULTCMP_HMAC_KEY=demo-installation-key",
		"VAULTCMP_ALLOWED_VAULT_ADDRESSES=" + v.Addr})
	if err != nil {
		return err
	}
	defer comp.Stop()
	deadline := time.Now().Add(60 * time.Second)
	want := map[string]string{"webapp-k8s-secret": "db_pass", "webapp-db-secret": "password", "webapp-tls-secret": "tls.crt"}
	for name, key := range want {
		for {
			s, err := k.CoreV1().Secrets("webapp-ns").Get(ctx, name, metav1.GetOptions{})
			if err == nil && len(s.Data[key]) > 0 {
				fmt.Printf("Secret webapp-ns/%s (type %s): keys %s\n", name, s.Type, strings.Join(keys(s.Data), ", "))
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("secret %s not filled; companion log:\n%s", name, comp.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, carrier := range []string{"vaultcmp-vds.webapp-db-creds", "vaultcmp-pki.webapp-tls", "vaultcmp-vss.webapp-config"} {
		s, err := k.CoreV1().Secrets("webapp-ns").Get(ctx, carrier, metav1.GetOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("carrier %s: %s (%s)\n", carrier, s.Annotations["vaultcmp.io/status"], s.Annotations["vaultcmp.io/message"])
	}
	return nil
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// apply server-side applies a multi-document YAML stream.
func apply(ctx context.Context, c *e2e.Cluster, stream string) error {
	dyn, err := dynamic.NewForConfig(c.RestConfig(e2e.AdminToken))
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Admin.Discovery()))
	for _, doc := range strings.Split(stream, "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			return err
		}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(u.Object)
		force := true
		if _, err := dyn.Resource(m.Resource).Namespace(u.GetNamespace()).Patch(ctx, u.GetName(), types.ApplyPatchType, body,
			metav1.PatchOptions{FieldManager: "demo", Force: &force}); err != nil {
			return fmt.Errorf("applying %s %s: %w", gvk.Kind, u.GetName(), err)
		}
	}
	return nil
}
