package vault

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/hashicorp/vault/api"
)

// AWSServerIDHeader is the header Vault's aws auth method checks against
// its iam_server_id_header_value (VaultAuth spec.aws.headerValue); it is
// part of the signed request.
const AWSServerIDHeader = "X-Vault-AWS-IAM-Server-ID"

// AWSCredentials gives the app's AWS credentials when the login is sent
// (a web-identity exchange, keys read from a Secret). Its errors must be
// secret-free and name the step that failed; a *[CredentialError] keeps
// its hint.
type AWSCredentials func(ctx context.Context) (aws.Credentials, error)

// AWSLogin is what Vault's aws auth method (iam type) needs: a
// sts:GetCallerIdentity request signed by the AWS SDK with the app's
// credentials, which Vault sends on to STS to learn who the app is.
type AWSLogin struct {
	Mount       string
	Role        string // the Vault role
	Region      string // signing region
	STSEndpoint string // the STS endpoint the request is signed for; "" is the region's
	HeaderValue string // X-Vault-AWS-IAM-Server-ID, signed; "" sends none
	Credentials AWSCredentials
}

// AWSAuth logs in with Vault's aws auth method, iam type. The request is
// signed, never sent to AWS by vaultcmp: Vault forwards it to the STS
// endpoint of its own configuration.
func AWSAuth(l AWSLogin) Auth {
	return Auth{
		Method: "aws",
		Mount:  l.Mount,
		Role:   l.Role,
		Login: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			data, err := AWSLoginData(ctx, l)
			if err != nil {
				return nil, err
			}
			data["role"] = l.Role
			return c.Logical().WriteWithContext(ctx, "auth/"+strings.Trim(l.Mount, "/")+"/login", data)
		},
	}
}

// errCaptured stops the STS client once the request is signed.
var errCaptured = errors.New("signed request captured")

// captureDoer is the STS client's HTTP client: it keeps the signed request
// and sends nothing.
type captureDoer struct {
	req  *http.Request
	body []byte
}

func (d *captureDoer) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			return nil, err
		}
		d.body = b
	}
	d.req = r
	return nil, errCaptured
}

// AWSLoginData is the body of an iam login (without the role): the
// method, URL, headers and body of a signed sts:GetCallerIdentity, as
// Vault's aws auth method reads them. Errors are *[CredentialError]s.
func AWSLoginData(ctx context.Context, l AWSLogin) (map[string]any, error) {
	if l.Credentials == nil {
		return nil, &CredentialError{Err: errors.New("aws: no credentials")}
	}
	creds, err := l.Credentials(ctx)
	if err != nil {
		var ce *CredentialError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, &CredentialError{Err: err}
	}
	d := &captureDoer{}
	o := sts.Options{
		Region:      l.Region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:  d,
		Retryer:     aws.NopRetryer{},
	}
	if l.STSEndpoint != "" {
		o.BaseEndpoint = aws.String(l.STSEndpoint)
	}
	var opts []func(*sts.Options)
	if l.HeaderValue != "" {
		opts = append(opts, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions, smithyhttp.AddHeaderValue(AWSServerIDHeader, l.HeaderValue))
		})
	}
	_, err = sts.New(o).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, opts...)
	if !errors.Is(err, errCaptured) || d.req == nil {
		if err == nil {
			err = errors.New("no request was signed")
		}
		return nil, &CredentialError{Err: fmt.Errorf("aws: signing sts:GetCallerIdentity for region %q: %w", l.Region, err),
			Hint: "check spec.aws.region and the operator's STS endpoint"}
	}
	headers, err := json.Marshal(d.req.Header)
	if err != nil {
		return nil, &CredentialError{Err: fmt.Errorf("aws: encoding the signed headers: %w", err)}
	}
	enc := base64.StdEncoding.EncodeToString
	return map[string]any{
		"iam_http_request_method": d.req.Method,
		"iam_request_url":         enc([]byte(d.req.URL.String())),
		"iam_request_headers":     enc(headers),
		"iam_request_body":        enc(d.body),
	}, nil
}
