package kube

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// An aws irsaServiceAccount's annotations are read in the namespace asked;
// a refusal names the RBAC the sidecar lacks.
func TestServiceAccountAnnotations(t *testing.T) {
	ann := map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}
	cs := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "sa", Annotations: ann}})
	c := &Credentials{Client: cs}
	got, err := c.ServiceAccountAnnotations(t.Context(), "app", "sa")
	require.NoError(t, err)
	assert.Equal(t, ann, got)

	_, err = c.ServiceAccountAnnotations(t.Context(), "other", "sa")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ServiceAccount other/sa not found")

	cs.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "sa", errors.New("no"))
	})
	_, err = c.ServiceAccountAnnotations(t.Context(), "app", "sa")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `cannot get serviceaccounts in namespace "app" (RBAC: verbs [get] on resource "serviceaccounts")`)
}
