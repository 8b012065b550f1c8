package identity

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/vault"
)

// fakeSource is a credentials.Source that records what it is asked.
type fakeSource struct {
	secrets map[string]string // "ns/name/key" → value
	noMint  bool
	asked   []string
}

var _ credentials.Source = (*fakeSource)(nil)

func (f *fakeSource) SecretValue(_ context.Context, ns, name, key string) ([]byte, error) {
	f.asked = append(f.asked, fmt.Sprintf("secret %s/%s[%s]", ns, name, key))
	if v, ok := f.secrets[ns+"/"+name+"/"+key]; ok {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("Secret %s/%s has no key %q", ns, name, key)
}

func (f *fakeSource) ServiceAccountToken(_ context.Context, ns, sa string, aud []string, exp int64) (string, error) {
	f.asked = append(f.asked, fmt.Sprintf("token %s/%s aud=%s exp=%d", ns, sa, strings.Join(aud, ","), exp))
	return "jwt-of-" + ns + "/" + sa, nil
}

func (f *fakeSource) CanMintTokens() error {
	if f.noMint {
		return fmt.Errorf("logging in as a service account %w", credentials.ErrNeedsCluster)
	}
	return nil
}

// loginBody runs a's login against a stub Vault and returns the body it
// sent.
func loginBody(t *testing.T, a vault.Auth) string {
	t.Helper()
	var body string
	stub := roundTrip(func(req *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(req.Body)
		body = req.URL.Path + " " + string(b)
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Request: req,
			Body: io.NopCloser(strings.NewReader(`{"auth":{"client_token":"hvs.x"}}`))}, nil
	})
	c, err := api.NewClient(&api.Config{Address: addr, HttpClient: &http.Client{Transport: stub}})
	require.NoError(t, err)
	_, err = a.Login(t.Context(), c)
	require.NoError(t, err)
	return body
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Fetch asks the source for exactly what the plan names, in the plan's
// namespaces, and builds the login from it; service-account tokens are
// minted at login, not before. Refusals name the field, never a value.
func TestFetch(t *testing.T) {
	secrets := map[string]string{
		"app/creds/id":           " s3cr3t-id\n",
		"app/ci-jwt/jwt":         "eyJ.ci\n",
		"shared/vault-ca/ca.crt": "PEM",
	}
	conn := vault.Connection{Address: addr, CACert: []byte("operator PEM")}
	ca := &SecretKey{Namespace: "shared", Name: "vault-ca", Key: "ca.crt"}
	sa := &Auth{Name: "default", Method: "kubernetes", Mount: "k8s", Namespace: "team", Role: "app", ServiceAccount: "app-sa",
		Audiences: []string{"vault"}, TokenSeconds: 900, Headers: map[string]string{"X": "1"}}
	tests := []struct {
		name   string
		plan   Plan
		noMint bool
		asked  []string // at Fetch
		want   vault.Auth
		cacert string
		login  string   // the login request, when there is one
		minted []string // what the login asked
		err    string
		hint   string
	}{
		{
			name:   "refs only: nothing read, no auth",
			plan:   Plan{Consumer: "app", Connection: conn, CACert: ca, Auth: sa},
			cacert: "operator PEM",
		},
		{
			name:   "VAULT_TOKEN: the CA still read from the connection's namespace; no other credential",
			plan:   Plan{Consumer: "app", Connection: conn, CACert: ca, Auth: sa, Token: "hvs.t", Login: true},
			asked:  []string{"secret shared/vault-ca[ca.crt]"},
			want:   vault.TokenAuth("hvs.t"),
			cacert: "PEM",
		},
		{
			name:   "kubernetes: a token of the consumer's service account, minted at login",
			plan:   Plan{Consumer: "app", Connection: conn, Auth: sa, Login: true},
			want:   vault.Auth{Method: "kubernetes", Mount: "k8s", Namespace: "team", Role: "app", Subject: "app/app-sa", Audiences: []string{"vault"}, Headers: map[string]string{"X": "1"}},
			cacert: "operator PEM",
			login:  `/v1/auth/k8s/login {"jwt":"jwt-of-app/app-sa","role":"app"}`,
			minted: []string{"token app/app-sa aud=vault exp=900"},
		},
		{
			name: "jwt with a secretRef: the token read and trimmed",
			plan: Plan{Consumer: "app", Connection: conn, Login: true,
				Auth: &Auth{Name: "ci", Method: "jwt", Mount: "oidc", Role: "ci", SecretRef: &SecretKey{Namespace: "app", Name: "ci-jwt", Key: "jwt"}}},
			asked:  []string{"secret app/ci-jwt[jwt]"},
			want:   vault.Auth{Method: "jwt", Mount: "oidc", Role: "ci", Secret: "eyJ.ci"},
			cacert: "operator PEM",
			login:  `/v1/auth/oidc/login {"jwt":"eyJ.ci","role":"ci"}`,
		},
		{
			name: "appRole: the secret-id read and trimmed",
			plan: Plan{Consumer: "app", Connection: conn, Login: true,
				Auth: &Auth{Name: "ar", Method: "appRole", Mount: "approle", Role: "r-1", SecretRef: &SecretKey{Namespace: "app", Name: "creds", Key: "id"}}},
			asked:  []string{"secret app/creds[id]"},
			want:   vault.Auth{Method: "appRole", Mount: "approle", Role: "r-1", Secret: "s3cr3t-id"},
			cacert: "operator PEM",
			login:  `/v1/auth/approle/login {"role_id":"r-1","secret_id":"s3cr3t-id"}`,
		},
		{
			name:  "a CA Secret that is not there",
			plan:  Plan{Consumer: "app", Connection: conn, ConnectionName: "vc", CACert: &SecretKey{Namespace: "app", Name: "nope", Key: "ca.crt"}, Auth: sa, Login: true},
			asked: []string{"secret app/nope[ca.crt]"},
			err:   `VaultConnection vc: spec.caCertSecretRef: Secret app/nope has no key "ca.crt"`,
		},
		{
			name: "a missing secretRef key",
			plan: Plan{Consumer: "app", Connection: conn, Login: true,
				Auth: &Auth{Name: "ar", Method: "appRole", Mount: "approle", Role: "r-1", SecretRef: &SecretKey{Namespace: "app", Name: "creds", Key: "nope"}}},
			asked: []string{"secret app/creds[nope]"},
			err:   `VaultAuth ar: spec.appRole.secretRef: Secret app/creds has no key "nope"`,
		},
		{
			name: "appRole without a secretRef",
			plan: Plan{Consumer: "app", Connection: conn, Login: true, Auth: &Auth{Method: "appRole", Mount: "approle", Role: "r-1"}},
			err:  "VaultAuth: spec.appRole.secretRef: none given",
		},
		{
			name: "a service account without a cluster: refused before Vault",
			plan: Plan{Consumer: "app", Connection: conn, Auth: sa, Login: true}, noMint: true,
			err: "VaultAuth default: spec.kubernetes.serviceAccount: logging in as a service account needs a Kubernetes cluster", hint: "set VAULT_TOKEN",
		},
		{
			name: "jwt without a service account or a secretRef",
			plan: Plan{Consumer: "app", Connection: conn, Login: true, Auth: &Auth{Name: "j", Method: "jwt", Mount: "jwt", Role: "r"}},
			err:  "VaultAuth j: spec.jwt.serviceAccount: none given",
		},
		{
			name: "no VaultAuth and no token",
			plan: Plan{Consumer: "app", Connection: conn, Login: true},
			err:  ErrNoAuth.Error(),
		},
		{
			name: "an unsupported method",
			plan: Plan{Consumer: "app", Connection: conn, Login: true, Auth: &Auth{Method: "ldap", Mount: "ldap"}},
			err:  `VaultAuth: method "ldap" is not supported by vaultcmp`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{secrets: secrets, noMint: tc.noMint}
			id, ferr := Fetch(t.Context(), &tc.plan, src)
			assert.Equal(t, tc.asked, src.asked, "asked at Fetch")
			if tc.err != "" {
				require.NotNil(t, ferr)
				assert.Nil(t, id)
				assert.Equal(t, "spec.vaultAuthRef", ferr.Field)
				assert.Contains(t, ferr.Error(), tc.err)
				assert.Contains(t, ferr.Hint, tc.hint)
				for _, v := range secrets {
					assert.NotContains(t, ferr.Error(), strings.TrimSpace(v))
				}
				return
			}
			require.Nil(t, ferr)
			assert.Equal(t, tc.cacert, string(id.Connection.CACert))
			assert.Equal(t, tc.plan.Connection.Address, id.Connection.Address)
			got := id.Auth
			got.Login = nil
			assert.Equal(t, tc.want.Method, got.Method)
			want := tc.want
			want.Login = nil
			assert.Equal(t, want, got)
			if tc.login != "" {
				assert.Equal(t, tc.login, loginBody(t, id.Auth))
				assert.Equal(t, append(tc.asked, tc.minted...), src.asked, "asked at login")
			}
		})
	}
}

// A plan survives the contract: what generate writes (Plan.Contract) the
// companion reads back (FromContract) as the same plan, with every Secret
// and service account in the carrier's namespace and no credential.
func TestContractRoundTrip(t *testing.T) {
	p := &Plan{Consumer: "app", Connection: vault.Connection{Address: addr, Headers: map[string]string{"H": "v"}, TLSServerName: "v", SkipTLSVerify: true, Timeout: 7e9},
		CACert: &SecretKey{Namespace: "app", Name: "vault-ca", Key: "ca.crt"}, Token: "hvs.never-in-a-contract",
		Auth: &Auth{Method: "appRole", Mount: "ar", Namespace: "team", Role: "r-1", Headers: map[string]string{"X": "1"}, SecretRef: &SecretKey{Namespace: "app", Name: "creds", Key: "id"}}}
	conn, auth := p.Contract()
	c := &contract.V1{Connection: conn, Auth: auth}
	assert.Equal(t, contract.Connection{Address: addr, Headers: map[string]string{"H": "v"}, TLSServerName: "v", SkipTLSVerify: true, Timeout: "7s", CACertSecretRef: "vault-ca"}, conn)
	b, err := (&contract.V1{Version: contract.Version, Connection: conn, Auth: auth}).Marshal()
	require.NoError(t, err)
	assert.NotContains(t, string(b), "hvs.never-in-a-contract")

	back, err := FromContract("app", c)
	require.NoError(t, err)
	want := *p
	want.Token, want.Login = "", true
	assert.Equal(t, &want, back)

	other, err := FromContract("elsewhere", c)
	require.NoError(t, err)
	assert.Equal(t, "elsewhere", other.Auth.SecretRef.Namespace)
	assert.Equal(t, "elsewhere", other.CACert.Namespace)

	_, err = FromContract("app", &contract.V1{Connection: contract.Connection{Address: addr, Timeout: "soon"}})
	require.ErrorContains(t, err, "connection.timeout")
}
