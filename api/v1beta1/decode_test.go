package v1beta1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

func TestDecodeSeedExamples(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, obj Object)
	}{
		{"01-vaultconnection.yaml", func(t *testing.T, obj Object) {
			o := obj.(*VaultConnection)
			assert.Equal(t, "https://vault.corp.com:8200", o.Spec.Address)
			assert.False(t, o.Spec.SkipTLSVerify)
		}},
		{"02-vaultauth-kubernetes.yaml", func(t *testing.T, obj Object) {
			o := obj.(*VaultAuth)
			assert.Equal(t, MethodKubernetes, o.Spec.Method)
			require.NotNil(t, o.Spec.Kubernetes)
			assert.Equal(t, "webapp-sa", o.Spec.Kubernetes.ServiceAccount)
			assert.Equal(t, []string{"vault"}, o.Spec.Kubernetes.TokenAudiences)
			assert.Equal(t, int64(600), o.Spec.Kubernetes.ExpirationSeconds())
		}},
		{"03-vaultauth-approle.yaml", func(t *testing.T, obj Object) {
			o := obj.(*VaultAuth)
			require.NotNil(t, o.Spec.AppRole)
			assert.Equal(t, "your-role-id", o.Spec.AppRole.RoleID)
			assert.Equal(t, SecretKeyRef{Name: "vault-approle-creds", Key: "secret-id"}, o.Spec.AppRole.SecretRef)
			assert.Equal(t, "secret-id", o.Spec.AppRole.SecretRef.KeyOr(DefaultAppRoleSecretKey))
		}},
		{"04-vaultstaticsecret.yaml", func(t *testing.T, obj Object) {
			o := obj.(*VaultStaticSecret)
			assert.Equal(t, KVv2, o.Spec.Type)
			assert.Equal(t, "webapp/config", o.Spec.Path)
			assert.True(t, o.HMACEnabled())
			assert.Equal(t, "Opaque", string(o.Spec.Destination.Type))
			assert.Equal(t, []RolloutRestartTarget{{Kind: RolloutKindDeployment, Name: "webapp"}}, o.Spec.RolloutRestartTargets)
			d, err := ParseDuration(o.Spec.RefreshAfter)
			require.NoError(t, err)
			assert.Equal(t, "1m0s", d.String())
		}},
		{"05-vaultdynamicsecret.yaml", func(t *testing.T, obj Object) {
			o := obj.(*VaultDynamicSecret)
			assert.Equal(t, "creds/webapp-readonly", o.Spec.Path)
			assert.Equal(t, 67, o.RenewalPercentOrDefault())
		}},
		{"06-vaultpkisecret.yaml", func(t *testing.T, obj Object) {
			o := obj.(*VaultPKISecret)
			assert.Equal(t, "webapp-cert", o.Spec.Role)
			assert.Equal(t, "720h", o.Spec.TTL)
			assert.Equal(t, "kubernetes.io/tls", string(o.Spec.Destination.Type))
			assert.Len(t, o.Spec.AltNames, 2)
		}},
		{"07-vaultstaticsecret-transformation.yaml", func(t *testing.T, obj Object) {
			o := obj.(*VaultStaticSecret)
			tr := o.Spec.Destination.Transformation
			assert.True(t, tr.ExcludeRaw)
			assert.Equal(t, []string{"internal_key"}, tr.Excludes)
			assert.Contains(t, tr.Templates["DATABASE_URL"].Text, "postgresql://")
			assert.Contains(t, tr.Templates, "REDIS_URL")
		}},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "seed", "*.yaml"))
	require.NoError(t, err)
	require.Len(t, files, len(tests), "every seed file has a case")

	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			y, err := os.ReadFile(filepath.Join("testdata", "seed", tt.file))
			require.NoError(t, err)
			obj, err := decodeYAML(t, string(y))
			require.NoError(t, err)
			assert.Equal(t, "webapp-ns", obj.GetNamespace())
			assert.Empty(t, obj.Validate())
			tt.check(t, obj)
		})
	}
}

func TestDecodeAcceptsStatusAndGlobalRef(t *testing.T) {
	obj, err := decodeYAML(t, `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a, namespace: ns, creationTimestamp: null}
spec:
  vaultAuthGlobalRef: {name: global, mergeStrategy: {headers: union, params: none}}
  kubernetes: {role: r}
status: {valid: true, specHash: abc}
`)
	require.NoError(t, err)
	assert.Equal(t, KindVaultAuth, obj.GetKind())
	assert.JSONEq(t, `{"valid": true, "specHash": "abc"}`, string(obj.(*VaultAuth).Status))
}

func TestDecodeDuplicateField(t *testing.T) {
	_, err := Decode([]byte(`{"apiVersion":"secrets.hashicorp.com/v1beta1","kind":"VaultStaticSecret",
		"metadata":{"name":"a"},
		"spec":{"type":"kv-v2","mount":"secret","mount":"other","path":"p","destination":{"name":"d"}}}`))
	assert.Equal(t, []string{"spec.mount"}, errorFields(t, err))
	assert.ErrorContains(t, err, "duplicate field")
}

func TestDecodeNotJSONObject(t *testing.T) {
	for _, in := range []string{`[1,2]`, `{"kind":`, `"x"`} {
		_, err := Decode([]byte(in))
		assert.Error(t, err, in)
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	_, err := decodeYAML(t, `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: webapp-config, namespace: webapp-ns}
spec: {type: kv-v2, path: webapp/config, destination: {name: s}}
`)
	require.Error(t, err)
	assert.Equal(t, `VaultStaticSecret "webapp-config": spec.mount: Required value`, err.Error())

	var de *DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, KindVaultStaticSecret, de.Kind)
	assert.Equal(t, "webapp-ns", de.Namespace)

	var fe *field.Error
	require.ErrorAs(t, err, &fe, "Unwrap exposes the field errors")
	assert.Equal(t, "spec.mount", fe.Field)
}

// TestErrorsNeverContainSecrets checks that values that may be secret never
// appear in any error, whatever goes wrong around them.
func TestErrorsNeverContainSecrets(t *testing.T) {
	const secret = "s3cr3t-R0LE-1D"
	tests := []struct {
		name string
		yaml string
	}{
		{"roleId with other appRole problems", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: /approle, appRole: {roleId: ` + secret + `, secretRef: s, secretIDPath: x/../y}}
`},
		{"roleId next to an unknown field", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: ` + secret + `, secretRef: s, extra: 1}}
`},
		{"roleId as a number", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: 98765432123, secretRef: s}}
`},
		{"roleId as an object", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, appRole: {roleId: {v: ` + secret + `}, secretRef: s}}
`},
		{"roleId with a wrong method", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: kubernetes, mount: k, appRole: {roleId: ` + secret + `}}
`},
		{"header and param values", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: token, headers: {'bad header': ` + secret + `}, params: {p: ` + secret + `}}
`},
		{"template text", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: SecretTransformation
metadata: {name: Bad_Name}
spec: {templates: {'bad key!': {text: ` + secret + `}}, sourceTemplates: [{text: ''}], includes: ['(']}
`},
		{"annotation value", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: a, annotations: {'bad key!': ` + secret + `}}
spec: {type: kv-v9, destination: {name: d, annotations: {'bad key!': ` + secret + `}}}
`},
		{"connection address with user info", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultConnection
metadata: {name: c}
spec: {address: "ftp://user:` + secret + `@vault", headers: {X-Vault-Token: ` + secret + `}}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeYAML(t, tt.yaml)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), "98765432123")
		})
	}
}

func TestDecodeRoundTripYAML(t *testing.T) {
	y, err := os.ReadFile(filepath.Join("testdata", "seed", "03-vaultauth-approle.yaml"))
	require.NoError(t, err)
	obj, err := decodeYAML(t, string(y))
	require.NoError(t, err)
	out, err := yaml.Marshal(obj)
	require.NoError(t, err)
	again, err := decodeYAML(t, string(out))
	require.NoError(t, err)
	assert.Equal(t, obj, again)
	assert.Contains(t, string(out), "key: secret-id")
}

// replace replaces old in s once and fails loudly if it is missing.
func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replace: " + old + " not found")
	}
	return strings.Replace(s, old, new, 1)
}

// TestDecodeValidVariants covers valid VSO manifests beyond the seed.
func TestDecodeValidVariants(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, obj Object)
	}{
		{"jwt with secretRef string", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a, namespace: ns}
spec: {method: jwt, mount: jwt, allowedNamespaces: ['*'], jwt: {role: r, secretRef: jwt-token, tokenExpirationSeconds: 3600}}
`, func(t *testing.T, obj Object) {
			o := obj.(*VaultAuth)
			assert.Equal(t, SecretKeyRef{Name: "jwt-token"}, o.Spec.JWT.SecretRef)
			assert.Equal(t, "jwt", o.Spec.JWT.SecretRef.KeyOr(DefaultJWTSecretKey))
			assert.True(t, o.AllowsNamespace("anywhere"))
		}},
		{"appRole with VSO string secretRef", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: appRole, mount: approle, vaultConnectionRef: shared/conn, appRole: {roleId: r, secretRef: approle-secret}}
`, func(t *testing.T, obj Object) {
			o := obj.(*VaultAuth)
			assert.Equal(t, "id", o.Spec.AppRole.SecretRef.KeyOr(DefaultAppRoleSecretKey))
			assert.Equal(t, "approle-secret", o.Spec.AppRole.SecretRef.Name)
		}},
		{"aws and gcp", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultAuth
metadata: {name: a}
spec: {method: gcp, mount: gcp, gcp: {role: r, workloadIdentityServiceAccount: wi-sa, projectID: p}}
`, nil},
		{"static secret with everything", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultStaticSecret
metadata: {name: s}
spec:
  type: kv-v2
  mount: kv/team
  path: app/config
  version: 3
  hmacSecretData: false
  syncConfig: {instantUpdates: true}
  rolloutRestartTargets: [{kind: argo.Rollout, name: web}]
  destination:
    name: s
    create: true
    annotations: {example.com/owner: team}
    transformation:
      includes: ['^db_', 'url$']
      transformationRefs:
        - {name: common, namespace: shared, ignoreExcludes: true, templateRefs: [{name: dsn, keyOverride: DSN}]}
`, func(t *testing.T, obj Object) {
			o := obj.(*VaultStaticSecret)
			assert.False(t, o.HMACEnabled())
			assert.True(t, o.Spec.SyncConfig.InstantUpdates)
			assert.Equal(t, 3, o.Spec.Version)
		}},
		{"dynamic secret with renewalPercent 0 and params", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultDynamicSecret
metadata: {name: d}
spec: {mount: aws, path: sts/role, requestHTTPMethod: POST, params: {ttl: 1h}, renewalPercent: 0, refreshAfter: 30m, destination: {name: d}}
`, func(t *testing.T, obj Object) {
			assert.Equal(t, 0, obj.(*VaultDynamicSecret).RenewalPercentOrDefault())
		}},
		{"pki with days and issuer", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: VaultPKISecret
metadata: {name: p}
spec: {mount: pki_int, role: web, issuerRef: default, ttl: 30d, expiryOffset: 1.5h, notAfter: '2030-01-01T00:00:00Z', destination: {name: p}}
`, nil},
		{"secret transformation", `
apiVersion: secrets.hashicorp.com/v1beta1
kind: SecretTransformation
metadata: {name: common, namespace: shared}
spec:
  sourceTemplates: [{name: helpers, text: '{{define "x"}}x{{end}}'}]
  templates: {dsn: {text: '{{template "x"}}'}}
  excludes: ['^_']
`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := decodeYAML(t, tt.yaml)
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, obj)
			}
		})
	}
}
