package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Charts rendered both by vaultcmp and by Helm 4.3.2 as Argo CD 3.6.2 runs
// it (`helm template` with the arguments of Argo CD's util/helm/cmd.go), or
// by Argo CD's own Helm source (argocd_helm_test.go): the non-secret
// objects must agree byte for byte once each is written as canonical JSON.

// helmCase is one chart and the Helm settings of its Application.
type helmCase struct {
	chart   string            // directory under the charts' root
	release string            // source.helm.releaseName / helm-release-name
	values  []string          // source.helm.valueFiles / helm-values-files (relative to the chart)
	params  map[string]string // source.helm.parameters / helm-parameters
}

var helmCases = []helmCase{
	{chart: "simple", release: "web"},
	{chart: "values", release: "shop", values: []string{"values-prod.yaml", "values-eu.yaml"}, params: map[string]string{
		"replicas": "3", "image.tag": "1.2.3", "greeting": "hello, world", "hosts": "{a.example.com,b.example.com}",
		"feature.enabled": "true", "labels.team": "payments",
	}},
	{chart: "capabilities", release: "caps"},
	// Helm 4's changes: every document of a values file (Helm 3: the
	// first), a kept block scalar's trailing newlines (Helm 3 trimmed
	// them), Helm 4's template functions, webhook configurations in the
	// install order.
	{chart: "helm4", release: "four", values: []string{"values-multi.yaml"}},
}

// helmCharts are the charts' files, by path under the charts' root. The
// chart "values" holds Vault objects of the app's namespace (role
// helm4-role, service account webapp-sa) reading secret/webapp/config.
func helmCharts() map[string]string {
	files := map[string]string{}
	// Every chart holds Vault objects: Argo CD hands vaultcmp only the apps
	// its discovery matches (plugin.yaml), even when the plugin is named.
	vault := `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata:
  name: vault-connection
spec:
  address: ` + vaultSrv.Addr + `
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: vault-auth
spec:
  vaultConnectionRef: vault-connection
  method: kubernetes
  mount: kubernetes
  kubernetes:
    role: helm4-role
    serviceAccount: webapp-sa
    audiences:
      - vault
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: {{ .Release.Name }}-db
spec:
  type: kv-v2
  mount: secret
  path: webapp/config
  vaultAuthRef: vault-auth
  destination:
    name: {{ .Release.Name }}-db
    create: true
`
	add := func(chart string, m map[string]string) {
		if _, ok := m["templates/vault.yaml"]; !ok {
			m["templates/vault.yaml"] = vault
		}
		for k, v := range m {
			files[chart+"/"+k] = v
		}
	}
	add("simple", map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: simple\nversion: 0.1.0\nappVersion: \"1.0.0\"\n",
		"values.yaml": "replicas: 2\nimage:\n  repository: nginx\n  tag: \"1.27\"\nport: 8080\n",
		"templates/_helpers.tpl": `{{- define "simple.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
`,
		"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-simple
  labels:
    {{- include "simple.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        {{- include "simple.labels" . | nindent 8 }}
    spec:
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - containerPort: {{ .Values.port }}
`,
		"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-simple
  labels: {{- include "simple.labels" . | nindent 4 }}
spec:
  selector:
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - port: 80
      targetPort: {{ .Values.port }}
`,
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-release
data:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
  revision: {{ .Release.Revision | quote }}
  install: {{ .Release.IsInstall | quote }}
  upgrade: {{ .Release.IsUpgrade | quote }}
`,
		"templates/hook.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-pre-install
  annotations:
    "helm.sh/hook": pre-install
    "helm.sh/hook-weight": "-5"
data:
  at: install
`,
		"templates/NOTES.txt": "Thank you for installing {{ .Chart.Name }}.\n",
	})
	add("values", map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: values\nversion: 0.2.0\n",
		"values.yaml": `greeting: hi
replicas: 1
env: base
image:
  repository: registry.example.com/shop
  tag: latest
hosts: []
feature:
  enabled: false
  level: 1
labels: {}
vault:
  address: ` + vaultSrv.Addr + `
  path: webapp/config
`,
		"values-prod.yaml": "env: prod\nreplicas: 2\nfeature:\n  level: 5\nlabels:\n  tier: prod\n",
		"values-eu.yaml":   "region: eu-west-1\nimage:\n  tag: \"2.0\"\nlabels:\n  tier: prod-eu\n",
		"templates/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels:
    {{- toYaml .Values.labels | nindent 4 }}
data:
  greeting: {{ .Values.greeting | quote }}
  env: {{ .Values.env }}
  region: {{ .Values.region }}
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
  replicas: {{ .Values.replicas | quote }}
  replicasKind: {{ kindOf .Values.replicas }}
  enabled: {{ .Values.feature.enabled | quote }}
  enabledKind: {{ kindOf .Values.feature.enabled }}
  level: {{ .Values.feature.level | quote }}
  hosts: {{ join "," .Values.hosts | quote }}
  values.yaml: |
    {{- toYaml .Values | nindent 4 }}
`,
		"templates/vault.yaml": `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata:
  name: vault-connection
spec:
  address: {{ .Values.vault.address }}
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata:
  name: vault-auth
spec:
  vaultConnectionRef: vault-connection
  method: kubernetes
  mount: kubernetes
  kubernetes:
    role: helm4-role
    serviceAccount: webapp-sa
    audiences:
      - vault
---
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: {{ .Release.Name }}-db
spec:
  type: kv-v2
  mount: secret
  path: {{ .Values.vault.path }}
  vaultAuthRef: vault-auth
  destination:
    name: {{ .Release.Name }}-db
    create: true
`,
	})
	add("capabilities", map[string]string{
		"Chart.yaml":             "apiVersion: v2\nname: capabilities\nversion: 1.2.3\nappVersion: \"4.5\"\nkubeVersion: \">=1.20.0-0\"\n",
		"values.yaml":            "text: some text\ntplText: \"{{ .Release.Name }}-from-tpl\"\nglobal:\n  owner: platform\n",
		"files/motd.txt":         "hello from a file\n",
		"crds/widgets.yaml":      crdWidgets,
		"charts/sub/Chart.yaml":  "apiVersion: v2\nname: sub\nversion: 0.0.1\n",
		"charts/sub/values.yaml": "color: blue\n",
		"charts/sub/templates/cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-sub
data:
  color: {{ .Values.color }}
  owner: {{ .Values.global.owner }}
  chart: {{ .Chart.Name }}
  template: {{ .Template.Name }}
`,
		"templates/caps.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-caps
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version }}
  kubeGitVersion: {{ .Capabilities.KubeVersion.GitVersion }}
  kubeMajor: {{ .Capabilities.KubeVersion.Major | quote }}
  kubeMinor: {{ .Capabilities.KubeVersion.Minor | quote }}
  helmVersion: {{ .Capabilities.HelmVersion.Version }}
  appsV1: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}
  deploymentKind: {{ .Capabilities.APIVersions.Has "apps/v1/Deployment" | quote }}
  argoproj: {{ .Capabilities.APIVersions.Has "argoproj.io/v1alpha1" | quote }}
  recent: {{ semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version | quote }}
  chart: "{{ .Chart.Name }} {{ .Chart.Version }} {{ .Chart.AppVersion }}"
  template: {{ .Template.Name }}
  basePath: {{ .Template.BasePath }}
  file: {{ .Files.Get "files/motd.txt" | quote }}
  sha: {{ .Values.text | sha256sum }}
  b64: {{ .Values.text | b64enc }}
  tpl: {{ tpl .Values.tplText . }}
  upper: {{ .Values.text | upper | replace " " "_" }}
`,
		"templates/ingress.yaml": `{{- if .Capabilities.APIVersions.Has "networking.k8s.io/v1/Ingress" }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules:
    - host: caps.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ .Release.Name }}
                port:
                  number: 80
{{- end }}
`,
	})
	add("helm4", map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: helm4\nversion: 0.4.0\n",
		"values.yaml":       "greeting: base\nsize: m\ntimeout: 1m30s\nlabels:\n  a: b\n  c: d\n",
		"values-multi.yaml": "greeting: hello\nsize: s\n---\ngreeting: bonjour\n",
		"templates/a-config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  greeting: {{ .Values.greeting }}
  size: {{ .Values.size }}
  seconds: {{ durationSeconds .Values.timeout | quote }}
  yaml: {{ mustToYaml .Values.labels | quote }}
  script: |+
    #!/bin/sh
    echo {{ .Values.greeting }}


`,
		"templates/b-service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n    - port: 80\n",
		"templates/c-webhook.yaml": `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: {{ .Release.Name }}-{{ .Release.Namespace }}
webhooks: []
`,
	})
	return files
}

const crdWidgets = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.helm4.vaultcmp.io
spec:
  group: helm4.vaultcmp.io
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`

// canonical parses a YAML stream (Helm's, vaultcmp's, or `argocd app
// manifests`) into its objects, each written as canonical JSON (keys
// sorted), by apiVersion/kind/namespace/name. Secrets and Vault objects are
// left out (vaultcmp replaces the ones by the others); strip, if given,
// edits each object's metadata first (Argo CD's tracking, which names the
// app).
func canonical(t testing.TB, stream string, strip ...func(meta map[string]any)) map[string]string {
	t.Helper()
	out := map[string]string{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal(doc, &obj), "%s", doc)
		if len(obj) == 0 {
			continue
		}
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		if kind == "Secret" || strings.HasPrefix(apiVersion, "secrets.hashicorp.com/") {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		for _, f := range strip {
			f(meta)
		}
		key := fmt.Sprintf("%s/%s/%v/%v", apiVersion, kind, meta["namespace"], meta["name"])
		b, err := json.Marshal(obj)
		require.NoError(t, err)
		require.NotContains(t, out, key, "two objects %s", key)
		out[key] = string(b)
	}
	return out
}

// assertSameObjects compares two renders object by object, byte for byte.
func assertSameObjects(t testing.TB, want, got map[string]string, wantName, gotName string) {
	t.Helper()
	assert.Equal(t, slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got)), "the objects of %s and %s", wantName, gotName)
	for k, w := range want {
		if g, ok := got[k]; ok && g != w {
			t.Errorf("%s differs:\n%s: %s\n%s: %s", k, wantName, w, gotName, g)
		}
	}
}

// helmTemplate runs Helm 4.3.2's `helm template` as Argo CD 3.6.2's
// repo-server does for a Helm source (util/helm/cmd.go: --name-template,
// --namespace, --set with commas escaped, --values with resolved paths,
// --include-crds).
func helmTemplate(t testing.TB, helm, chart, ns string, c helmCase) string {
	t.Helper()
	args := []string{"template", chart, "--name-template", c.release, "--namespace", ns}
	for _, k := range slices.Sorted(maps.Keys(c.params)) {
		args = append(args, "--set", k+"="+argoEscape(c.params[k]))
	}
	for _, v := range c.values {
		args = append(args, "--values", filepath.Join(chart, v))
	}
	args = append(args, "--include-crds")
	cmd := exec.CommandContext(t.Context(), helm, args...)
	home := t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"), "HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_DATA_HOME=" + filepath.Join(home, "data")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	require.NoError(t, cmd.Run(), "helm %s\n%s", strings.Join(args, " "), errb.String())
	return out.String()
}

// argoEscape is Argo CD's cleanSetParameters, written again from its
// description so the test does not share vaultcmp's code: commas not
// already escaped are escaped, unless the value is a {…} list.
func argoEscape(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	for i, r := range v {
		if r == ',' && (i == 0 || v[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestHelmTemplateAgrees renders each chart with `vaultcmp render` and with
// Helm 4.3.2's `helm template` as Argo CD runs it: every non-secret object
// is the same, byte for byte, and vaultcmp's .Capabilities.HelmVersion is
// the release's (v4.3.2), as `helm` says.
func TestHelmTemplateAgrees(t *testing.T) {
	helm, err := HelmBinary()
	require.NoError(t, err, "the Helm part is required")
	const ns = "helm4-ns"
	root := t.TempDir()
	writeFiles(t, root, helmCharts())
	for _, c := range helmCases {
		t.Run(c.chart, func(t *testing.T) {
			chart := filepath.Join(root, c.chart)
			want := canonical(t, helmTemplate(t, helm, chart, ns, c))
			args := []string{"render", "--offline", "--namespace", ns, "--helm-release-name", c.release}
			for _, v := range c.values {
				args = append(args, "--helm-values", v)
			}
			for _, k := range slices.Sorted(maps.Keys(c.params)) {
				args = append(args, "--helm-set", k+"="+c.params[k])
			}
			cmd := exec.CommandContext(t.Context(), vaultcmp, append(args, chart)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "VAULTCMP_HMAC_KEY=e2e-key"}
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			require.NoError(t, cmd.Run(), "vaultcmp %s\n%s", strings.Join(args, " "), errb.String())
			got := canonical(t, out.String())
			require.NotEmpty(t, want)
			assertSameObjects(t, want, got, "helm template", "vaultcmp render")
		})
	}
	// Helm 4's behaviour, as both render it.
	data := func(stream, key string) map[string]string {
		var cm struct{ Data map[string]string }
		require.NoError(t, json.Unmarshal([]byte(canonical(t, stream)[key]), &cm), key)
		return cm.Data
	}
	assert.Equal(t, map[string]string{
		"greeting": "bonjour", "size": "s", "seconds": "90", "yaml": "a: b\nc: d",
		"script": "#!/bin/sh\necho bonjour\n\n\n\n", // Helm 3: "#!/bin/sh\necho bonjour\n"
	}, data(helmTemplate(t, helm, filepath.Join(root, "helm4"), ns, helmCases[3]), "v1/ConfigMap/<nil>/four-config"))
	caps := data(helmTemplate(t, helm, filepath.Join(root, "capabilities"), ns, helmCases[2]), "v1/ConfigMap/<nil>/caps-caps")
	assert.Equal(t, "v"+HelmVersion, caps["helmVersion"])
	minor := strings.Join(strings.Split(KubeVersion, ".")[:2], ".")
	assert.Equal(t, "v"+minor+".0", caps["kubeVersion"], "Helm's default: the client-go it is built with")
}

// writeFiles writes files (by path relative to dir) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}
