package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// FakeGoogle stands in for the Google APIs of GKE Workload Identity and of
// Vault's gcp auth (iam login) on 127.0.0.1, as strict as Google where the
// tests need it:
//   - STS (POST /v1/token): the subject token is checked with the real
//     kube-apiserver (TokenReview: signature, expiry, the pool's audience),
//     the audience must be the cluster's identity namespace; it answers a
//     federated token standing for the Kubernetes service account;
//   - iamcredentials signJwt (POST /v1/projects/-/serviceAccounts/<email>:signJwt):
//     only with a federated token of a subject the Google service account
//     trusts (roles/iam.serviceAccountTokenCreator), signed with the
//     account's key that only the stand-in holds;
//   - what Vault asks: its own access token (POST /token, the JWT-bearer
//     grant of its credentials file), the account (GET
//     /v1/projects/-/serviceAccounts/<email>, with that token), the
//     account's public certificates (GET
//     /service_accounts/v1/metadata/x509/<email>) and Google's own
//     (/oauth2/v1/certs, none: the JWT is the account's).
type FakeGoogle struct {
	URL      string
	Project  string
	Audience string // the STS audience: the cluster's identity namespace
	srv      *httptest.Server
	kube     kubernetes.Interface

	mu       sync.Mutex
	accounts map[string]*gsa   // email -> account
	fed      map[string]string // federated token -> subject
	vault    map[string]bool   // Vault's access tokens
	calls    map[string]int    // step -> calls
}

type gsa struct {
	key     *rsa.PrivateKey
	kid     string
	certPEM string
	id      string
	members []string // subjects that may sign as it
}

// StartFakeGoogle starts the stand-in for project, its GKE cluster
// location/name; kube reviews the service-account tokens.
func StartFakeGoogle(kube kubernetes.Interface, project, location, cluster string) *FakeGoogle {
	g := &FakeGoogle{Project: project, kube: kube, accounts: map[string]*gsa{}, fed: map[string]string{},
		vault: map[string]bool{}, calls: map[string]int{}}
	g.Audience = "identitynamespace:" + g.Pool() + ":https://container.googleapis.com/v1/projects/" + project +
		"/locations/" + location + "/clusters/" + cluster
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.srv.URL + "/"
	return g
}

// Close stops the stand-in.
func (g *FakeGoogle) Close() { g.srv.Close() }

// Pool is the project's workload identity pool.
func (g *FakeGoogle) Pool() string { return g.Project + ".svc.id.goog" }

// Email is the email of Google service account name of the project.
func (g *FakeGoogle) Email(name string) string {
	return name + "@" + g.Project + ".iam.gserviceaccount.com"
}

// AddServiceAccount creates Google service account name, with a key only
// the stand-in holds, that Kubernetes service accounts ns/sa may
// impersonate (their Workload Identity principal holds
// roles/iam.serviceAccountTokenCreator on it).
func (g *FakeGoogle) AddServiceAccount(name string, ksas ...string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: g.Email(name)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	a := &gsa{key: key, kid: strings.ToLower(randHex(20)), id: fmt.Sprint(100000000000 + len(g.accounts)),
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
	for _, k := range ksas {
		a.members = append(a.members, "system:serviceaccount:"+strings.Replace(k, "/", ":", 1))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.accounts[g.Email(name)] = a
	return nil
}

// Calls is how many requests of step (sts, signJwt, token, get, keys) the
// stand-in answered.
func (g *FakeGoogle) Calls(step string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[step]
}

// VaultCredentials is a service-account credentials file for Vault's gcp
// auth whose token_uri is the stand-in.
func (g *FakeGoogle) VaultCredentials() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{
		"type": "service_account", "project_id": g.Project, "private_key_id": "vault-key",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": g.Email("vault-auth"), "client_id": "1", "token_uri": g.srv.URL + "/token",
	})
}

func (g *FakeGoogle) count(step string) {
	g.mu.Lock()
	g.calls[step]++
	g.mu.Unlock()
}

// googleError answers as Google's JSON APIs do.
func googleError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (g *FakeGoogle) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	const sa = "/v1/projects/-/serviceAccounts/"
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/v1/token":
		g.count("sts")
		g.exchange(w, r.Context(), body)
	case r.Method == http.MethodPost && strings.HasPrefix(p, sa) && strings.HasSuffix(p, ":signJwt"):
		g.count("signJwt")
		g.signJWT(w, r, strings.TrimSuffix(strings.TrimPrefix(p, sa), ":signJwt"), body)
	case r.Method == http.MethodPost && p == "/token":
		g.count("token")
		form, _ := url.ParseQuery(string(body))
		if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form.Get("assertion") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		tok := "vault-" + randHex(16)
		g.mu.Lock()
		g.vault[tok] = true
		g.mu.Unlock()
		writeJSON(w, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	case r.Method == http.MethodGet && strings.HasPrefix(p, sa):
		g.count("get")
		g.mu.Lock()
		ok := g.vault[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		a, known := g.accounts[strings.TrimPrefix(p, sa)]
		g.mu.Unlock()
		switch {
		case !ok:
			googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		case !known:
			googleError(w, http.StatusNotFound, "NOT_FOUND", "Unknown service account")
		default:
			email := strings.TrimPrefix(p, sa)
			writeJSON(w, map[string]any{"name": "projects/" + g.Project + "/serviceAccounts/" + email,
				"projectId": g.Project, "uniqueId": a.id, "email": email})
		}
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/service_accounts/v1/metadata/x509/"):
		g.count("keys")
		g.mu.Lock()
		a, known := g.accounts[strings.TrimPrefix(p, "/service_accounts/v1/metadata/x509/")]
		g.mu.Unlock()
		if !known {
			googleError(w, http.StatusNotFound, "NOT_FOUND", "Unknown service account")
			return
		}
		writeJSON(w, map[string]string{a.kid: a.certPEM})
	case r.Method == http.MethodGet && p == "/oauth2/v1/certs":
		writeJSON(w, map[string]string{})
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "no such API: "+r.Method+" "+p)
	}
}

// exchange is STS's token exchange of a Kubernetes service-account token.
func (g *FakeGoogle) exchange(w http.ResponseWriter, ctx context.Context, body []byte) {
	var req struct {
		GrantType, SubjectTokenType, RequestedTokenType, Audience, SubjectToken, Scope string
	}
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	if req.GrantType != "urn:ietf:params:oauth:grant-type:token-exchange" || req.SubjectTokenType != "urn:ietf:params:oauth:token-type:jwt" {
		http.Error(w, `{"error":"invalid_request","error_description":"unsupported grant or subject token type"}`, http.StatusBadRequest)
		return
	}
	if req.Audience != g.Audience {
		http.Error(w, `{"error":"invalid_target","error_description":"The target service indicated by the \"audience\" parameters is invalid."}`, http.StatusBadRequest)
		return
	}
	tr, err := g.kube.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: req.SubjectToken, Audiences: []string{g.Pool()}},
	}, metav1.CreateOptions{})
	if err != nil {
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	if st := tr.Status; !st.Authenticated || !slices.Contains(st.Audiences, g.Pool()) {
		http.Error(w, `{"error":"invalid_grant","error_description":"The subject token is not valid for the workload identity pool."}`, http.StatusBadRequest)
		return
	}
	tok := "fed-" + randHex(24)
	g.mu.Lock()
	g.fed[tok] = tr.Status.User.Username
	g.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": tok, "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type": "Bearer", "expires_in": 3600})
}

// signJWT is iamcredentials signJwt: the caller's federated subject must
// be a member of the account's token creators.
func (g *FakeGoogle) signJWT(w http.ResponseWriter, r *http.Request, email string, body []byte) {
	g.mu.Lock()
	subject, ok := g.fed[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	a, known := g.accounts[email]
	g.mu.Unlock()
	if !ok {
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return
	}
	if !known || !slices.Contains(a.members, subject) {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist).")
		return
	}
	var req struct{ Payload string }
	if err := json.Unmarshal(body, &req); err != nil || !json.Valid([]byte(req.Payload)) {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "the payload is not a JSON claim set")
		return
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: a.key, KeyID: a.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	jws, err := s.Sign([]byte(req.Payload))
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	signed, err := jws.CompactSerialize()
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
		return
	}
	writeJSON(w, map[string]string{"keyId": a.kid, "signedJwt": signed})
}
