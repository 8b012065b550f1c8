package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every transformation rule, against data read from the real Vault.
func TestTransformationRules(t *testing.T) {
	ctx := t.Context()
	_, err := vaultSrv.Client.KVv2("secret").Put(ctx, "rules/app", map[string]any{
		"user": "bob", "pass": "pw-Hh3", "port": 5432, "flags": map[string]any{"a": true}, "list": []any{1, "x"},
		"tmp_a": "1", "tmp_b": "2", "keep_me": "k",
	})
	require.NoError(t, err)
	st := `apiVersion: secrets.hashicorp.com/v1beta1
kind: SecretTransformation
metadata:
  name: shared
spec:
  sourceTemplates:
  - name: helpers
    text: '{{ define "dsn" }}{{ .Secrets.user }}@db:{{ .Secrets.port }}{{ end }}'
  templates:
    dsn:
      text: '{{ template "dsn" . }}'
    upper:
      text: '{{ get .Secrets "user" | upper }}'
  includes: ["^keep"]
  excludes: ["^tmp_b$"]
`
	cases := []struct {
		name, transformation string
		want                 map[string]string
		absent               []string
	}{
		{
			name:           "excludes then includes, unanchored",
			transformation: "      excludes: [tmp]\n      includes: [pas, port, user]",
			want:           map[string]string{"user": "bob", "pass": "pw-Hh3", "port": "5432"},
			absent:         []string{"tmp_a", "tmp_b", "flags", "keep_me"},
		},
		{
			name:           "non-string values are JSON",
			transformation: "      includes: [flags, list, port]\n      excludeRaw: true",
			want:           map[string]string{"flags": `{"a":true}`, "list": `[1,"x"]`, "port": "5432"},
			absent:         []string{"_raw", "user"},
		},
		{
			name: "templates with metadata, labels and annotations; templated keys never filtered",
			transformation: `      excludes: [".*"]
      templates:
        info:
          text: '{{ .Metadata.version }}/{{ .Labels.tier }}/{{ .Annotations.owner }}'
        user:
          text: '{{ .Secrets.user | b64enc }}'`,
			want:   map[string]string{"info": "1/backend/team-x", "user": "Ym9i"},
			absent: []string{"pass"},
		},
		{
			name: "SecretTransformation refs with keyOverride and the ref's filters",
			transformation: `      transformationRefs:
      - name: shared
        templateRefs:
        - name: dsn
          keyOverride: DSN`,
			want:   map[string]string{"DSN": "bob@db:5432", "keep_me": "k"},
			absent: []string{"dsn", "upper", "user", "tmp_b"},
		},
		{
			name: "all templates of a ref, ignoring its includes and excludes",
			transformation: `      transformationRefs:
      - name: shared
        ignoreIncludes: true
        ignoreExcludes: true`,
			want: map[string]string{"dsn": "bob@db:5432", "upper": "BOB", "tmp_b": "2", "user": "bob"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: rules
  labels: {tier: backend}
  annotations: {owner: team-x}
spec:
  type: kv-v2
  mount: secret
  path: rules/app
  destination:
    name: rules
    create: true
    transformation:
` + tc.transformation + "\n"
			r := run(t, rootEnv(), "render", "--delivery=inline", writeApp(t, map[string]string{"st.yaml": st, "vss.yaml": obj}))
			require.Equal(t, 0, r.code, r.stderr)
			data := secretData(t, find(t, docs(t, r.stdout), "Secret", "rules"))
			for k, v := range tc.want {
				assert.Equal(t, v, data[k], k)
			}
			for _, k := range tc.absent {
				assert.NotContains(t, data, k)
			}
			assert.NotContains(t, r.stderr, "pw-Hh3")
		})
	}

	t.Run("forbidden functions and failing templates", func(t *testing.T) {
		for _, text := range []string{`{{ env "HOME" }}`, `{{ expandenv "$HOME" }}`, `{{ now }}`, `{{ randAlpha 5 }}`} {
			obj := `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: rules
spec:
  type: kv-v2
  mount: secret
  path: rules/app
  destination:
    name: rules
    create: true
    transformation:
      templates:
        x:
          text: '` + text + "'\n"
			r := run(t, rootEnv(), "render", "--delivery=inline", writeApp(t, map[string]string{"vss.yaml": obj}))
			failed(t, r)
			assert.Contains(t, r.stderr, "spec.destination.transformation")
			assert.Contains(t, r.stderr, "vault_reads=0", "templates are checked before Vault is read")
		}
		obj := `apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata:
  name: rules
spec:
  type: kv-v2
  mount: secret
  path: rules/app
  destination:
    name: rules
    create: true
    transformation:
      templates:
        x:
          text: '{{ fail .Secrets.pass }}'
`
		r := run(t, rootEnv(), "render", "--delivery=inline", writeApp(t, map[string]string{"vss.yaml": obj}))
		failed(t, r)
		assert.NotContains(t, r.stderr, "pw-Hh3")
	})
}
