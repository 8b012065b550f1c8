package sidecar

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// companionObjects is the number of objects in kustomize/companion.yaml.
const companionObjects = 8

// What the companion may do, and no more (kustomize/companion.yaml).
var wantCompanionClusterRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, Verbs: []string{"create"}},
	// aws auth: the irsaServiceAccount's role annotation.
	{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
	{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets"}, Verbs: []string{"get", "patch"}},
	{APIGroups: []string{"argoproj.io"}, Resources: []string{"rollouts"}, Verbs: []string{"get", "patch"}},
	// /metrics: who asks (TokenReview), may they (SubjectAccessReview).
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
}

// What a scraper needs: get on /metrics, nothing else.
var wantMetricsReaderRules = []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}

var wantCompanionRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	{APIGroups: []string{"argoproj.io"}, Resources: []string{"applications"}, Verbs: []string{"get", "patch"}},
}

func checkCompanionDeployment(t *testing.T, d appsv1.Deployment) {
	t.Helper()
	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, int32(2), *d.Spec.Replicas, "two replicas, one leader")
	pod := d.Spec.Template.Spec
	assert.Equal(t, "vaultcmp-companion", pod.ServiceAccountName)
	assert.Equal(t, "controller-manager", d.Spec.Template.Labels["control-plane"], "the seed's Prometheus scrape config selects it")
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, "companion", c.Args[0])
	assert.Contains(t, c.Args, "--leader-elect")
	assert.Equal(t, "allowed-vault-addresses", env(t, c, "VAULTCMP_ALLOWED_VAULT_ADDRESSES").ValueFrom.ConfigMapKeyRef.Key)
	assert.Equal(t, "vaultcmp-hmac-key", env(t, c, "VAULTCMP_HMAC_KEY").ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	// /metrics: HTTPS with authentication (the default --metrics-secure),
	// on the port the Service and the ServiceMonitor name.
	assert.Contains(t, c.Args, "--metrics-bind-address=:8443")
	for _, a := range c.Args {
		assert.NotContains(t, a, "--metrics-secure", "metrics are served securely, the default")
	}
	require.Len(t, c.Ports, 2)
	assert.Equal(t, corev1.ContainerPort{Name: "metrics", ContainerPort: 8443}, c.Ports[0])
	require.NotNil(t, c.SecurityContext)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
}

func TestCompanionInstall(t *testing.T) {
	out := buildComponent(t)
	var d appsv1.Deployment
	out.get(t, "Deployment", "vaultcmp-companion", &d)
	checkCompanionDeployment(t, d)
	var cr rbacv1.ClusterRole
	out.get(t, "ClusterRole", "vaultcmp-companion", &cr)
	assert.Equal(t, wantCompanionClusterRules, cr.Rules)
	var r rbacv1.Role
	out.get(t, "Role", "vaultcmp-companion", &r)
	assert.Equal(t, wantCompanionRules, r.Rules)
	var reader rbacv1.ClusterRole
	out.get(t, "ClusterRole", "vaultcmp-companion-metrics-reader", &reader)
	assert.Equal(t, wantMetricsReaderRules, reader.Rules)
	var svc corev1.Service
	out.get(t, "Service", "vaultcmp-companion-metrics", &svc)
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, int32(8443), svc.Spec.Ports[0].Port)
	assert.Equal(t, "metrics", svc.Spec.Ports[0].TargetPort.String())

	// Helm values: the same objects, with the release's namespace and an image.
	var v helmValues
	require.NoError(t, yaml.UnmarshalStrict(read(t, "helm/values.yaml"), &v))
	docs := strings.Split(string(read(t, "kustomize/companion.yaml")), "\n---\n")
	require.Len(t, docs, companionObjects)
	helm := v.ExtraObjects[len(v.ExtraObjects)-companionObjects:]
	for i, doc := range docs {
		var want, got map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &want))
		require.NoError(t, yaml.Unmarshal(helm[i], &got))
		switch want["kind"] {
		case "ClusterRoleBinding", "RoleBinding":
			want["subjects"].([]any)[0].(map[string]any)["namespace"] = "{{ .Release.Namespace }}"
		case "Deployment":
			var hd appsv1.Deployment
			require.NoError(t, yaml.Unmarshal(helm[i], &hd))
			checkCompanionDeployment(t, hd)
			c := want["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			c["image"] = hd.Spec.Template.Spec.Containers[0].Image
		}
		assert.Equal(t, want, got, "helm extraObjects[%d] matches kustomize/companion.yaml", i)
	}
}

// The ServiceMonitor scrapes HTTPS with Prometheus's service-account token:
// the companion refuses any scrape without a token allowed to get /metrics.
func TestServiceMonitor(t *testing.T) {
	var sm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			Endpoints []struct {
				Port            string `json:"port"`
				Path            string `json:"path"`
				Scheme          string `json:"scheme"`
				Interval        string `json:"interval"`
				BearerTokenFile string `json:"bearerTokenFile"`
				TLSConfig       struct {
					InsecureSkipVerify bool `json:"insecureSkipVerify"`
				} `json:"tlsConfig"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.UnmarshalStrict(read(t, "kustomize/monitoring/servicemonitor.yaml"), &sm))
	assert.Equal(t, "ServiceMonitor", sm.Kind)
	assert.Equal(t, "vaultcmp-companion", sm.Spec.Selector.MatchLabels["app.kubernetes.io/name"], "selects the companion's Service")
	require.Len(t, sm.Spec.Endpoints, 1)
	e := sm.Spec.Endpoints[0]
	assert.Equal(t, "metrics", e.Port, "the Service's port name")
	assert.Equal(t, "/metrics", e.Path)
	assert.Equal(t, "https", e.Scheme)
	assert.Equal(t, "/var/run/secrets/kubernetes.io/serviceaccount/token", e.BearerTokenFile, "Prometheus's own token")
	assert.True(t, e.TLSConfig.InsecureSkipVerify, "the default certificate is self-signed")
}
