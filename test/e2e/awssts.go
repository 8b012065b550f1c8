package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// FakeSTS stands in for AWS STS on 127.0.0.1, as strict as AWS where the
// tests need it: AssumeRoleWithWebIdentity checks the web-identity token
// with the real kube-apiserver (TokenReview: signature, expiry, audience
// sts.amazonaws.com) and the role's trust (the one service account it
// names); GetCallerIdentity verifies the SigV4 signature (recomputed with
// the AWS SDK's signer) with the keys it issued or was given.
type FakeSTS struct {
	URL     string
	Account string
	srv     *httptest.Server
	kube    kubernetes.Interface

	mu    sync.Mutex
	roles map[string]string      // role ARN -> the only subject it trusts
	keys  map[string]stsKey      // access key id -> secret and identity
	calls map[string]int         // action -> calls
	last  map[string]http.Header // action -> last headers
}

type stsKey struct {
	secret, session, arn string
}

// StartFakeSTS starts the stand-in; kube reviews the web-identity tokens.
func StartFakeSTS(kube kubernetes.Interface) *FakeSTS {
	f := &FakeSTS{Account: "123456789012", kube: kube, roles: map[string]string{}, keys: map[string]stsKey{},
		calls: map[string]int{}, last: map[string]http.Header{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	return f
}

// Close stops the stand-in.
func (f *FakeSTS) Close() { f.srv.Close() }

// RoleARN is the ARN of IAM role name in the stand-in's account.
func (f *FakeSTS) RoleARN(name string) string {
	return "arn:aws:iam::" + f.Account + ":role/" + name
}

// TrustRole makes role name assumable by service account ns/sa only.
func (f *FakeSTS) TrustRole(name, ns, sa string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[f.RoleARN(name)] = "system:serviceaccount:" + ns + ":" + sa
}

// AddUser gives IAM user name static keys, returned.
func (f *FakeSTS) AddUser(name string) (id, secret string) {
	id, secret = "AKIA"+randHex(8), randHex(20)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[id] = stsKey{secret: secret, arn: "arn:aws:iam::" + f.Account + ":user/" + name}
	return id, secret
}

// Calls is how many requests of action the stand-in answered.
func (f *FakeSTS) Calls(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[action]
}

// LastHeaders are the headers of the last request of action.
func (f *FakeSTS) LastHeaders(action string) http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[action]
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

func (f *FakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		stsError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		stsError(w, http.StatusBadRequest, "InvalidRequest", "a POST of a form is expected")
		return
	}
	action := form.Get("Action")
	f.mu.Lock()
	f.calls[action]++
	f.last[action] = r.Header.Clone()
	f.mu.Unlock()
	switch action {
	case "AssumeRoleWithWebIdentity":
		f.assumeRole(w, r.Context(), form)
	case "GetCallerIdentity":
		f.callerIdentity(w, r, body)
	default:
		stsError(w, http.StatusBadRequest, "InvalidAction", "unknown action "+action)
	}
}

func (f *FakeSTS) assumeRole(w http.ResponseWriter, ctx context.Context, form url.Values) {
	role, token, session := form.Get("RoleArn"), form.Get("WebIdentityToken"), form.Get("RoleSessionName")
	f.mu.Lock()
	subject, known := f.roles[role]
	f.mu.Unlock()
	if !known {
		stsError(w, http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
		return
	}
	tr, err := f.kube.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{"sts.amazonaws.com"}},
	}, metav1.CreateOptions{})
	if err != nil {
		stsError(w, http.StatusServiceUnavailable, "IDPCommunicationError", "TokenReview failed")
		return
	}
	st := tr.Status
	if !st.Authenticated || !slices.Contains(st.Audiences, "sts.amazonaws.com") {
		stsError(w, http.StatusBadRequest, "InvalidIdentityToken", "the web identity token is not valid for audience sts.amazonaws.com")
		return
	}
	if st.User.Username != subject {
		stsError(w, http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
		return
	}
	id, secret, tok := "ASIA"+randHex(8), randHex(20), randHex(32)
	name := role[strings.LastIndex(role, "/")+1:]
	arn := "arn:aws:sts::" + f.Account + ":assumed-role/" + name + "/" + session
	f.mu.Lock()
	f.keys[id] = stsKey{secret: secret, session: tok, arn: arn}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<AssumeRoleWithWebIdentityResult>
<SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken>
<Audience>sts.amazonaws.com</Audience>
<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA%s:%s</AssumedRoleId></AssumedRoleUser>
<Credentials><SessionToken>%s</SessionToken><SecretAccessKey>%s</SecretAccessKey><Expiration>%s</Expiration><AccessKeyId>%s</AccessKeyId></Credentials>
<Provider>kubernetes</Provider>
</AssumeRoleWithWebIdentityResult>
<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, xmlEsc(subject), xmlEsc(arn), randHex(8), xmlEsc(session), tok, secret,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339), id, randHex(8))
}

// callerIdentity verifies the request's SigV4 signature as AWS would and
// says who signed it.
func (f *FakeSTS) callerIdentity(w http.ResponseWriter, r *http.Request, body []byte) {
	auth := r.Header.Get("Authorization")
	fields := map[string]string{}
	for p := range strings.SplitSeq(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			fields[k] = v
		}
	}
	scope := strings.Split(fields["Credential"], "/")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || len(scope) != 5 || scope[3] != "sts" {
		stsError(w, http.StatusForbidden, "IncompleteSignature", "no SigV4 signature")
		return
	}
	f.mu.Lock()
	key, ok := f.keys[scope[0]]
	f.mu.Unlock()
	if !ok {
		stsError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	if key.session != r.Header.Get("X-Amz-Security-Token") {
		stsError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || time.Since(when).Abs() > 5*time.Minute {
		stsError(w, http.StatusForbidden, "SignatureDoesNotMatch", "Signature expired or X-Amz-Date missing")
		return
	}
	// Re-sign the same signed headers with the key, with the SDK's signer,
	// the path normalized as AWS does for SigV4 (Vault forwards "//").
	u := *r.URL
	u.Scheme, u.Host, u.Path, u.RawPath = "http", r.Host, path.Clean("/"+u.Path), ""
	re, _ := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	re.Host = r.Host
	signed := strings.Split(fields["SignedHeaders"], ";")
	re.Header = http.Header{}
	for _, h := range signed {
		if h != "host" && h != "content-length" {
			re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if slices.Contains(signed, "content-length") {
		re.ContentLength = int64(len(body))
	} else {
		re.ContentLength = 0
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: key.secret, SessionToken: key.session}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, re, hex.EncodeToString(sum[:]), "sts", scope[2], when); err != nil {
		stsError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	if re.Header.Get("Authorization") != auth {
		if os.Getenv("FAKESTS_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "FAKESTS host=%q uri=%q cl=%d body=%q\nheaders=%v\ngot=%s\nwant=%s\n", r.Host, r.URL.RequestURI(), r.ContentLength, body, r.Header, auth, re.Header.Get("Authorization"))
		}
		stsError(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	w.Header().Set("Content-Type", "text/xml") // as AWS; Vault requires it
	fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDA%s</UserId><Account>%s</Account></GetCallerIdentityResult>
<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`, xmlEsc(key.arn), randHex(8), f.Account, randHex(8))
}

func stsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		code, xmlEsc(msg), randHex(8))
}

func xmlEsc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
