package contract_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

func dynamic() *contract.V1 {
	return &contract.V1{
		Version:  contract.Version,
		Delivery: contract.DeliveryInCluster,
		Object: contract.Object{Kind: v1beta1.KindVaultDynamicSecret, Name: "db", Namespace: "team-a",
			Dynamic: &v1beta1.VaultDynamicSecretSpec{Mount: "database", Path: "creds/ro",
				RolloutRestartTargets: []v1beta1.RolloutRestartTarget{{Kind: "Deployment", Name: "app"}},
				Destination:           v1beta1.Destination{Name: "db-creds", Create: true}}},
		RolloutTargets: []v1beta1.RolloutRestartTarget{{Kind: "Deployment", Name: "app"}},
		Connection:     contract.Connection{Address: "https://vault:8200", Headers: map[string]string{"X-Team": "a"}, Timeout: "30s"},
		Auth:           &contract.Auth{Method: "kubernetes", Mount: "kubernetes", Role: "r", ServiceAccount: "sa", TokenSeconds: 600},
		Application:    "team-a-app",
	}
}

// TestValidateAppliesGeneratesRules: the companion refuses every contract
// that generate, validating the VSO objects, could not have written
// (issue 15, row 1 in depth).
func TestValidateAppliesGeneratesRules(t *testing.T) {
	require.NoError(t, dynamic().Validate())
	tests := []struct {
		name   string
		mutate func(*contract.V1)
		want   string
	}{
		{"auth mount leaves auth/ (row 1)", func(c *contract.V1) { c.Auth.Mount = "../cubbyhole/loot" }, "spec.mount"},
		{"auth mount with .. inside", func(c *contract.V1) { c.Auth.Mount = "kubernetes/../../sys" }, "spec.mount"},
		{"auth mount absolute", func(c *contract.V1) { c.Auth.Mount = "/cubbyhole" }, "spec.mount"},
		{"auth mount empty", func(c *contract.V1) { c.Auth.Mount = "" }, "spec.mount"},
		{"unsupported method", func(c *contract.V1) { c.Auth.Method = "ldap" }, `auth.method "ldap"`},
		{"aws without role", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "aws", Mount: "aws", ServiceAccount: "sa"}
		}, "spec.aws.role"},
		{"aws irsaServiceAccount name", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "aws", Mount: "aws", Role: "r", ServiceAccount: "../admin"}
		}, "spec.aws.irsaServiceAccount"},
		{"aws secretRef name", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "aws", Mount: "aws", Role: "r", SecretRef: &contract.SecretKeyRef{Name: "a/b"}}
		}, "spec.aws.secretRef"},
		{"gcp without role", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "gcp", Mount: "gcp", ServiceAccount: "sa"}
		}, "spec.gcp.role"},
		{"gcp workloadIdentityServiceAccount name", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "gcp", Mount: "gcp", Role: "r", ServiceAccount: "../admin"}
		}, "spec.gcp.workloadIdentityServiceAccount"},
		{"gcp without workloadIdentityServiceAccount", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "gcp", Mount: "gcp", Role: "r", GCP: &contract.GCPAuth{ProjectID: "p-1234"}}
		}, "spec.gcp.workloadIdentityServiceAccount"},
		{"token method", func(c *contract.V1) { c.Auth.Method = "token" }, `auth.method "token"`},
		{"service account name", func(c *contract.V1) { c.Auth.ServiceAccount = "../admin" }, "spec.kubernetes.serviceAccount"},
		{"token lifetime under the minimum", func(c *contract.V1) { c.Auth.TokenSeconds = 10 }, "tokenExpirationSeconds"},
		{"appRole without role id", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "appRole", Mount: "approle", SecretRef: &contract.SecretKeyRef{Name: "s", Key: "id"}}
		}, "spec.appRole.roleId"},
		{"secretRef name", func(c *contract.V1) {
			c.Auth = &contract.Auth{Method: "appRole", Mount: "approle", Role: "x", SecretRef: &contract.SecretKeyRef{Name: "a/b", Key: "id"}}
		}, "spec.appRole.secretRef.name"},
		{"address not http", func(c *contract.V1) { c.Connection.Address = "file:///etc/passwd" }, "spec.address"},
		{"caCertSecretRef name", func(c *contract.V1) { c.Connection.CACertSecretRef = "../ca" }, "spec.caCertSecretRef"},
		{"negative timeout", func(c *contract.V1) { c.Connection.Timeout = "-1s" }, "negative"},
		{"dynamic mount ..", func(c *contract.V1) { c.Object.Dynamic.Mount = "../sys" }, "spec.mount"},
		{"dynamic path ..", func(c *contract.V1) { c.Object.Dynamic.Path = "creds/../../sys/leases/revoke-prefix" }, "spec.path"},
		{"refreshAfter not a VSO duration", func(c *contract.V1) { c.Object.Dynamic.RefreshAfter = "1ms" }, "spec.refreshAfter"},
		{"renewalPercent out of range", func(c *contract.V1) { p := 500; c.Object.Dynamic.RenewalPercent = &p }, "spec.renewalPercent"},
		{"object name with /", func(c *contract.V1) { c.Object.Name = "a/b" }, "metadata.name"},
		{"object namespace", func(c *contract.V1) { c.Object.Namespace = "Team_A" }, "metadata.namespace"},
		{"destination name", func(c *contract.V1) { c.Object.Dynamic.Destination.Name = "../x" }, "spec.destination.name"},
		{"rollout kind", func(c *contract.V1) {
			c.Object.Dynamic.RolloutRestartTargets[0].Kind = "Pod"
			c.RolloutTargets[0].Kind = "Pod"
		}, "rolloutRestartTargets"},
		{"rolloutTargets not the spec's", func(c *contract.V1) { c.RolloutTargets[0].Name = "other" }, "rolloutTargets differ"},
		{"transformation", func(c *contract.V1) {
			c.Transformations = []contract.Transformation{{Name: "t", Namespace: "team-a",
				Spec: v1beta1.SecretTransformationSpec{Templates: map[string]v1beta1.Template{"k": {}}}}}
		}, "transformations[0]"},
		{"application", func(c *contract.V1) { c.Application = "Other/App" }, "application"},
	}
	for _, h := range []string{"X-Vault-Token", "x-vault-token", "Authorization", "Proxy-Authorization", "Cookie", "X-Vault-Wrap-TTL", "X-Vault-MFA"} {
		tests = append(tests,
			struct {
				name   string
				mutate func(*contract.V1)
				want   string
			}{"connection header " + h, func(c *contract.V1) { c.Connection.Headers = map[string]string{h: "s3cr3t"} }, "spec.headers[" + h + "]: Forbidden"},
			struct {
				name   string
				mutate func(*contract.V1)
				want   string
			}{"auth header " + h, func(c *contract.V1) { c.Auth.Headers = map[string]string{h: "s3cr3t"} }, "spec.headers[" + h + "]: Forbidden"},
		)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dynamic()
			tc.mutate(c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cr3t", "a header's value is never printed")
			raw, merr := c.Marshal()
			require.NoError(t, merr)
			_, perr := contract.Parse(contract.SecretType, raw)
			assert.Error(t, perr, "Parse validates too")
		})
	}
}

func TestValidateIdentityAllowsNoAuthAndQualifiedApplication(t *testing.T) {
	c := dynamic()
	c.Auth, c.Application = nil, "apps_team-a-app"
	assert.NoError(t, c.Validate())
}
