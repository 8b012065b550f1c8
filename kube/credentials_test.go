package kube

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// tokenReactor answers TokenRequests as the apiserver would, with a token
// that names what was asked, and records each request.
type tokenReactor struct {
	mu   sync.Mutex
	reqs []*authenticationv1.TokenRequest
	ns   []string
	sa   []string
}

func (r *tokenReactor) react(a k8stesting.Action) (bool, runtime.Object, error) {
	ca := a.(k8stesting.CreateActionImpl)
	if ca.GetSubresource() != "token" {
		return false, nil, nil
	}
	tr := ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
	r.mu.Lock()
	r.reqs = append(r.reqs, tr.DeepCopy())
	r.ns = append(r.ns, ca.GetNamespace())
	r.sa = append(r.sa, ca.Name)
	r.mu.Unlock()
	tr.Status.Token = "token-for-" + ca.GetNamespace() + "/" + ca.Name
	return true, tr, nil
}

func TestServiceAccountToken(t *testing.T) {
	cs := fake.NewClientset()
	r := &tokenReactor{}
	cs.PrependReactor("create", "serviceaccounts", r.react)
	c := &Credentials{Client: cs}
	ctx := t.Context()

	tok, err := c.ServiceAccountToken(ctx, "app", "webapp-sa", []string{"vault"}, 600)
	require.NoError(t, err)
	assert.Equal(t, "token-for-app/webapp-sa", tok)
	require.Len(t, r.reqs, 1)
	assert.Equal(t, "app", r.ns[0])
	assert.Equal(t, "webapp-sa", r.sa[0])
	assert.Equal(t, []string{"vault"}, r.reqs[0].Spec.Audiences)
	require.NotNil(t, r.reqs[0].Spec.ExpirationSeconds)
	assert.Equal(t, int64(600), *r.reqs[0].Spec.ExpirationSeconds)

	// The same account, audiences and expiry: no second TokenRequest, also
	// when asked concurrently.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			tok, err := c.ServiceAccountToken(ctx, "app", "webapp-sa", []string{"vault"}, 600)
			assert.NoError(t, err)
			assert.Equal(t, "token-for-app/webapp-sa", tok)
		})
	}
	wg.Wait()
	assert.Len(t, r.reqs, 1)

	// Anything else is another token.
	for _, ask := range []struct {
		ns, sa string
		aud    []string
		exp    int64
	}{
		{"app", "webapp-sa", []string{"other"}, 600},
		{"app", "webapp-sa", []string{"vault"}, 0},
		{"app", "other-sa", []string{"vault"}, 600},
		{"other", "webapp-sa", []string{"vault"}, 600},
	} {
		_, err := c.ServiceAccountToken(ctx, ask.ns, ask.sa, ask.aud, ask.exp)
		require.NoError(t, err)
	}
	require.Len(t, r.reqs, 5)
	assert.Nil(t, r.reqs[2].Spec.ExpirationSeconds, "expiry 0 leaves the apiserver's default")
	assert.Equal(t, "other", r.ns[4])
}

func TestSecretValue(t *testing.T) {
	cs := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "vault-approle-creds", Namespace: "app"},
		Data:       map[string][]byte{"secret-id": []byte("s3cr3t-id")},
	})
	c := &Credentials{Client: cs}
	v, err := c.SecretValue(t.Context(), "app", "vault-approle-creds", "secret-id")
	require.NoError(t, err)
	assert.Equal(t, []byte("s3cr3t-id"), v)

	_, err = c.SecretValue(t.Context(), "app", "vault-approle-creds", "id")
	require.EqualError(t, err, `Secret app/vault-approle-creds has no key "id"`)

	_, err = c.SecretValue(t.Context(), "other", "vault-approle-creds", "secret-id")
	require.Error(t, err)
	assert.True(t, apierrors.IsNotFound(err), "the API error is wrapped")
	assert.Contains(t, err.Error(), "Secret other/vault-approle-creds not found: create it in the app's namespace")
	assert.NotContains(t, err.Error(), "s3cr3t")
}

// API errors name what is missing: the RBAC rule for a refusal.
func TestExplain(t *testing.T) {
	gr := func(r string) schema.GroupResource { return schema.GroupResource{Resource: r} }
	tests := []struct {
		name     string
		apiErr   error
		token    bool // a TokenRequest, else a Secret read
		want     string
		classify func(error) bool
	}{
		{"secret forbidden", apierrors.NewForbidden(gr("secrets"), "ca", errors.New("no")), false,
			`the sidecar's service account cannot get secrets in namespace "app" (RBAC: verbs [get] on resource "secrets", resourceNames [ca])`, apierrors.IsForbidden},
		{"token forbidden", apierrors.NewForbidden(gr("serviceaccounts"), "webapp-sa", errors.New("no")), true,
			`the sidecar's service account cannot create serviceaccounts/token in namespace "app" (RBAC: verbs [create] on resource "serviceaccounts/token"):`, apierrors.IsForbidden},
		{"service account missing", apierrors.NewNotFound(gr("serviceaccounts"), "webapp-sa"), true,
			"ServiceAccount app/webapp-sa not found: create it in the app's namespace", apierrors.IsNotFound},
		{"credentials refused", apierrors.NewUnauthorized("expired"), false,
			"the cluster refused the sidecar's credentials", apierrors.IsUnauthorized},
		{"other", apierrors.NewServiceUnavailable("busy"), true,
			"create serviceaccounts/token for ServiceAccount app/webapp-sa", apierrors.IsServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			fail := func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.apiErr }
			cs.PrependReactor("create", "serviceaccounts", fail)
			cs.PrependReactor("get", "secrets", fail)
			c := &Credentials{Client: cs}
			var err error
			if tc.token {
				_, err = c.ServiceAccountToken(context.Background(), "app", "webapp-sa", nil, 0)
			} else {
				_, err = c.SecretValue(context.Background(), "app", "ca", "ca.crt")
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, tc.classify(err), "the API error is wrapped: %v", err)
		})
	}
}
