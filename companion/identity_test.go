package companion

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vaultcmp/vaultcmp/contract"
)

// The companion's credentials: the carrier's namespace only, a fresh
// TokenRequest of at least 600 s per login, and an identity that is the
// service account (its subject), not the token.
func TestIdentityFromContract(t *testing.T) {
	cs := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "approle", Namespace: "app"},
		Data:       map[string][]byte{"id": []byte("s3cr3t\n")},
	})
	var asked []string
	var seconds []int64
	cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateActionImpl)
		tr := ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		asked = append(asked, ca.GetNamespace()+"/"+ca.Name)
		seconds = append(seconds, *tr.Spec.ExpirationSeconds)
		tr.Status.Token = "jwt"
		return true, tr, nil
	})
	cr := nsCredentials{kube: cs}
	conn := contract.Connection{Address: "http://vault.test:8200", Timeout: "7s"}

	id, err := cr.identity(t.Context(), "app", &contract.V1{Connection: conn, Auth: &contract.Auth{
		Method: "kubernetes", Mount: "k8s", Role: "r", ServiceAccount: "sa", Audiences: []string{"vault"}, TokenSeconds: 60,
	}})
	require.NoError(t, err)
	assert.Equal(t, "kubernetes", id.Auth.Method)
	assert.Equal(t, "app/sa", id.Auth.Subject)
	assert.Equal(t, []string{"vault"}, id.Auth.Audiences)
	assert.Empty(t, id.Auth.Secret)
	assert.Equal(t, "7s", id.Connection.Timeout.String())
	assert.Empty(t, asked, "no token before the login")

	tok, err := cr.ServiceAccountToken(t.Context(), "app", "sa", nil, 60)
	require.NoError(t, err)
	assert.Equal(t, "jwt", tok)
	assert.Equal(t, []string{"app/sa"}, asked)
	assert.Equal(t, []int64{600}, seconds, "at least 600 s")

	id, err = cr.identity(t.Context(), "app", &contract.V1{Connection: conn, Auth: &contract.Auth{
		Method: "appRole", Mount: "approle", Role: "role-id", SecretRef: &contract.SecretKeyRef{Name: "approle", Key: "id"},
	}})
	require.NoError(t, err)
	assert.Equal(t, "s3cr3t", id.Auth.Secret)

	_, err = cr.identity(t.Context(), "other", &contract.V1{Connection: conn, Auth: &contract.Auth{
		Method: "appRole", Mount: "approle", Role: "role-id", SecretRef: &contract.SecretKeyRef{Name: "approle", Key: "id"},
	}})
	require.ErrorContains(t, err, "VaultAuth: spec.appRole.secretRef: reading Secret other/approle")

	_, err = cr.identity(t.Context(), "app", &contract.V1{Connection: conn})
	require.ErrorIs(t, err, ErrNoAuth)
}
