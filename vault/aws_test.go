package vault

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The login data are a sts:GetCallerIdentity POST signed by the SDK with
// the app's keys (verified by re-signing), the server-ID header signed.
func TestAWSLoginData(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI-secret", SessionToken: "session-tok"}
	data, err := AWSLoginData(t.Context(), AWSLogin{Mount: "aws", Role: "r", Region: "eu-west-1", STSEndpoint: "https://sts.private",
		HeaderValue: "vault.example.com", Credentials: func(context.Context) (aws.Credentials, error) { return creds, nil }})
	require.NoError(t, err)
	dec := func(k string) string {
		b, err := base64.StdEncoding.DecodeString(data[k].(string))
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, "POST", data["iam_http_request_method"])
	assert.Equal(t, "https://sts.private/", dec("iam_request_url"))
	body := dec("iam_request_body")
	assert.Equal(t, "Action=GetCallerIdentity&Version=2011-06-15", body)
	var h http.Header
	require.NoError(t, json.Unmarshal([]byte(dec("iam_request_headers")), &h))
	assert.Equal(t, "vault.example.com", h.Get(AWSServerIDHeader))
	auth := h.Get("Authorization")
	assert.Contains(t, auth, "Credential=AKIDEXAMPLE/")
	assert.Contains(t, auth, "/eu-west-1/sts/aws4_request")
	assert.Contains(t, auth, "x-vault-aws-iam-server-id")
	assert.NotContains(t, dec("iam_request_headers"), creds.SecretAccessKey)

	// Re-sign what was signed: the same signature.
	when, err := time.Parse("20060102T150405Z", h.Get("X-Amz-Date"))
	require.NoError(t, err)
	req, _ := http.NewRequest("POST", "https://sts.private/", strings.NewReader(body))
	signed := auth[strings.Index(auth, "SignedHeaders=")+len("SignedHeaders="):]
	signed = signed[:strings.Index(signed, ",")]
	for _, k := range strings.Split(signed, ";") {
		if k != "host" && k != "content-length" {
			req.Header[http.CanonicalHeaderKey(k)] = h.Values(k)
		}
	}
	if !strings.Contains(signed, "content-length") {
		req.ContentLength = 0
	}
	sum := sha256.Sum256([]byte(body))
	require.NoError(t, v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "sts", "eu-west-1", when))
	assert.Equal(t, auth, req.Header.Get("Authorization"))
}

// A failure to get the credentials is a CredentialError, hint kept.
func TestAWSLoginDataCredentialError(t *testing.T) {
	_, err := AWSLoginData(t.Context(), AWSLogin{Region: "us-east-1", Credentials: func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, &CredentialError{Err: errors.New("aws: STS exchange refused"), Hint: "trust policy"}
	}})
	var ce *CredentialError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "trust policy", ce.Hint)
	_, err = AWSLoginData(t.Context(), AWSLogin{Region: "us-east-1", Credentials: func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("plain")
	}})
	require.ErrorAs(t, err, &ce)
	// Classified as a credential failure of the login, never as Vault's.
	e := classify("login", "http://v", "", "auth/aws/login", err)
	assert.Equal(t, ReasonCredentials, e.Reason)
}
