package identity

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/vault"
)

// saSource is a fakeSource that also reads service accounts.
type saSource struct {
	fakeSource
	annotations map[string]map[string]string // "ns/name" → annotations
}

var _ credentials.ServiceAccountReader = (*saSource)(nil)

func (s *saSource) ServiceAccountAnnotations(_ context.Context, ns, name string) (map[string]string, error) {
	s.asked = append(s.asked, "serviceaccount "+ns+"/"+name)
	a, ok := s.annotations[ns+"/"+name]
	if !ok {
		return nil, errors.New("ServiceAccount " + ns + "/" + name + " not found")
	}
	return a, nil
}

func TestAWSSettingsFromEnv(t *testing.T) {
	env := map[string]string{
		EnvAWSSTSEndpoint:      " https://sts.private ",
		EnvAWSAllowedEndpoints: "https://a/, ,https://b",
		EnvAWSAllowPodIdentity: "true",
	}
	s := AWSSettingsFromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	assert.Equal(t, AWSSettings{STSEndpoint: "https://sts.private", AllowedEndpoints: []string{"https://a", "https://b"}, AllowPodIdentity: true}, s)
	assert.Equal(t, AWSSettings{}, AWSSettingsFromEnv(func(string) (string, bool) { return "", false }))
}

// awsLogin refuses, before any credential is read or sent, what the
// operator has not allowed, and names the field.
func TestAWSLoginRefuses(t *testing.T) {
	plan := func(a *Auth) *Plan {
		a.Method, a.Mount, a.Role = "aws", "aws", "r"
		return &Plan{Consumer: "app", Login: true, Auth: a}
	}
	irsa := func(x *contract.AWSAuth) *Auth { return &Auth{Name: "va", ServiceAccount: "sa", AWS: x} }
	tests := []struct {
		name string
		p    *Plan
		set  AWSSettings
		src  credentials.Source
		want []string
	}{
		{"pod identity by default", plan(&Auth{Name: "va"}), AWSSettings{}, &saSource{},
			[]string{"VaultAuth va", "the pod's own AWS identity is not used", EnvAWSAllowPodIdentity + "=true", "shared by every app"}},
		{"a manifest's stsEndpoint", plan(irsa(&contract.AWSAuth{STSEndpoint: "https://evil"})), AWSSettings{}, &saSource{},
			[]string{`spec.aws.stsEndpoint "https://evil" is not on the operator's list`, EnvAWSAllowedEndpoints}},
		{"a manifest's iamEndpoint", plan(irsa(&contract.AWSAuth{IAMEndpoint: "https://evil"})), AWSSettings{AllowedEndpoints: []string{"https://good"}}, &saSource{},
			[]string{`spec.aws.iamEndpoint "https://evil"`}},
		{"region not a region", plan(irsa(&contract.AWSAuth{Region: "x.evil.com/"})), AWSSettings{}, &saSource{},
			[]string{`spec.aws.region "x.evil.com/" is not an AWS region name`}},
		{"both credentials", plan(&Auth{Name: "va", ServiceAccount: "sa", SecretRef: &SecretKey{Namespace: "app", Name: "keys"}}), AWSSettings{}, &saSource{},
			[]string{"secretRef and spec.aws.irsaServiceAccount are both set"}},
		{"IRSA without a cluster", plan(irsa(nil)), AWSSettings{}, &fakeSource{noMint: true},
			[]string{"spec.aws.irsaServiceAccount", "needs a Kubernetes cluster"}},
		{"IRSA with a source that reads no service account", plan(irsa(nil)), AWSSettings{}, &fakeSource{},
			[]string{"spec.aws.irsaServiceAccount", "needs a Kubernetes cluster"}},
		{"secretRef without the keys", plan(&Auth{Name: "va", SecretRef: &SecretKey{Namespace: "app", Name: "keys"}}), AWSSettings{}, &saSource{},
			[]string{"spec.aws.secretRef", `no key "access_key_id"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ferr := awsLogin(t.Context(), tc.p, tc.src, tc.set)
			require.NotNil(t, ferr)
			assert.Equal(t, "spec.vaultAuthRef", ferr.Field)
			msg := ferr.Error() + " " + ferr.Hint
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

// The endpoint that signed requests go to is the operator's, or a
// manifest's only when listed; region and session name default as VSO's.
func TestResolveAWS(t *testing.T) {
	tests := []struct {
		name string
		x    *contract.AWSAuth
		set  AWSSettings
		want awsPlan
	}{
		{"defaults", nil, AWSSettings{}, awsPlan{region: "us-east-1", session: "vaultcmp"}},
		{"the operator's endpoint", &contract.AWSAuth{Region: "eu-west-1", SessionName: "s", HeaderValue: "h"}, AWSSettings{STSEndpoint: "https://op"},
			awsPlan{region: "eu-west-1", endpoint: "https://op", session: "s", headerValue: "h"}},
		{"a listed endpoint", &contract.AWSAuth{STSEndpoint: "https://listed/"}, AWSSettings{AllowedEndpoints: []string{"https://listed"}},
			awsPlan{region: "us-east-1", endpoint: "https://listed/", session: "vaultcmp"}},
		{"the operator's wins over a listed one", &contract.AWSAuth{STSEndpoint: "https://listed"}, AWSSettings{STSEndpoint: "https://op", AllowedEndpoints: []string{"https://listed"}},
			awsPlan{region: "us-east-1", endpoint: "https://op", session: "vaultcmp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ferr := resolveAWS(&Auth{AWS: tc.x}, tc.set)
			require.Nil(t, ferr)
			assert.Equal(t, tc.want, got)
		})
	}
}

// IRSA and secretRef give an identity that is the app's: the service
// account of the consumer's namespace (its token minted only at login), or
// the keys (in the identity only as an HMAC).
func TestAWSLoginIdentity(t *testing.T) {
	src := &saSource{fakeSource: fakeSource{secrets: map[string]string{
		"app/keys/access_key_id": "AKIAEXAMPLE", "app/keys/secret_access_key": "wJalr-secret"}}}
	p := &Plan{Consumer: "app", Login: true, Auth: &Auth{Method: "aws", Mount: "aws", Role: "r", ServiceAccount: "sa"}}
	a, ferr := awsLogin(t.Context(), p, src, AWSSettings{})
	require.Nil(t, ferr)
	assert.Equal(t, "app/sa", a.Subject)
	assert.Equal(t, "aws", a.Method)
	assert.Empty(t, src.asked, "nothing is read before the login is sent")

	p.Auth.ServiceAccount, p.Auth.SecretRef = "", &SecretKey{Namespace: "app", Name: "keys"}
	a, ferr = awsLogin(t.Context(), p, src, AWSSettings{})
	require.Nil(t, ferr)
	assert.Empty(t, a.Subject)
	assert.NotEmpty(t, a.Secret, "the keys enter the identity key (as an HMAC)")
	id := &vault.Identity{Auth: a}
	assert.NotContains(t, id.Key(), "wJalr-secret")
}

// The web-identity exchange names its failing step, with a hint.
func TestWebIdentitySteps(t *testing.T) {
	ap := awsPlan{region: "us-east-1", endpoint: "http://127.0.0.1:9", session: "vaultcmp"}
	tests := []struct {
		name string
		ann  map[string]map[string]string
		want string
	}{
		{"service account missing", nil, "aws: reading service account app/sa"},
		{"no role annotation", map[string]map[string]string{"app/sa": {}}, "has no eks.amazonaws.com/role-arn annotation"},
		{"bad expiration", map[string]map[string]string{"app/sa": {AWSRoleAnnotation: "arn:aws:iam::1:role/r", AWSTokenExpirationAnnotation: "soon"}}, "eks.amazonaws.com/token-expiration"},
		{"STS unreachable", map[string]map[string]string{"app/sa": {AWSRoleAnnotation: "arn:aws:iam::1:role/r"}}, "aws: STS exchange (AssumeRoleWithWebIdentity of app/sa for role arn:aws:iam::1:role/r at http://127.0.0.1:9)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &saSource{annotations: tc.ann}
			_, err := webIdentity(src, src, "app", "sa", ap)(t.Context())
			require.Error(t, err)
			var ce *vault.CredentialError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "jwt-of-", "no token in the error")
		})
	}
	src := &saSource{annotations: map[string]map[string]string{"app/sa": {AWSRoleAnnotation: "arn:aws:iam::1:role/r", AWSAudienceAnnotation: "aud-x"}}}
	_, _ = webIdentity(src, src, "app", "sa", ap)(t.Context())
	assert.Contains(t, src.asked, "token app/sa aud=aud-x exp=86400", "the annotated audience, EKS's default lifetime")
}

// An aws plan survives the contract.
func TestAWSContractRoundTrip(t *testing.T) {
	p := &Plan{Consumer: "app", Login: true, Connection: vault.Connection{Address: addr},
		Auth: &Auth{Method: "aws", Mount: "aws", Role: "r", ServiceAccount: "sa", SecretRef: &SecretKey{Namespace: "app", Name: "keys"},
			AWS: &contract.AWSAuth{Region: "eu-west-1", HeaderValue: "h", SessionName: "s", STSEndpoint: "https://sts", IAMEndpoint: "https://iam"}}}
	conn, auth := p.Contract()
	require.NoError(t, contract.ValidateIdentity(conn, auth))
	back, err := FromContract("app", &contract.V1{Connection: conn, Auth: auth})
	require.NoError(t, err)
	assert.Equal(t, p, back)
}
