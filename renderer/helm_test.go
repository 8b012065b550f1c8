package renderer

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for n, c := range files {
		p := filepath.Join(dir, n)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(c), 0o644))
	}
}

func TestLoadHelm(t *testing.T) {
	root := t.TempDir()
	chart := filepath.Join(root, "charts", "app")
	writeTree(t, root, map[string]string{
		"charts/app/Chart.yaml":             "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"charts/app/values.yaml":            "name: base\nnested: {a: 1, b: 2}\n",
		"charts/app/values-prod.yaml":       "name: prod\nnested: {b: 3}\n",
		"charts/app/templates/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  a: {{ .Values.nested.a | quote }}\n  b: {{ .Values.nested.b | quote }}\n  release: {{ .Release.Name }}\n  kube: {{ .Capabilities.KubeVersion.Version }}\n",
		"charts/app/templates/hook.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hook\n  annotations: {\"helm.sh/hook\": pre-install}\n",
		"charts/app/templates/NOTES.txt":    "thanks\n",
		"charts/app/templates/_helpers.tpl": "{{ define \"x\" }}x{{ end }}\n",
		"secret-values.yaml":                "name: outside\n",
	})
	objs, err := LoadHelm(t.Context(), chart, HelmOptions{
		ReleaseName: "rel", Namespace: "apps", ValuesFiles: []string{"values-prod.yaml"}, Set: map[string]string{"nested.a": "9"},
		Root: root, KubeVersion: "1.37.2",
	})
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "prod", objs[0].Name())
	assert.Equal(t, map[string]any{"a": "9", "b": "3", "release": "rel", "kube": "v1.37.2"}, objs[0].Data["data"])
	assert.Equal(t, "apps", objs[0].Namespace())
	assert.Equal(t, "hook", objs[1].Name(), "hooks come last, as helm template prints them")

	// Values files must stay inside the repository.
	_, err = LoadHelm(t.Context(), chart, HelmOptions{ValuesFiles: []string{"../../../etc/passwd"}, Root: root})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "outside the repository")
	_, err = LoadHelm(t.Context(), chart, HelmOptions{ValuesFiles: []string{"../../secret-values.yaml"}, Root: chart})
	require.Error(t, err)
}

// helmChart writes a chart (Chart.yaml of apiVersion v2 unless files has
// one) into a fresh directory and returns it.
func helmChart(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if _, ok := files["Chart.yaml"]; !ok {
		files["Chart.yaml"] = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
	}
	writeTree(t, dir, files)
	return dir
}

// TestLoadHelmRendersAsHelm4 holds the places where Helm 4 (Argo CD 3.5 and
// later) renders differently from Helm 3, and Argo CD's way of passing
// parameters: each case says what Helm 3.22 gave instead.
func TestLoadHelmRendersAsHelm4(t *testing.T) {
	cm := func(data string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n" + data
	}
	tests := []struct {
		name  string
		files map[string]string
		opts  HelmOptions
		want  map[string]any // data of the ConfigMap cm
	}{{
		// Helm 3 read only the first document of a values file.
		name: "every document of a values file, in order",
		files: map[string]string{
			"values.yaml":       "greeting: base\n",
			"values-prod.yaml":  "greeting: hello\nsize: s\n---\ngreeting: bonjour\n",
			"templates/cm.yaml": cm("  greeting: {{ .Values.greeting }}\n  size: {{ .Values.size }}\n"),
		},
		opts: HelmOptions{ValuesFiles: []string{"values-prod.yaml"}},
		want: map[string]any{"greeting": "bonjour", "size": "s"},
	}, {
		name: "every document of the chart's values.yaml",
		files: map[string]string{
			"values.yaml":       "greeting: hello\n---\ngreeting: bonjour\n",
			"templates/cm.yaml": cm("  greeting: {{ .Values.greeting }}\n"),
		},
		want: map[string]any{"greeting": "bonjour"},
	}, {
		// Helm 3 trimmed every document, so a kept block scalar lost its
		// trailing newlines; Helm 4 trims only the whole stream's end.
		name: "trailing newlines of a kept block scalar",
		files: map[string]string{
			"templates/cm.yaml": cm("  script: |+\n    echo hi\n\n\n"),
			"templates/z.yaml":  "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
		},
		want: map[string]any{"script": "echo hi\n\n\n\n"},
	}, {
		// Helm 3 wrote the normalized version (v1.37.2), so a plain
		// semverCompare held; now the suffix reads as a pre-release and
		// only a constraint with "-0" matches. (Argo CD normalizes
		// KUBE_VERSION itself: this shows with --kube-version only.)
		name: "a provider's Kubernetes version kept whole",
		files: map[string]string{
			"templates/cm.yaml": cm("  version: {{ .Capabilities.KubeVersion.Version }}\n  minor: {{ .Capabilities.KubeVersion.Minor | quote }}\n" +
				"  plain: {{ semverCompare \">=1.37.0\" .Capabilities.KubeVersion.Version | quote }}\n" +
				"  pre: {{ semverCompare \">=1.37.0-0\" .Capabilities.KubeVersion.Version | quote }}\n"),
		},
		opts: HelmOptions{KubeVersion: "v1.37.2-gke.1245000"},
		want: map[string]any{"version": "v1.37.2-gke.1245000", "minor": "37", "plain": "false", "pre": "true"},
	}, {
		// Functions Helm 3 did not have: a chart using them failed.
		name: "Helm 4's template functions",
		files: map[string]string{
			"values.yaml":       "timeout: 1m30s\nlabels: {a: b}\n",
			"templates/cm.yaml": cm("  seconds: {{ durationSeconds .Values.timeout | quote }}\n  yaml: {{ mustToYaml .Values.labels | quote }}\n  json: {{ mustToJson .Values.labels | quote }}\n"),
		},
		want: map[string]any{"seconds": "90", "yaml": "a: b", "json": `{"a":"b"}`},
	}, {
		// Argo CD escapes commas: a parameter's value is one value.
		name: "parameters as Argo CD passes them",
		files: map[string]string{
			"values.yaml":       "list: []\n",
			"templates/cm.yaml": cm("  plain: {{ .Values.plain | quote }}\n  escaped: {{ .Values.escaped | quote }}\n  list: {{ join \"+\" .Values.list | quote }}\n  number: {{ kindOf .Values.number | quote }}\n"),
		},
		opts: HelmOptions{Set: map[string]string{"plain": "a,b=c", "escaped": `x\,y`, "list": "{p,q}", "number": "3"}},
		want: map[string]any{"plain": "a,b=c", "escaped": "x,y", "list": "p+q", "number": "int64"},
	}, {
		name: "values files first, then parameters",
		files: map[string]string{
			"values.yaml":       "a: chart\nb: chart\nc: chart\n",
			"v1.yaml":           "a: v1\nb: v1\n",
			"v2.yaml":           "a: v2\n",
			"templates/cm.yaml": cm("  a: {{ .Values.a }}\n  b: {{ .Values.b }}\n  c: {{ .Values.c }}\n"),
		},
		opts: HelmOptions{ValuesFiles: []string{"v1.yaml", "v2.yaml"}, Set: map[string]string{"b": "set"}},
		want: map[string]any{"a": "v2", "b": "set", "c": "chart"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := helmChart(t, tc.files)
			objs, err := LoadHelm(t.Context(), dir, tc.opts)
			require.NoError(t, err)
			var got any
			for _, o := range objs {
				if o.Kind() == "ConfigMap" && o.Name() == "cm" {
					got = o.Data["data"]
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestLoadHelmOrder: Helm 4's install order places webhook configurations
// after the known kinds (Helm 3 sorted them with the unknown kinds, by
// name), and hooks come last in Helm's order by kind.
func TestLoadHelmOrder(t *testing.T) {
	obj := func(kind, name string, extra string) string {
		return "apiVersion: v1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n" + extra
	}
	hook := "  annotations: {\"helm.sh/hook\": pre-install}\n"
	dir := helmChart(t, map[string]string{
		"templates/a.yaml": obj("Foo", "custom", "") + "---\n" + obj("ValidatingWebhookConfiguration", "vwc", "") + "---\n" + obj("Service", "svc", ""),
		"templates/b.yaml": obj("Job", "hook-job", hook),
		"templates/d.yaml": obj("ServiceAccount", "hook-sa", hook),
		"templates/c.yaml": obj("Namespace", "ns", ""),
	})
	objs, err := LoadHelm(t.Context(), dir, HelmOptions{})
	require.NoError(t, err)
	var got []string
	for _, o := range objs {
		got = append(got, o.Kind()+"/"+o.Name())
	}
	assert.Equal(t, []string{"Namespace/ns", "Service/svc", "ValidatingWebhookConfiguration/vwc", "Foo/custom", "ServiceAccount/hook-sa", "Job/hook-job"}, got)
}

// TestLoadHelmRefuses: what `helm template` refuses, vaultcmp refuses too.
func TestLoadHelmRefuses(t *testing.T) {
	tmpl := map[string]string{"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(tmpl)
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		name  string
		files map[string]string
		opts  HelmOptions
		want  string
	}{
		{"a chart of apiVersion v3", with(map[string]string{"Chart.yaml": "apiVersion: v3\nname: app\nversion: 0.1.0\n"}), HelmOptions{}, `apiVersion "v3"`},
		{"a library chart", with(map[string]string{"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\ntype: library\n"}), HelmOptions{}, "library charts are not installable"},
		{"a dependency not vendored", with(map[string]string{"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://charts.example.com\n"}), HelmOptions{}, "missing in charts/ directory: redis"},
		{"a Kubernetes version the chart excludes", with(map[string]string{"Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\nkubeVersion: \"<1.30.0\"\n"}), HelmOptions{KubeVersion: "1.37.2"}, "incompatible with Kubernetes v1.37.2"},
		{"a release name Helm refuses", with(nil), HelmOptions{ReleaseName: "Not_A_Name"}, "Helm release name"},
		{"a parameter Helm cannot parse", with(nil), HelmOptions{Set: map[string]string{"a[x]": "1"}}, "Helm parameter a[x]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadHelm(t.Context(), helmChart(t, tc.files), tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestArgoSetValue(t *testing.T) {
	for in, want := range map[string]string{
		"plain": "plain",
		"a,b":   `a\,b`,
		`a\,b`:  `a\,b`,
		"{a,b}": "{a,b}",
		"{a,b":  `{a\,b`,
		",":     `\,`,
		"":      "",
		"é,ü":   `é\,ü`,
	} {
		assert.Equal(t, want, argoSetValue(in), in)
	}
}
