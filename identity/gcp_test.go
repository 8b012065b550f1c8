package identity

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/vault"
)

func TestGCPSettingsFromEnv(t *testing.T) {
	env := map[string]string{EnvGCPSTSEndpoint: " https://sts.private/ ", EnvGCPIAMCredentialsEndpoint: "https://iamc.private/"}
	s := GCPSettingsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	assert.Equal(t, GCPSettings{STSEndpoint: "https://sts.private/", IAMCredentialsEndpoint: "https://iamc.private/"}, s)
	assert.Equal(t, GCPSettings{}, GCPSettingsFromEnv(func(string) (string, bool) { return "", false }))
}

var testCluster = &contract.GCPAuth{ProjectID: "proj-e2e", Region: "europe-west1", ClusterName: "c1"}

// gcpLogin refuses, before anything is read or sent, a VaultAuth that
// names no service account of the app, or names that are not Google's.
func TestGCPLoginRefuses(t *testing.T) {
	plan := func(sa string, x *contract.GCPAuth) *Plan {
		return &Plan{Consumer: "app", Login: true, Auth: &Auth{Name: "va", Method: "gcp", Mount: "gcp", Role: "r", ServiceAccount: sa, GCP: x}}
	}
	tests := []struct {
		name string
		p    *Plan
		src  credentials.Source
		want []string
	}{
		{"the pod's own identity", plan("", testCluster), &saSource{},
			[]string{"VaultAuth va", "the pod's own Google identity is not used", "every app shares it", "spec.gcp.workloadIdentityServiceAccount"}},
		{"project not a project", plan("sa", &contract.GCPAuth{ProjectID: "x/../evil"}), &saSource{},
			[]string{`spec.gcp.projectID "x/../evil" is not a Google Cloud name`}},
		{"region not a location", plan("sa", &contract.GCPAuth{ProjectID: "proj-e2e", Region: "eu west"}), &saSource{},
			[]string{`spec.gcp.region "eu west"`}},
		{"cluster not a name", plan("sa", &contract.GCPAuth{ClusterName: "C/1"}), &saSource{},
			[]string{`spec.gcp.clusterName "C/1"`}},
		{"without a cluster", plan("sa", testCluster), &fakeSource{noMint: true},
			[]string{"spec.gcp.workloadIdentityServiceAccount", "needs a Kubernetes cluster"}},
		{"a source that reads no service account", plan("sa", testCluster), &fakeSource{},
			[]string{"spec.gcp.workloadIdentityServiceAccount", "needs a Kubernetes cluster"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ferr := gcpLogin(tc.p, tc.src, GCPSettings{})
			require.NotNil(t, ferr)
			assert.Equal(t, "spec.vaultAuthRef", ferr.Field)
			msg := ferr.Error() + " " + ferr.Hint
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

// The login JWT's claims are what Vault's gcp iam login checks: sub the
// Google service account, aud vault/<role>, expiry within 15 minutes.
func TestGCPClaims(t *testing.T) {
	now := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	b, err := gcpClaims("app@proj-e2e.iam.gserviceaccount.com", "webapp", now)
	require.NoError(t, err)
	var c struct {
		Sub      string
		Aud      string
		Iat, Exp int64
	}
	require.NoError(t, json.Unmarshal(b, &c))
	assert.Equal(t, "app@proj-e2e.iam.gserviceaccount.com", c.Sub)
	assert.Equal(t, "vault/webapp", c.Aud)
	assert.Equal(t, now.Unix(), c.Iat)
	assert.Equal(t, now.Add(10*time.Minute).Unix(), c.Exp)
	assert.LessOrEqual(t, c.Exp-c.Iat, int64(15*60), "Vault refuses a later expiry")
}

// fakeGoogle answers STS's token exchange and signJwt, recording what it
// was sent; fail names an endpoint that refuses.
type fakeGoogle struct {
	mu   sync.Mutex
	fail string
	got  map[string]string // "sts" → form, "sign" → auth + body
}

func (g *fakeGoogle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.URL.Path == "/v1/token":
		g.got["sts"] = string(b)
		if g.fail == "sts" {
			http.Error(w, `{"error":"invalid_grant","error_description":"the token's audience is not the pool's"}`, http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, `{"access_token":"federated-secret","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}`)
	case strings.HasSuffix(r.URL.Path, ":signJwt"):
		g.got["sign"] = r.URL.Path + " " + r.Header.Get("Authorization") + " " + string(b)
		if g.fail == "sign" {
			http.Error(w, `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.signJwt' denied","status":"PERMISSION_DENIED"}}`, http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, `{"keyId":"k1","signedJwt":"eyJsigned.by.google"}`)
	default:
		http.NotFound(w, r)
	}
}

// Workload Identity runs its steps in order and names the failing one,
// with a hint and no credential.
func TestWorkloadIdentitySteps(t *testing.T) {
	const gsa = "app@proj-e2e.iam.gserviceaccount.com"
	now := func() time.Time { return time.Unix(1_800_000_000, 0) }
	cl := gcpCluster{project: "proj-e2e", location: "europe-west1", name: "c1"}
	annotated := map[string]map[string]string{"app/sa": {GCPServiceAccountAnnotation: gsa}}
	tests := []struct {
		name, fail string
		ann        map[string]map[string]string
		want       string
	}{
		{"service account missing", "", nil, "gcp: reading service account app/sa"},
		{"no annotation", "", map[string]map[string]string{"app/sa": {}}, "has no iam.gke.io/gcp-service-account annotation"},
		{"annotation not an email", "", map[string]map[string]string{"app/sa": {GCPServiceAccountAnnotation: "x/../../v1/evil"}}, "is not a service account email"},
		{"STS refuses", "sts", annotated, "gcp: STS exchange (token of app/sa for pool proj-e2e.svc.id.goog at "},
		{"signJwt refuses", "sign", annotated, "gcp: signJwt as " + gsa + " for app/sa at "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakeGoogle{fail: tc.fail, got: map[string]string{}}
			srv := httptest.NewServer(g)
			defer srv.Close()
			set := GCPSettings{STSEndpoint: srv.URL + "/", IAMCredentialsEndpoint: srv.URL + "/"}
			src := &saSource{annotations: tc.ann}
			_, err := workloadIdentity(src, src, "app", "sa", "r", cl, set, now)(t.Context())
			require.Error(t, err)
			var ce *vault.CredentialError
			require.ErrorAs(t, err, &ce)
			assert.NotEmpty(t, ce.Hint)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "jwt-of-", "no token in the error")
			assert.NotContains(t, err.Error(), "federated-secret", "no token in the error")
		})
	}

	t.Run("the steps as Google expects them", func(t *testing.T) {
		g := &fakeGoogle{got: map[string]string{}}
		srv := httptest.NewServer(g)
		defer srv.Close()
		src := &saSource{annotations: annotated}
		jwt, err := workloadIdentity(src, src, "app", "sa", "webapp", cl, GCPSettings{STSEndpoint: srv.URL + "/", IAMCredentialsEndpoint: srv.URL + "/"}, now)(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "eyJsigned.by.google", jwt)
		assert.Contains(t, src.asked, "token app/sa aud=proj-e2e.svc.id.goog exp=600", "the pool's audience")
		var form map[string]string
		require.NoError(t, json.Unmarshal([]byte(g.got["sts"]), &form))
		assert.Equal(t, "jwt-of-app/sa", form["subjectToken"])
		assert.Equal(t, "identitynamespace:proj-e2e.svc.id.goog:https://container.googleapis.com/v1/projects/proj-e2e/locations/europe-west1/clusters/c1", form["audience"])
		assert.Equal(t, "urn:ietf:params:oauth:grant-type:token-exchange", form["grantType"])
		sign := g.got["sign"]
		assert.True(t, strings.HasPrefix(sign, "/v1/projects/-/serviceAccounts/"+gsa+":signJwt Bearer federated-secret "), sign)
		assert.Contains(t, sign, `\"aud\":\"vault/webapp\"`)
		assert.Contains(t, sign, `\"sub\":\"`+gsa+`\"`)
	})
}

// A gcp plan's identity is the app's service account, minted only at
// login, and it survives the contract.
func TestGCPLoginIdentityAndContract(t *testing.T) {
	src := &saSource{}
	p := &Plan{Consumer: "app", Login: true, Connection: vault.Connection{Address: addr},
		Auth: &Auth{Method: "gcp", Mount: "gcp", Role: "r", ServiceAccount: "sa", GCP: testCluster}}
	a, ferr := gcpLogin(p, src, GCPSettings{})
	require.Nil(t, ferr)
	assert.Equal(t, "app/sa", a.Subject)
	assert.Equal(t, "gcp", a.Method)
	assert.Empty(t, src.asked, "nothing is read before the login is sent")

	conn, auth := p.Contract()
	require.NoError(t, contract.ValidateIdentity(conn, auth))
	back, err := FromContract("app", &contract.V1{Connection: conn, Auth: auth})
	require.NoError(t, err)
	assert.Equal(t, p, back)
}

// Names spec.gcp leaves out come from the GKE metadata server, as in VSO;
// without one, the error says which to set.
func TestGCPClusterFromMetadata(t *testing.T) {
	md := map[string]string{
		"/computeMetadata/v1/project/project-id":                   "proj-md",
		"/computeMetadata/v1/instance/attributes/cluster-location": "us-central1",
		"/computeMetadata/v1/instance/attributes/cluster-name":     "gke-1",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := md[r.URL.Path]
		if !ok || r.Header.Get("Metadata-Flavor") != "Google" {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, v)
	}))
	defer srv.Close()
	t.Setenv("GCE_METADATA_HOST", srv.Listener.Addr().String())

	got, err := gcpClusterOf(t.Context(), gcpCluster{location: "europe-west1"})
	require.NoError(t, err)
	assert.Equal(t, gcpCluster{project: "proj-md", location: "europe-west1", name: "gke-1"}, got, "the spec's names win")

	// (The metadata package caches the project: the cluster's name varies.)
	md["/computeMetadata/v1/instance/attributes/cluster-name"] = "Not/A/Name"
	_, err = gcpClusterOf(t.Context(), gcpCluster{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "are not Google Cloud names")

	delete(md, "/computeMetadata/v1/instance/attributes/cluster-name")
	_, err = gcpClusterOf(t.Context(), gcpCluster{project: "proj-e2e", location: "europe-west1"})
	require.Error(t, err)
	var ce *vault.CredentialError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "gcp: the cluster-name from the GKE metadata server")
	assert.Contains(t, ce.Hint, "set spec.gcp.projectID, region and clusterName")
}
