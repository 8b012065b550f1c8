package renderer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/vault"
)

// fakeCreds is a credentials.Source that records what it was asked:
// Secret keys from a map, service-account tokens that name the account.
type fakeCreds struct {
	secrets map[string]string // "ns/name/key" → value
	noMint  bool              // like credentials.Env: no cluster

	mu    sync.Mutex
	asked []string
}

var _ credentials.Source = (*fakeCreds)(nil)

func (f *fakeCreds) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, s)
}

func (f *fakeCreds) SecretValue(_ context.Context, ns, name, key string) ([]byte, error) {
	f.record(fmt.Sprintf("secret %s/%s[%s]", ns, name, key))
	if v, ok := f.secrets[ns+"/"+name+"/"+key]; ok {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("Secret %s/%s has no key %q", ns, name, key)
}

func (f *fakeCreds) ServiceAccountToken(_ context.Context, ns, sa string, aud []string, exp int64) (string, error) {
	f.record(fmt.Sprintf("token %s/%s aud=%s exp=%d", ns, sa, strings.Join(aud, ","), exp))
	return "jwt-of-" + ns + "/" + sa, nil
}

func (f *fakeCreds) CanMintTokens() error {
	if f.noMint {
		return fmt.Errorf("logging in as a service account %w", credentials.ErrNeedsCluster)
	}
	return nil
}

// loginWire answers Vault's logins and KV reads in process and records the
// logins, behind a real vault.Session. The real Vault's auth methods are
// exercised by test/e2e.
type loginWire struct {
	mu     sync.Mutex
	logins []string // "PUT /v1/auth/<mount>/login ns=<X-Vault-Namespace> <body>"
	reads  []string // "GET <path> token=<X-Vault-Token>"
}

func (w *loginWire) RoundTrip(req *http.Request) (*http.Response, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	reply := func(body string) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	}
	if strings.HasSuffix(req.URL.Path, "/login") {
		b, _ := io.ReadAll(req.Body)
		w.logins = append(w.logins, fmt.Sprintf("%s %s ns=%s hdr=%s %s", req.Method, req.URL.Path, req.Header.Get("X-Vault-Namespace"), req.Header.Get("X-Team"), b))
		return reply(`{"auth":{"client_token":"hvs.from-login","lease_duration":3600,"renewable":true}}`)
	}
	w.reads = append(w.reads, fmt.Sprintf("%s %s token=%s", req.Method, req.URL.Path, req.Header.Get("X-Vault-Token")))
	return reply(`{"data":{"data":{"user":"alice"},"metadata":{"version":1}}}`)
}

// Auth-method resolution: which credential is asked for, of whom, and
// what login reaches Vault, for each method VSO's VaultAuth offers.
func TestAuthMethodResolution(t *testing.T) {
	const conn = "apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultConnection\nmetadata: {name: default, namespace: %s}\nspec: {address: 'http://vault.test:8200'}\n---\n"
	auth := func(ns, spec string) string {
		return fmt.Sprintf("apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultAuth\nmetadata: {name: default, namespace: %s}\nspec: %s\n---\n", ns, spec)
	}
	vss := func(ns, extra string) string {
		return fmt.Sprintf("apiVersion: secrets.hashicorp.com/v1beta1\nkind: VaultStaticSecret\nmetadata: {name: app, namespace: %s}\nspec: {type: kv-v2, mount: secret, path: app%s, destination: {name: app, create: true}}\n", ns, extra)
	}
	secrets := map[string]string{
		"dest/approle/id":      "s3cr3t-id\n",
		"dest/approle/custom":  "other-id",
		"dest/ci-jwt/jwt":      "eyJ.ci\n",
		"dest/vault-ca/ca.crt": "not a PEM",
	}
	tests := []struct {
		name    string
		docs    string
		opts    func(*Options)
		creds   *fakeCreds
		asked   []string // what the credentials source was asked, in order
		logins  []string
		wantErr []string // problems instead of output
	}{
		{
			name:   "kubernetes: a TokenRequest for the consumer's service account, its audiences and expiry",
			docs:   fmt.Sprintf(conn, "dest") + auth("dest", "{method: kubernetes, mount: k8s, namespace: team-a, headers: {X-Team: a}, kubernetes: {role: app, serviceAccount: app-sa, audiences: [vault, x], tokenExpirationSeconds: 900}}") + vss("dest", ""),
			asked:  []string{"token dest/app-sa aud=vault,x exp=900"},
			logins: []string{`PUT /v1/auth/k8s/login ns=team-a hdr=a {"jwt":"jwt-of-dest/app-sa","role":"app"}`},
		},
		{
			name:   "kubernetes: expiry default",
			docs:   fmt.Sprintf(conn, "dest") + auth("dest", "{method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app-sa}}") + vss("dest", ""),
			asked:  []string{"token dest/app-sa aud= exp=600"},
			logins: []string{`PUT /v1/auth/kubernetes/login ns= hdr= {"jwt":"jwt-of-dest/app-sa","role":"app"}`},
		},
		{
			name:   "jwt with a service account",
			docs:   fmt.Sprintf(conn, "dest") + auth("dest", "{method: jwt, mount: jwt, jwt: {role: ci, serviceAccount: ci-sa, audiences: [sts]}}") + vss("dest", ""),
			asked:  []string{"token dest/ci-sa aud=sts exp=600"},
			logins: []string{`PUT /v1/auth/jwt/login ns= hdr= {"jwt":"jwt-of-dest/ci-sa","role":"ci"}`},
		},
		{
			name:   "jwt with a secretRef: the token from the consumer's namespace, trimmed",
			docs:   fmt.Sprintf(conn, "dest") + auth("dest", "{method: jwt, mount: oidc, jwt: {role: ci, secretRef: ci-jwt}}") + vss("dest", ""),
			asked:  []string{"secret dest/ci-jwt[jwt]"},
			logins: []string{`PUT /v1/auth/oidc/login ns= hdr= {"jwt":"eyJ.ci","role":"ci"}`},
		},
		{
			name:   "appRole with a secretRef: key id by default",
			docs:   fmt.Sprintf(conn, "dest") + auth("dest", "{method: appRole, mount: approle, appRole: {roleId: r-1, secretRef: approle}}") + vss("dest", ""),
			asked:  []string{"secret dest/approle[id]"},
			logins: []string{`PUT /v1/auth/approle/login ns= hdr= {"role_id":"r-1","secret_id":"s3cr3t-id"}`},
		},
		{
			name:   "appRole with a secretRef's own key",
			docs:   fmt.Sprintf(conn, "dest") + auth("dest", "{method: appRole, mount: ar, appRole: {roleId: r-1, secretRef: {name: approle, key: custom}}}") + vss("dest", ""),
			asked:  []string{"secret dest/approle[custom]"},
			logins: []string{`PUT /v1/auth/ar/login ns= hdr= {"role_id":"r-1","secret_id":"other-id"}`},
		},
		{
			name:  "VAULT_TOKEN wins over every VaultAuth: no credential, no login",
			docs:  fmt.Sprintf(conn, "dest") + auth("dest", "{method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app-sa}}") + vss("dest", ""),
			opts:  func(o *Options) { o.VaultToken = "hvs.root" },
			asked: nil,
		},
		{
			name:   "a VaultAuth of another namespace that allows the consumer: the consumer's own service account",
			docs:   fmt.Sprintf(conn, "shared") + strings.Replace(auth("shared", "{method: kubernetes, mount: kubernetes, allowedNamespaces: [dest], kubernetes: {role: app, serviceAccount: app-sa}}"), "name: default", "name: central", 1) + vss("dest", ", vaultAuthRef: shared/central"),
			asked:  []string{"token dest/app-sa aud= exp=600"},
			logins: []string{`PUT /v1/auth/kubernetes/login ns= hdr= {"jwt":"jwt-of-dest/app-sa","role":"app"}`},
		},
		{
			name:    "a VaultAuth of another namespace that does not allow the consumer",
			docs:    fmt.Sprintf(conn, "shared") + strings.Replace(auth("shared", "{method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app-sa}}"), "name: default", "name: central", 1) + vss("dest", ", vaultAuthRef: shared/central"),
			wantErr: []string{`spec.vaultAuthRef: VaultAuth shared/central does not allow use from namespace "dest"`, "allowedNamespaces"},
		},
		{
			name:    "tenancy: a Vault object outside the destination namespace",
			docs:    fmt.Sprintf(conn, "other") + auth("other", "{method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app-sa}}") + vss("other", ""),
			opts:    func(o *Options) { o.Tenancy = true },
			wantErr: []string{`metadata.namespace: the app's destination namespace is "dest"`},
		},
		{
			name:    "no cluster: a service-account login is refused before Vault",
			docs:    fmt.Sprintf(conn, "dest") + auth("dest", "{method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app-sa}}") + vss("dest", ""),
			creds:   &fakeCreds{noMint: true},
			wantErr: []string{"spec.vaultAuthRef: VaultAuth default: spec.kubernetes.serviceAccount: logging in as a service account needs a Kubernetes cluster", "set VAULT_TOKEN"},
		},
		{
			name:    "a missing secretRef key",
			docs:    fmt.Sprintf(conn, "dest") + auth("dest", "{method: appRole, mount: approle, appRole: {roleId: r-1, secretRef: {name: approle, key: nope}}}") + vss("dest", ""),
			asked:   []string{"secret dest/approle[nope]"},
			wantErr: []string{`spec.vaultAuthRef: VaultAuth default: spec.appRole.secretRef: Secret dest/approle has no key "nope"`},
		},
		{
			name:    "caCertSecretRef: read from the VaultConnection's namespace",
			docs:    strings.Replace(fmt.Sprintf(conn, "dest"), "spec: {", "spec: {caCertSecretRef: vault-ca, ", 1) + auth("dest", "{method: kubernetes, mount: kubernetes, kubernetes: {role: app, serviceAccount: app-sa}}") + vss("dest", ""),
			asked:   []string{"secret dest/vault-ca[ca.crt]"},   // the CA is refused before a token is minted
			wantErr: []string{"spec.vaultAuthRef: login", "CA"}, // "not a PEM" is refused by the client
		},
		{
			name:    "gcp outside the cluster: Workload Identity needs the app's service account",
			docs:    fmt.Sprintf(conn, "dest") + auth("dest", "{method: gcp, mount: gcp, gcp: {role: r, workloadIdentityServiceAccount: w}}") + vss("dest", ""),
			wantErr: []string{`spec.vaultAuthRef: VaultAuth default: spec.gcp.workloadIdentityServiceAccount: needs a Kubernetes cluster`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode([]byte(tc.docs), "app.yaml")
			require.NoError(t, err)
			creds := tc.creds
			if creds == nil {
				creds = &fakeCreds{}
			}
			creds.secrets = secrets
			wire := &loginWire{}
			opts := Options{Namespace: "dest", Credentials: creds, HMACKey: []byte("k"), Delivery: contract.DeliveryInline,
				Vault: vault.NewSession(vault.Options{MaxRetries: -1, WrapTransport: func(http.RoundTripper) http.RoundTripper { return wire }})}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			res, err := Render(t.Context(), objs, opts)
			assert.Equal(t, tc.asked, creds.asked, "credentials asked")
			if tc.wantErr != nil {
				require.Error(t, err)
				var probs Problems
				require.True(t, errors.As(err, &probs), err.Error())
				for _, w := range tc.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				for _, v := range secrets {
					assert.NotContains(t, err.Error(), strings.TrimSpace(v))
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.logins, wire.logins)
			token := "hvs.from-login"
			if opts.VaultToken != "" {
				token = opts.VaultToken
			}
			assert.Equal(t, []string{"GET /v1/secret/data/app token=" + token}, wire.reads)
			var data map[string]any
			outObjs, err := res.Objects()
			require.NoError(t, err)
			for _, o := range outObjs {
				if o["kind"] == "Secret" {
					data, _ = o["data"].(map[string]any)
				}
			}
			raw, _ := json.Marshal(data)
			assert.Contains(t, string(raw), `"user":"YWxpY2U="`)
		})
	}
}
