package sidecar

import (
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// What the sidecar must look like, whichever way it is installed.
const (
	cmpServer        = "/var/run/argocd/argocd-cmp-server"
	pluginConfigPath = "/home/argocd/cmp-server/config/plugin.yaml"
	tokenCacheDir    = "/home/argocd/.cache/vaultcmp/tokens"
	saTokenDir       = "/var/run/secrets/kubernetes.io/serviceaccount"
	platformDir      = "/etc/vaultcmp/platform"
	healthKey        = "resource.customizations.health.Secret"
)

// A minimal Argo CD: the repo-server as its manifests have it (the volumes
// the sidecar shares), and argocd-cm.
const argoCD = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
  labels: {app.kubernetes.io/name: argocd-repo-server}
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: argocd-repo-server}
  template:
    metadata:
      labels: {app.kubernetes.io/name: argocd-repo-server}
    spec:
      serviceAccountName: argocd-repo-server
      automountServiceAccountToken: false
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v2.14.21
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
      initContainers:
        - name: copyutil
          image: quay.io/argoproj/argocd:v2.14.21
          volumeMounts:
            - {name: var-files, mountPath: /var/run/argocd}
      volumes:
        - {name: tmp, emptyDir: {}}
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  labels: {app.kubernetes.io/name: argocd-cm, app.kubernetes.io/part-of: argocd}
data:
  url: https://argocd.example.com
`

// The user's kustomization, as docs/install.md writes it.
const userKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: argocd
resources: [argocd.yaml]
components: [../component]
images:
  - name: vaultcmp
    newName: registry.example.com/vaultcmp
    newTag: v9.9.9
patches:
  - patch: |-
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: vaultcmp-config
      data:
        allowed-vault-addresses: https://vault.example.com:8200
        default-vault-address: https://vault.example.com:8200
`

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return b
}

// built is the output of a kustomize build, by kind and name.
type built map[string][]byte

func (b built) get(t *testing.T, kind, name string, into any) {
	t.Helper()
	y, ok := b[kind+"/"+name]
	require.True(t, ok, "%s %s not in the output; have %v", kind, name, b.keys())
	require.NoError(t, yaml.UnmarshalStrict(y, into), "%s %s", kind, name)
}

// named finds the one object whose name starts with prefix (generated names
// carry a hash).
func (b built) named(t *testing.T, kind, prefix string) string {
	t.Helper()
	var found []string
	for k := range b {
		if name, ok := strings.CutPrefix(k, kind+"/"); ok && strings.HasPrefix(name, prefix) {
			found = append(found, name)
		}
	}
	require.Len(t, found, 1, "%s %s*", kind, prefix)
	return found[0]
}

func (b built) keys() []string {
	var ks []string
	for k := range b {
		ks = append(ks, k)
	}
	return ks
}

func build(t *testing.T, fSys filesys.FileSystem, dir string) built {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fSys, dir)
	require.NoError(t, err)
	out := built{}
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		require.NoError(t, err)
		out[r.GetKind()+"/"+r.GetName()] = y
	}
	return out
}

// buildComponent builds userKustomization over argoCD with the component, in
// memory.
func buildComponent(t *testing.T) built {
	t.Helper()
	fSys := filesys.MakeFsInMemory()
	err := filepath.WalkDir("kustomize", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel("kustomize", p)
		if err != nil {
			return err
		}
		return fSys.WriteFile(path.Join("/component", filepath.ToSlash(rel)), read(t, p))
	})
	require.NoError(t, err)
	require.NoError(t, fSys.WriteFile("/app/kustomization.yaml", []byte(userKustomization)))
	require.NoError(t, fSys.WriteFile("/app/argocd.yaml", []byte(argoCD)))
	return build(t, fSys, "/app")
}

func container(t *testing.T, pod corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == name {
			return c
		}
	}
	require.FailNow(t, "no container "+name)
	return corev1.Container{}
}

func volume(t *testing.T, pod corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	var found []corev1.Volume
	for _, v := range pod.Volumes {
		if v.Name == name {
			found = append(found, v)
		}
	}
	require.Len(t, found, 1, "volume %s", name)
	return found[0]
}

func env(t *testing.T, c corev1.Container, name string) corev1.EnvVar {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			return e
		}
	}
	require.FailNow(t, "no env "+name)
	return corev1.EnvVar{}
}

// mounts maps mount path to mount.
func mounts(c corev1.Container) map[string]corev1.VolumeMount {
	m := map[string]corev1.VolumeMount{}
	for _, v := range c.VolumeMounts {
		m[v.MountPath] = v
	}
	return m
}

// checkSidecar checks what both installs must give the sidecar; pluginVolume
// and pluginKey name the plugin config's volume and key.
func checkSidecar(t *testing.T, c corev1.Container, pluginVolume, pluginKey string) {
	t.Helper()
	assert.Equal(t, []string{cmpServer}, c.Command, "Argo CD's cmp-server is the entrypoint")
	assert.Empty(t, c.Args)

	sc := c.SecurityContext
	require.NotNil(t, sc)
	require.NotNil(t, sc.RunAsUser)
	assert.Equal(t, int64(999), *sc.RunAsUser, "Argo CD requires plugin sidecars to run as 999")
	require.NotNil(t, sc.RunAsNonRoot)
	assert.True(t, *sc.RunAsNonRoot)
	require.NotNil(t, sc.ReadOnlyRootFilesystem)
	assert.True(t, *sc.ReadOnlyRootFilesystem)
	require.NotNil(t, sc.AllowPrivilegeEscalation)
	assert.False(t, *sc.AllowPrivilegeEscalation)
	require.NotNil(t, sc.Capabilities)
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	assert.Empty(t, sc.Capabilities.Add)
	assert.Nil(t, sc.Privileged)

	want := map[string]corev1.VolumeMount{
		"/var/run/argocd":                 {Name: "var-files", MountPath: "/var/run/argocd"},
		"/home/argocd/cmp-server/plugins": {Name: "plugins", MountPath: "/home/argocd/cmp-server/plugins"},
		pluginConfigPath:                  {Name: pluginVolume, MountPath: pluginConfigPath, SubPath: pluginKey},
		"/tmp":                            {Name: "vaultcmp-tmp", MountPath: "/tmp"},
		tokenCacheDir:                     {Name: "vaultcmp-token-cache", MountPath: tokenCacheDir},
		saTokenDir:                        {Name: "vaultcmp-kube-api-access", MountPath: saTokenDir, ReadOnly: true},
		platformDir:                       {Name: "vaultcmp-platform", MountPath: platformDir, ReadOnly: true},
	}
	assert.Equal(t, want, mounts(c))

	assert.Equal(t, tokenCacheDir, env(t, c, "VAULTCMP_TOKEN_CACHE_DIR").Value)
	hmac := env(t, c, "VAULTCMP_HMAC_KEY")
	assert.Empty(t, hmac.Value, "the HMAC key comes from a Secret, never from the manifest")
	require.NotNil(t, hmac.ValueFrom)
	require.NotNil(t, hmac.ValueFrom.SecretKeyRef)
	assert.Equal(t, "vaultcmp-hmac-key", hmac.ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "key", hmac.ValueFrom.SecretKeyRef.Key)
	env(t, c, "VAULTCMP_DEFAULT_VAULT_ADDRESS")
	env(t, c, "VAULTCMP_ALLOWED_VAULT_ADDRESSES") // generate refuses every login without it
	assert.Equal(t, platformDir, env(t, c, "VAULTCMP_PLATFORM_DIR").Value, "the platform objects' ConfigMap is where generate reads them")
	env(t, c, "VAULTCMP_PLATFORM_NAMESPACE")
	for _, e := range c.Env {
		assert.NotContains(t, []string{"VAULT_TOKEN", "VAULT_ADDR"}, e.Name, "one Vault identity per app, never one for all")
		if strings.HasPrefix(e.Name, "HELM_") {
			assert.True(t, strings.HasPrefix(e.Value, "/tmp/"), "%s must be writable: %s", e.Name, e.Value)
		}
	}
	assert.Empty(t, c.EnvFrom)
}

// checkVolumes checks the sidecar's own volumes.
func checkVolumes(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	tmp := volume(t, pod, "vaultcmp-tmp")
	require.NotNil(t, tmp.EmptyDir, "vaultcmp-tmp")
	cache := volume(t, pod, "vaultcmp-token-cache")
	require.NotNil(t, cache.EmptyDir, "vaultcmp-token-cache")
	assert.Equal(t, corev1.StorageMediumMemory, cache.EmptyDir.Medium, "tokens stay off the node's disk")

	platform := volume(t, pod, "vaultcmp-platform")
	require.NotNil(t, platform.ConfigMap, "vaultcmp-platform")
	assert.Equal(t, "vaultcmp-platform", platform.ConfigMap.Name)
	require.NotNil(t, platform.ConfigMap.Optional)
	assert.True(t, *platform.ConfigMap.Optional, "an install without platform objects starts")

	api := volume(t, pod, "vaultcmp-kube-api-access")
	require.NotNil(t, api.Projected)
	var token, ca, ns bool
	for _, s := range api.Projected.Sources {
		switch {
		case s.ServiceAccountToken != nil:
			token = s.ServiceAccountToken.Path == "token" && s.ServiceAccountToken.Audience == ""
		case s.ConfigMap != nil:
			ca = s.ConfigMap.Name == "kube-root-ca.crt" && len(s.ConfigMap.Items) == 1 && s.ConfigMap.Items[0].Path == "ca.crt"
		case s.DownwardAPI != nil:
			ns = len(s.DownwardAPI.Items) == 1 && s.DownwardAPI.Items[0].Path == "namespace"
		}
	}
	assert.True(t, token && ca && ns, "in-cluster config needs token, ca.crt and namespace: %+v", api.Projected.Sources)
}

var wantClusterRules = []rbacv1.PolicyRule{{
	APIGroups: []string{""},
	Resources: []string{"serviceaccounts/token"},
	Verbs:     []string{"create"},
}, {
	// aws auth: the irsaServiceAccount's role annotation.
	APIGroups: []string{""},
	Resources: []string{"serviceaccounts"},
	Verbs:     []string{"get"},
}}

// wantAppRules: in Argo CD's namespace, the Application a render is for
// (the Source Hydrator check of inline objects), read only.
var wantAppRules = []rbacv1.PolicyRule{{
	APIGroups: []string{"argoproj.io"},
	Resources: []string{"applications"},
	Verbs:     []string{"get"},
}}

func TestComponent(t *testing.T) {
	out := buildComponent(t)

	var d appsv1.Deployment
	out.get(t, "Deployment", "argocd-repo-server", &d)
	pod := d.Spec.Template.Spec
	require.Len(t, pod.Containers, 2)
	c := container(t, pod, "vaultcmp")
	assert.Equal(t, "registry.example.com/vaultcmp:v9.9.9", c.Image, "images: name vaultcmp sets the image")
	pluginCM := out.named(t, "ConfigMap", "vaultcmp-plugin-")
	checkSidecar(t, c, "vaultcmp-plugin", "plugin.yaml")
	checkVolumes(t, pod)
	v := volume(t, pod, "vaultcmp-plugin")
	require.NotNil(t, v.ConfigMap)
	assert.Equal(t, pluginCM, v.ConfigMap.Name, "the volume follows the ConfigMap's hashed name")

	configCM := out.named(t, "ConfigMap", "vaultcmp-config-")
	addr := env(t, c, "VAULTCMP_DEFAULT_VAULT_ADDRESS")
	require.NotNil(t, addr.ValueFrom)
	require.NotNil(t, addr.ValueFrom.ConfigMapKeyRef)
	assert.Equal(t, configCM, addr.ValueFrom.ConfigMapKeyRef.Name)
	assert.Equal(t, "default-vault-address", addr.ValueFrom.ConfigMapKeyRef.Key)
	var config corev1.ConfigMap
	out.get(t, "ConfigMap", configCM, &config)
	allow := env(t, c, "VAULTCMP_ALLOWED_VAULT_ADDRESSES")
	require.NotNil(t, allow.ValueFrom)
	require.NotNil(t, allow.ValueFrom.ConfigMapKeyRef)
	assert.Equal(t, configCM, allow.ValueFrom.ConfigMapKeyRef.Name)
	assert.Equal(t, "allowed-vault-addresses", allow.ValueFrom.ConfigMapKeyRef.Key)
	assert.Nil(t, allow.ValueFrom.ConfigMapKeyRef.Optional, "a missing allow-list must not go unnoticed")
	assert.Equal(t, map[string]string{"default-vault-address": "https://vault.example.com:8200", "allowed-vault-addresses": "https://vault.example.com:8200"}, config.Data,
		"a patch from the user's kustomization sets the addresses")

	// The shared volumes are Argo CD's, not duplicated; the repo-server
	// container is untouched.
	for _, name := range []string{"var-files", "plugins", "tmp"} {
		volume(t, pod, name)
	}
	repo := container(t, pod, "argocd-repo-server")
	assert.Len(t, repo.VolumeMounts, 2)
	assert.Empty(t, repo.Env)
	require.NotNil(t, pod.AutomountServiceAccountToken)
	assert.False(t, *pod.AutomountServiceAccountToken, "only the sidecar gets API credentials")
	assert.Equal(t, "argocd-repo-server", d.Spec.Template.Annotations["kubectl.kubernetes.io/default-container"])

	var plugin corev1.ConfigMap
	out.get(t, "ConfigMap", pluginCM, &plugin)
	assert.Equal(t, string(read(t, "../plugin.yaml")), plugin.Data["plugin.yaml"], "the ConfigMap holds the repository's plugin.yaml")
	assert.Len(t, plugin.Data, 1)

	var cm corev1.ConfigMap
	out.get(t, "ConfigMap", "argocd-cm", &cm)
	assert.Equal(t, string(read(t, "health.lua")), cm.Data[healthKey])
	assert.Equal(t, "https://argocd.example.com", cm.Data["url"], "argocd-cm keeps its settings")
	assert.Equal(t, "argocd", cm.Labels["app.kubernetes.io/part-of"])

	var role rbacv1.ClusterRole
	out.get(t, "ClusterRole", "vaultcmp-repo-server", &role)
	assert.Equal(t, wantClusterRules, role.Rules)
	var binding rbacv1.ClusterRoleBinding
	out.get(t, "ClusterRoleBinding", "vaultcmp-repo-server", &binding)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "vaultcmp-repo-server"}, binding.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "argocd-repo-server", Namespace: "argocd"}}, binding.Subjects)

	var appRole rbacv1.Role
	out.get(t, "Role", "vaultcmp-repo-server", &appRole)
	assert.Equal(t, "argocd", appRole.Namespace, "Argo CD's namespace, not cluster-wide")
	assert.Equal(t, wantAppRules, appRole.Rules)
	var appBinding rbacv1.RoleBinding
	out.get(t, "RoleBinding", "vaultcmp-repo-server", &appBinding)
	assert.Equal(t, "argocd", appBinding.Namespace)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "vaultcmp-repo-server"}, appBinding.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "argocd-repo-server", Namespace: "argocd"}}, appBinding.Subjects)

	assert.ElementsMatch(t, []string{
		"Deployment/argocd-repo-server", "ConfigMap/argocd-cm", "ConfigMap/" + pluginCM, "ConfigMap/" + configCM,
		"ClusterRole/vaultcmp-repo-server", "ClusterRoleBinding/vaultcmp-repo-server",
		"Role/vaultcmp-repo-server", "RoleBinding/vaultcmp-repo-server",
		// The companion (TestCompanionInstall checks them).
		"ServiceAccount/vaultcmp-companion", "ClusterRole/vaultcmp-companion", "ClusterRoleBinding/vaultcmp-companion",
		"Role/vaultcmp-companion", "RoleBinding/vaultcmp-companion", "Deployment/vaultcmp-companion", "Service/vaultcmp-companion-metrics",
		"ClusterRole/vaultcmp-companion-metrics-reader",
	}, out.keys(), "the component adds nothing else (no Secret, no wider role)")
}

func TestAppNamespace(t *testing.T) {
	out := build(t, filesys.MakeFsOnDisk(), "kustomize/app-namespace")
	var role rbacv1.Role
	out.get(t, "Role", "vaultcmp-secret-reader", &role)
	assert.Equal(t, "webapp-ns", role.Namespace)
	require.Len(t, role.Rules, 1)
	r := role.Rules[0]
	assert.Equal(t, []string{""}, r.APIGroups)
	assert.Equal(t, []string{"secrets"}, r.Resources)
	assert.Equal(t, []string{"get"}, r.Verbs)
	assert.NotEmpty(t, r.ResourceNames, "only the named Secrets")

	var binding rbacv1.RoleBinding
	out.get(t, "RoleBinding", "vaultcmp-secret-reader", &binding)
	assert.Equal(t, "webapp-ns", binding.Namespace)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "vaultcmp-secret-reader"}, binding.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "argocd-repo-server", Namespace: "argocd"}}, binding.Subjects,
		"the subject stays in Argo CD's namespace")
	assert.Len(t, out, 2)
}

func TestExample(t *testing.T) {
	// It fetches Argo CD from GitHub: check what it says, not the build.
	var k types.Kustomization
	require.NoError(t, yaml.UnmarshalStrict(read(t, "kustomize/example/kustomization.yaml"), &k))
	assert.Equal(t, "argocd", k.Namespace)
	assert.Equal(t, []string{"https://raw.githubusercontent.com/argoproj/argo-cd/v3.6.2/manifests/install.yaml"}, k.Resources)
	assert.Equal(t, []string{".."}, k.Components)
	require.Len(t, k.Images, 1)
	assert.Equal(t, "vaultcmp", k.Images[0].Name)
}

func TestCopies(t *testing.T) {
	assert.Equal(t, string(read(t, "../plugin.yaml")), string(read(t, "kustomize/plugin.yaml")), "run: go generate ./sidecar")
	assert.Equal(t, string(read(t, "health.lua")), string(read(t, "kustomize/health.lua")), "run: go generate ./sidecar")
}

// helmValues is all of helm/values.yaml (decoded strictly).
type helmValues struct {
	Configs struct {
		CMP struct {
			Create  bool           `json:"create"`
			Plugins map[string]any `json:"plugins"`
		} `json:"cmp"`
		CM map[string]string `json:"cm"`
	} `json:"configs"`
	RepoServer struct {
		AutomountServiceAccountToken *bool              `json:"automountServiceAccountToken"`
		ExtraContainers              []corev1.Container `json:"extraContainers"`
		Volumes                      []corev1.Volume    `json:"volumes"`
	} `json:"repoServer"`
	ExtraObjects []json.RawMessage `json:"extraObjects"`
}

func TestHelmValues(t *testing.T) {
	var v helmValues
	require.NoError(t, yaml.UnmarshalStrict(read(t, "helm/values.yaml"), &v))

	// The chart writes configs.cmp.plugins.<name> as a ConfigManagementPlugin
	// with metadata.name <name> and spec <value>.
	var plugin struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec any `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(read(t, "../plugin.yaml"), &plugin))
	assert.True(t, v.Configs.CMP.Create)
	assert.Len(t, v.Configs.CMP.Plugins, 1)
	assert.Equal(t, plugin.Spec, v.Configs.CMP.Plugins[plugin.Metadata.Name], "configs.cmp.plugins.%s is plugin.yaml's spec", plugin.Metadata.Name)
	assert.Equal(t, string(read(t, "health.lua")), v.Configs.CM[healthKey])

	require.Len(t, v.RepoServer.ExtraContainers, 1)
	c := v.RepoServer.ExtraContainers[0]
	assert.Equal(t, "vaultcmp", c.Name)
	// The chart's argocd-cmp-cm holds <plugin name>.yaml.
	checkSidecar(t, c, "argocd-cmp-cm", plugin.Metadata.Name+".yaml")
	pod := corev1.PodSpec{Volumes: v.RepoServer.Volumes}
	checkVolumes(t, pod)
	cm := volume(t, pod, "argocd-cmp-cm")
	require.NotNil(t, cm.ConfigMap)
	assert.Equal(t, "argocd-cmp-cm", cm.ConfigMap.Name)
	require.NotNil(t, v.RepoServer.AutomountServiceAccountToken)
	assert.False(t, *v.RepoServer.AutomountServiceAccountToken)

	// Same container and volumes as the kustomize patch, but for the plugin
	// config's volume and the image.
	var patch appsv1.Deployment
	require.NoError(t, yaml.UnmarshalStrict(read(t, "kustomize/repo-server-patch.yaml"), &patch))
	kc := patch.Spec.Template.Spec.Containers[0]
	assert.Equal(t, kc.SecurityContext, c.SecurityContext)
	assert.Equal(t, kc.Resources, c.Resources)
	assert.Equal(t, kc.ImagePullPolicy, c.ImagePullPolicy)
	var kenv, henv []string
	for _, e := range kc.Env {
		kenv = append(kenv, e.Name)
	}
	for _, e := range c.Env {
		henv = append(henv, e.Name)
	}
	assert.Equal(t, kenv, henv)
	for _, name := range []string{"VAULTCMP_TOKEN_CACHE_DIR", "VAULTCMP_HMAC_KEY", "HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		assert.Equal(t, env(t, kc, name), env(t, c, name))
	}
	kvols := map[string]corev1.Volume{}
	for _, vol := range patch.Spec.Template.Spec.Volumes {
		if vol.Name != "vaultcmp-plugin" {
			kvols[vol.Name] = vol
		}
	}
	hvols := map[string]corev1.Volume{}
	for _, vol := range v.RepoServer.Volumes {
		if vol.Name != "argocd-cmp-cm" {
			hvols[vol.Name] = vol
		}
	}
	assert.Equal(t, kvols, hvols)

	// RBAC: the same ClusterRole.
	require.Len(t, v.ExtraObjects, 4+companionObjects)
	var role rbacv1.ClusterRole
	require.NoError(t, yaml.UnmarshalStrict(v.ExtraObjects[0], &role))
	assert.Equal(t, "ClusterRole", role.Kind)
	assert.Equal(t, "vaultcmp-repo-server", role.Name)
	assert.Equal(t, wantClusterRules, role.Rules)
	var binding rbacv1.ClusterRoleBinding
	require.NoError(t, yaml.UnmarshalStrict(v.ExtraObjects[1], &binding))
	assert.Equal(t, "ClusterRoleBinding", binding.Kind)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "vaultcmp-repo-server"}, binding.RoleRef)
	require.Len(t, binding.Subjects, 1)
	assert.Equal(t, "ServiceAccount", binding.Subjects[0].Kind)
	// The same Role in Argo CD's namespace.
	var appRole rbacv1.Role
	require.NoError(t, yaml.UnmarshalStrict(v.ExtraObjects[2], &appRole))
	assert.Equal(t, "Role", appRole.Kind)
	assert.Equal(t, "vaultcmp-repo-server", appRole.Name)
	assert.Equal(t, "{{ .Release.Namespace }}", appRole.Namespace)
	assert.Equal(t, wantAppRules, appRole.Rules)
	var appBinding rbacv1.RoleBinding
	require.NoError(t, yaml.UnmarshalStrict(v.ExtraObjects[3], &appBinding))
	assert.Equal(t, "RoleBinding", appBinding.Kind)
	assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "vaultcmp-repo-server"}, appBinding.RoleRef)
	require.Len(t, appBinding.Subjects, 1)
	assert.Equal(t, binding.Subjects[0], appBinding.Subjects[0])
}
