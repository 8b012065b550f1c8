package identity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/credentials"
	"github.com/vaultcmp/vaultcmp/internal/names"
	"github.com/vaultcmp/vaultcmp/vault"
)

// The operator's AWS settings, read from the environment of the sidecar
// (generate), the companion and render alike.
const (
	// EnvAWSSTSEndpoint is the STS endpoint vaultcmp uses (the web-identity
	// exchange, and the endpoint the login is signed for), whatever a
	// manifest says: a private endpoint, or a stand-in in tests.
	EnvAWSSTSEndpoint = "VAULTCMP_AWS_STS_ENDPOINT"
	// EnvAWSAllowedEndpoints lists (comma-separated) the endpoints a
	// VaultAuth's spec.aws.stsEndpoint or iamEndpoint may name. Empty: none
	// may — a manifest must not choose where signed requests go.
	EnvAWSAllowedEndpoints = "VAULTCMP_AWS_ALLOWED_ENDPOINTS"
	// EnvAWSAllowPodIdentity, "true", lets a VaultAuth without secretRef or
	// irsaServiceAccount log in as the pod's own AWS identity (environment,
	// instance profile, the pod's IRSA). That identity is every tenant's:
	// off by default.
	EnvAWSAllowPodIdentity = "VAULTCMP_AWS_ALLOW_POD_IDENTITY"
)

// AWS names shared with EKS and VSO.
const (
	// AWSRoleAnnotation is the IRSA service account's role.
	AWSRoleAnnotation = "eks.amazonaws.com/role-arn"
	// AWSAudienceAnnotation overrides the token's audience.
	AWSAudienceAnnotation = "eks.amazonaws.com/audience"
	// AWSTokenExpirationAnnotation overrides the token's lifetime (seconds).
	AWSTokenExpirationAnnotation = "eks.amazonaws.com/token-expiration"
	// AWSDefaultAudience is the audience EKS gives IRSA tokens.
	AWSDefaultAudience = "sts.amazonaws.com"
	// AWSDefaultRegion is used when spec.aws.region is empty (as VSO).
	AWSDefaultRegion = "us-east-1"
	// AWSDefaultSessionName is the role session name when none is given.
	AWSDefaultSessionName = "vaultcmp"
	// The keys of a secretRef Secret (VSO's).
	AWSAccessKeyIDKey     = "access_key_id"
	AWSSecretAccessKeyKey = "secret_access_key"
	AWSSessionTokenKey    = "session_token"
)

// AWSSettings are the operator's AWS settings.
type AWSSettings struct {
	STSEndpoint      string
	AllowedEndpoints []string
	AllowPodIdentity bool
}

// AWSSettingsFromEnv reads AWSSettings from the environment.
func AWSSettingsFromEnv(lookup func(string) (string, bool)) AWSSettings {
	var s AWSSettings
	s.STSEndpoint, _ = lookup(EnvAWSSTSEndpoint)
	s.STSEndpoint = strings.TrimSpace(s.STSEndpoint)
	if v, ok := lookup(EnvAWSAllowedEndpoints); ok {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimRight(strings.TrimSpace(e), "/"); e != "" {
				s.AllowedEndpoints = append(s.AllowedEndpoints, e)
			}
		}
	}
	v, _ := lookup(EnvAWSAllowPodIdentity)
	s.AllowPodIdentity, _ = strconv.ParseBool(strings.TrimSpace(v))
	return s
}

var regionRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// PodIdentityHint says why the pod's own AWS identity is refused.
const PodIdentityHint = "set spec.aws.irsaServiceAccount (a service account of the app's namespace with an " + AWSRoleAnnotation +
	" annotation) or spec.aws.secretRef; the pod's own AWS identity is shared by every app, so vaultcmp uses it only when the operator sets " +
	EnvAWSAllowPodIdentity + "=true"

// awsPlan is an aws login resolved against the operator's settings,
// before any credential is read.
type awsPlan struct {
	region, endpoint, headerValue, session string
}

// resolveAWS checks an aws Auth against the operator's settings: the
// region, and the endpoints a manifest names (allowed only when listed).
func resolveAWS(pa *Auth, set AWSSettings) (awsPlan, *FieldError) {
	x := pa.AWS
	if x == nil {
		x = &contract.AWSAuth{}
	}
	ap := awsPlan{region: x.Region, headerValue: x.HeaderValue, session: x.SessionName}
	if ap.region == "" {
		ap.region = AWSDefaultRegion
	}
	if !regionRE.MatchString(ap.region) || len(ap.region) > 32 {
		return ap, authErr(pa.Name, "", fmt.Errorf("spec.aws.region %q is not an AWS region name", ap.region))
	}
	if ap.session == "" {
		ap.session = AWSDefaultSessionName
	}
	for _, f := range []struct{ field, v string }{{"spec.aws.stsEndpoint", x.STSEndpoint}, {"spec.aws.iamEndpoint", x.IAMEndpoint}} {
		if f.v != "" && !slices.Contains(set.AllowedEndpoints, strings.TrimRight(f.v, "/")) {
			return ap, authErr(pa.Name, "remove it (the operator sets the STS endpoint with "+EnvAWSSTSEndpoint+"), or ask the operator to list it in "+EnvAWSAllowedEndpoints,
				fmt.Errorf("%s %q is not on the operator's list: a manifest does not choose where signed AWS requests go", f.field, f.v))
		}
	}
	ap.endpoint = x.STSEndpoint
	if set.STSEndpoint != "" {
		ap.endpoint = set.STSEndpoint
	}
	return ap, nil
}

// awsLogin is how an aws VaultAuth logs in: Vault's IAM login signed with
// the app's credentials — its irsaServiceAccount's role, or the keys of its
// secretRef — never the pod's own unless the operator allows it. The
// credentials are fetched when the login is sent, after the Vault address
// was checked against the allow-list.
func awsLogin(ctx context.Context, p *Plan, src credentials.Source, set AWSSettings) (vault.Auth, *FieldError) {
	pa := p.Auth
	ap, ferr := resolveAWS(pa, set)
	if ferr != nil {
		return vault.Auth{}, ferr
	}
	l := vault.AWSLogin{Mount: pa.Mount, Role: pa.Role, Region: ap.region, STSEndpoint: ap.endpoint, HeaderValue: ap.headerValue}
	var subject, secret string
	switch {
	case pa.SecretRef != nil && pa.ServiceAccount != "":
		return vault.Auth{}, authErr(pa.Name, "keep one of them", errors.New("spec.aws.secretRef and spec.aws.irsaServiceAccount are both set"))
	case pa.SecretRef != nil:
		ref := *pa.SecretRef
		read := func(key string) (string, error) {
			b, err := src.SecretValue(ctx, ref.Namespace, ref.Name, key)
			return strings.TrimSpace(string(b)), err
		}
		id, err := read(AWSAccessKeyIDKey)
		if err != nil {
			return vault.Auth{}, authErr(pa.Name, "", fmt.Errorf("spec.aws.secretRef: %w", err))
		}
		key, err := read(AWSSecretAccessKeyKey)
		if err != nil {
			return vault.Auth{}, authErr(pa.Name, "", fmt.Errorf("spec.aws.secretRef: %w", err))
		}
		token, _ := read(AWSSessionTokenKey) // optional, as in VSO
		creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: token, Source: "secretRef"}
		l.Credentials = func(context.Context) (aws.Credentials, error) { return creds, nil }
		secret = id + "\x00" + key + "\x00" + token
	case pa.ServiceAccount != "":
		if err := src.CanMintTokens(); err != nil {
			return vault.Auth{}, authErr(pa.Name, ServiceAccountHint, fmt.Errorf("spec.aws.irsaServiceAccount: %w", err))
		}
		sar, ok := src.(credentials.ServiceAccountReader)
		if !ok {
			return vault.Auth{}, authErr(pa.Name, ServiceAccountHint, fmt.Errorf("spec.aws.irsaServiceAccount: %w", credentials.ErrNeedsCluster))
		}
		ns, sa := p.Consumer, pa.ServiceAccount
		l.Credentials = webIdentity(src, sar, ns, sa, ap)
		subject = names.Qualified(ns, sa)
	default:
		if !set.AllowPodIdentity {
			return vault.Auth{}, authErr(pa.Name, PodIdentityHint,
				errors.New("spec.aws names no credentials (secretRef or irsaServiceAccount), and the pod's own AWS identity is not used: every app shares it (the operator allows it with "+EnvAWSAllowPodIdentity+"=true)"))
		}
		l.Credentials = podIdentity(ap.region)
		subject = "aws-pod-identity"
	}
	a := vault.AWSAuth(l)
	a.Subject, a.Secret = subject, secret
	return a, nil
}

// stepErr is a failed step of an aws login, secret-free.
func stepErr(hint, format string, args ...any) error {
	return &vault.CredentialError{Err: fmt.Errorf(format, args...), Hint: hint}
}

// webIdentity is IRSA, as EKS's pod identity webhook and VSO do it: a
// TokenRequest for the service account (audience sts.amazonaws.com unless
// annotated), exchanged with sts:AssumeRoleWithWebIdentity for the role
// of its eks.amazonaws.com/role-arn annotation.
func webIdentity(src credentials.Source, sar credentials.ServiceAccountReader, ns, sa string, ap awsPlan) vault.AWSCredentials {
	return func(ctx context.Context) (aws.Credentials, error) {
		who := names.Qualified(ns, sa)
		ann, err := accountAnnotations(ctx, sar, "aws", ns, sa, AWSRoleAnnotation, "<the IAM role's ARN>")
		if err != nil {
			return aws.Credentials{}, err
		}
		role := ann[AWSRoleAnnotation]
		aud := AWSDefaultAudience
		if v := ann[AWSAudienceAnnotation]; v != "" {
			aud = v
		}
		exp := int64(86400)
		if v := ann[AWSTokenExpirationAnnotation]; v != "" {
			if exp, err = strconv.ParseInt(v, 10, 64); err != nil {
				return aws.Credentials{}, stepErr("", "aws: service account %s: annotation %s: %w", who, AWSTokenExpirationAnnotation, err)
			}
		}
		token, err := src.ServiceAccountToken(ctx, ns, sa, []string{aud}, exp)
		if err != nil {
			return aws.Credentials{}, stepErr("the sidecar or companion needs create serviceaccounts/token in the app's namespace",
				"aws: token request for service account %s (audience %s): %w", who, aud, err)
		}
		o := sts.Options{Region: ap.region, Credentials: aws.AnonymousCredentials{}, Retryer: aws.NopRetryer{}}
		if ap.endpoint != "" {
			o.BaseEndpoint = aws.String(ap.endpoint)
		}
		out, err := sts.New(o).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String(role), RoleSessionName: aws.String(ap.session), WebIdentityToken: aws.String(token),
		})
		if err != nil {
			return aws.Credentials{}, stepErr("the IAM role's trust policy must name the cluster's OIDC provider and system:serviceaccount:"+ns+":"+sa,
				"aws: STS exchange (AssumeRoleWithWebIdentity of %s for role %s at %s): %w", who, role, stsName(ap), err)
		}
		c := out.Credentials
		if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil {
			return aws.Credentials{}, stepErr("", "aws: STS exchange for role %s at %s: no credentials in the answer", role, stsName(ap))
		}
		return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey,
			SessionToken: aws.ToString(c.SessionToken), Source: "irsa"}, nil
	}
}

// accountAnnotations is the first step of a cloud login as the app's
// service account ns/sa (aws IRSA, gcp Workload Identity): its annotations,
// of which key, naming its cloud identity (what), must be set.
func accountAnnotations(ctx context.Context, sar credentials.ServiceAccountReader, cloud, ns, sa, key, what string) (map[string]string, error) {
	who := names.Qualified(ns, sa)
	ann, err := sar.ServiceAccountAnnotations(ctx, ns, sa)
	if err != nil {
		return nil, stepErr("create the service account in the app's namespace", "%s: reading service account %s: %w", cloud, who, err)
	}
	if ann[key] == "" {
		return nil, stepErr("annotate the service account with "+key+": "+what, "%s: service account %s has no %s annotation", cloud, who, key)
	}
	return ann, nil
}

// podIdentity is the pod's own AWS identity (the SDK's default chain).
func podIdentity(region string) vault.AWSCredentials {
	return func(ctx context.Context) (aws.Credentials, error) {
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
		if err != nil {
			return aws.Credentials{}, stepErr("", "aws: loading the pod's own AWS configuration: %w", err)
		}
		c, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return aws.Credentials{}, stepErr("", "aws: the pod's own AWS credentials: %w", err)
		}
		return c, nil
	}
}

func stsName(ap awsPlan) string {
	if ap.endpoint != "" {
		return ap.endpoint
	}
	return "sts." + ap.region + ".amazonaws.com"
}
