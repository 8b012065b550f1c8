package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"google.golang.org/api/iamcredentials/v1"
	"google.golang.org/api/option"
	stsv1 "google.golang.org/api/sts/v1"

	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/vault"
)

// The operator's Google settings, read from the environment of the sidecar
// (generate), the companion and render alike. A manifest names no Google
// endpoint: VSO's spec.gcp has none.
const (
	// EnvGCPSTSEndpoint is the Security Token Service endpoint of the
	// workload-identity exchange (default https://sts.googleapis.com/): a
	// private endpoint, or a stand-in in tests.
	EnvGCPSTSEndpoint = "VAULTCMP_GCP_STS_ENDPOINT"
	// EnvGCPIAMCredentialsEndpoint is the IAM Service Account Credentials
	// endpoint of signJwt (default https://iamcredentials.googleapis.com/).
	EnvGCPIAMCredentialsEndpoint = "VAULTCMP_GCP_IAMCREDENTIALS_ENDPOINT"
)

// GCP names shared with GKE and VSO.
const (
	// GCPServiceAccountAnnotation names the Google service account a
	// Kubernetes service account impersonates (GKE Workload Identity).
	GCPServiceAccountAnnotation = "iam.gke.io/gcp-service-account"
	// GCPTokenSeconds is the lifetime of the service-account token sent to
	// STS (the TokenRequest minimum; VSO's).
	GCPTokenSeconds = 600
	// GCPJWTLifetime is how long the signed JWT is valid: Vault's gcp
	// auth refuses JWTs that expire later than 15 minutes (max_jwt_exp).
	GCPJWTLifetime = 10 * time.Minute
)

// GCPSettings are the operator's Google settings.
type GCPSettings struct {
	STSEndpoint            string
	IAMCredentialsEndpoint string
}

// GCPSettingsFromEnv reads GCPSettings from the environment.
func GCPSettingsFromEnv(lookup func(string) (string, bool)) GCPSettings {
	var s GCPSettings
	s.STSEndpoint, _ = lookup(EnvGCPSTSEndpoint)
	s.IAMCredentialsEndpoint, _ = lookup(EnvGCPIAMCredentialsEndpoint)
	s.STSEndpoint, s.IAMCredentialsEndpoint = strings.TrimSpace(s.STSEndpoint), strings.TrimSpace(s.IAMCredentialsEndpoint)
	return s
}

// GCPPodIdentityHint says why a gcp VaultAuth must name the app's service
// account.
const GCPPodIdentityHint = "set spec.gcp.workloadIdentityServiceAccount (a service account of the app's namespace with an " +
	GCPServiceAccountAnnotation + " annotation); the pod's own Google identity is shared by every app, so vaultcmp never uses it"

var (
	// gcpProjectRE: a project ID, optionally domain-scoped (example.com:p).
	gcpProjectRE = regexp.MustCompile(`^([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	// gcpNameRE: a GKE location or cluster name.
	gcpNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// gcpAccountRE: a Google service account's email (it goes in a URL path).
	gcpAccountRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}@[a-z0-9][a-z0-9.-]{0,253}$`)
)

// gcpCluster is the GKE cluster whose workload identity pool the app's
// service account belongs to.
type gcpCluster struct {
	project, location, name string
}

// pool is the cluster's workload identity pool, the audience of the
// service-account token.
func (c gcpCluster) pool() string { return c.project + ".svc.id.goog" }

// stsAudience is the audience of the STS exchange, as GKE's metadata
// server sends it.
func (c gcpCluster) stsAudience() string {
	return "identitynamespace:" + c.pool() + ":https://container.googleapis.com/v1/projects/" + c.project +
		"/locations/" + c.location + "/clusters/" + c.name
}

// gcpLogin is how a gcp VaultAuth logs in: GKE Workload Identity for its
// workloadIdentityServiceAccount (of the app's namespace), never the
// pod's own Google identity. Every step runs when the login is sent,
// after the Vault address was checked against the allow-list.
func gcpLogin(p *Plan, src credentials.Source, set GCPSettings) (vault.Auth, *FieldError) {
	pa := p.Auth
	if pa.ServiceAccount == "" {
		return vault.Auth{}, authErr(pa.Name, GCPPodIdentityHint,
			errors.New("spec.gcp names no workloadIdentityServiceAccount, and the pod's own Google identity is not used: every app shares it"))
	}
	if err := src.CanMintTokens(); err != nil {
		return vault.Auth{}, authErr(pa.Name, ServiceAccountHint, fmt.Errorf("spec.gcp.workloadIdentityServiceAccount: %w", err))
	}
	sar, ok := src.(credentials.ServiceAccountReader)
	if !ok {
		return vault.Auth{}, authErr(pa.Name, ServiceAccountHint, fmt.Errorf("spec.gcp.workloadIdentityServiceAccount: %w", credentials.ErrNeedsCluster))
	}
	var given gcpCluster
	if x := pa.GCP; x != nil {
		given = gcpCluster{project: x.ProjectID, location: x.Region, name: x.ClusterName}
	}
	for _, f := range []struct {
		field, v string
		re       *regexp.Regexp
	}{{"spec.gcp.projectID", given.project, gcpProjectRE}, {"spec.gcp.region", given.location, gcpNameRE}, {"spec.gcp.clusterName", given.name, gcpNameRE}} {
		if f.v != "" && !f.re.MatchString(f.v) {
			return vault.Auth{}, authErr(pa.Name, "", fmt.Errorf("%s %q is not a Google Cloud name", f.field, f.v))
		}
	}
	ns, sa := p.Consumer, pa.ServiceAccount
	a := vault.GCPAuth(vault.GCPLogin{Mount: pa.Mount, Role: pa.Role,
		JWT: workloadIdentity(src, sar, ns, sa, pa.Role, given, set, time.Now)})
	a.Subject = names.Qualified(ns, sa)
	return a, nil
}

// gcpHTTP is the HTTP client of the Google calls, with a transport of its
// own (Go's default transport is kustomize's, closed while an app is
// built); the context bounds them.
var gcpHTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	TLSHandshakeTimeout:   10 * time.Second,
	ResponseHeaderTimeout: 20 * time.Second,
	ForceAttemptHTTP2:     true,
}}

// workloadIdentity is GKE Workload Identity, as GKE's metadata server and
// VSO do it: a TokenRequest for the service account with the pool's
// audience, exchanged at Google STS for a federated access token, with
// which iamcredentials signJwt signs Vault's iam login JWT as the Google
// service account of the account's iam.gke.io/gcp-service-account
// annotation.
func workloadIdentity(src credentials.Source, sar credentials.ServiceAccountReader, ns, sa, role string,
	given gcpCluster, set GCPSettings, now func() time.Time) vault.GCPJWT {
	return func(ctx context.Context) (string, error) {
		who := names.Qualified(ns, sa)
		ann, err := accountAnnotations(ctx, sar, "gcp", ns, sa, GCPServiceAccountAnnotation, "<the Google service account's email>")
		if err != nil {
			return "", err
		}
		gsa := ann[GCPServiceAccountAnnotation]
		if !gcpAccountRE.MatchString(gsa) {
			return "", stepErr("the annotation names the Google service account by its email (<name>@<project>.iam.gserviceaccount.com)",
				"gcp: service account %s: annotation %s %q is not a service account email", who, GCPServiceAccountAnnotation, gsa)
		}
		cl, err := gcpClusterOf(ctx, given)
		if err != nil {
			return "", err
		}
		token, err := src.ServiceAccountToken(ctx, ns, sa, []string{cl.pool()}, GCPTokenSeconds)
		if err != nil {
			return "", stepErr("the sidecar or companion needs create serviceaccounts/token in the app's namespace",
				"gcp: token request for service account %s (audience %s): %w", who, cl.pool(), err)
		}
		fed, err := gcpExchange(ctx, set, cl, token)
		if err != nil {
			return "", stepErr("the cluster must be in the project's workload identity pool "+cl.pool()+" (spec.gcp.projectID, region, clusterName)",
				"gcp: STS exchange (token of %s for pool %s at %s): %w", who, cl.pool(), endpointName(set.STSEndpoint, "sts.googleapis.com"), err)
		}
		jwt, err := gcpSignJWT(ctx, set, fed, gsa, role, now())
		if err != nil {
			return "", stepErr("grant principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/"+cl.pool()+"/subject/ns/"+ns+"/sa/"+sa+
				" (or serviceAccount:"+cl.pool()+"["+ns+"/"+sa+"]) roles/iam.serviceAccountTokenCreator on "+gsa,
				"gcp: signJwt as %s for %s at %s: %w", gsa, who, endpointName(set.IAMCredentialsEndpoint, "iamcredentials.googleapis.com"), err)
		}
		return jwt, nil
	}
}

// gcpClusterOf completes the cluster's names from the GKE metadata server
// (project, cluster-location, cluster-name), as VSO does, when spec.gcp
// leaves them out.
func gcpClusterOf(ctx context.Context, c gcpCluster) (gcpCluster, error) {
	if c.project != "" && c.location != "" && c.name != "" {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	md := metadata.NewClient(gcpHTTP)
	hint := "set spec.gcp.projectID, region and clusterName (outside GKE there is no metadata server)"
	var err error
	if c.project == "" {
		if c.project, err = md.ProjectIDWithContext(ctx); err != nil {
			return c, stepErr(hint, "gcp: the project from the GKE metadata server: %w", err)
		}
	}
	for _, f := range []struct {
		attr string
		v    *string
	}{{"cluster-location", &c.location}, {"cluster-name", &c.name}} {
		if *f.v == "" {
			if *f.v, err = md.InstanceAttributeValueWithContext(ctx, f.attr); err != nil {
				return c, stepErr(hint, "gcp: the %s from the GKE metadata server: %w", f.attr, err)
			}
		}
	}
	if !gcpProjectRE.MatchString(c.project) || !gcpNameRE.MatchString(c.location) || !gcpNameRE.MatchString(c.name) {
		return c, stepErr(hint, "gcp: the GKE metadata server's project %q, location %q, cluster %q are not Google Cloud names", c.project, c.location, c.name)
	}
	return c, nil
}

// gcpExchange is the STS token exchange of a service-account token for a
// federated access token, with Google's sts client, unauthenticated (the
// subject token is the credential).
func gcpExchange(ctx context.Context, set GCPSettings, cl gcpCluster, token string) (string, error) {
	opts := []option.ClientOption{option.WithoutAuthentication(), option.WithHTTPClient(gcpHTTP)}
	if set.STSEndpoint != "" {
		opts = append(opts, option.WithEndpoint(set.STSEndpoint))
	}
	svc, err := stsv1.NewService(ctx, opts...)
	if err != nil {
		return "", err
	}
	resp, err := svc.V1.Token(&stsv1.GoogleIdentityStsV1ExchangeTokenRequest{
		GrantType:          "urn:ietf:params:oauth:grant-type:token-exchange",
		SubjectTokenType:   "urn:ietf:params:oauth:token-type:jwt",
		RequestedTokenType: "urn:ietf:params:oauth:token-type:access_token",
		Scope:              "https://www.googleapis.com/auth/iam",
		Audience:           cl.stsAudience(),
		SubjectToken:       token,
	}).Context(ctx).Do()
	if err != nil {
		return "", err
	}
	if resp.AccessToken == "" {
		return "", errors.New("no access token in the answer")
	}
	return resp.AccessToken, nil
}

// gcpClaims are the claims of Vault's gcp iam login JWT: sub the Google
// service account, aud vault/<role>, and an expiry within Vault's 15
// minutes.
func gcpClaims(gsa, role string, now time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{
		"sub": gsa,
		"aud": "vault/" + role,
		"iat": now.Unix(),
		"exp": now.Add(GCPJWTLifetime).Unix(),
	})
}

// gcpSignJWT has iamcredentials signJwt sign the login claims as gsa,
// authorized by the federated token: Google signs, vaultcmp holds no key.
func gcpSignJWT(ctx context.Context, set GCPSettings, fed, gsa, role string, now time.Time) (string, error) {
	claims, err := gcpClaims(gsa, role, now)
	if err != nil {
		return "", err
	}
	hc := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, gcpHTTP), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fed, TokenType: "Bearer"}))
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if set.IAMCredentialsEndpoint != "" {
		opts = append(opts, option.WithEndpoint(set.IAMCredentialsEndpoint))
	}
	svc, err := iamcredentials.NewService(ctx, opts...)
	if err != nil {
		return "", err
	}
	resp, err := svc.Projects.ServiceAccounts.SignJwt("projects/-/serviceAccounts/"+gsa,
		&iamcredentials.SignJwtRequest{Payload: string(claims)}).Context(ctx).Do()
	if err != nil {
		return "", err
	}
	if resp.SignedJwt == "" {
		return "", errors.New("no signed JWT in the answer")
	}
	return resp.SignedJwt, nil
}

func endpointName(set, def string) string {
	if set != "" {
		return set
	}
	return def
}
