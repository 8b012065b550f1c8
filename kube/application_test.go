package kube

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

func application(ns, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec":     spec,
	}}
}

func TestApplication(t *testing.T) {
	hydrated := application("argocd", "hydrated", map[string]any{"sourceHydrator": map[string]any{
		"drySource":  map[string]any{"repoURL": "file:///repo.git", "path": "webapp", "targetRevision": "HEAD"},
		"syncSource": map[string]any{"targetBranch": "environments/dev", "path": "webapp"},
	}})
	plain := application("argocd", "plain", map[string]any{"source": map[string]any{"repoURL": "file:///repo.git", "path": "webapp"}})
	elsewhere := application("team-a", "hydrated", map[string]any{})
	scheme := runtime.NewScheme()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{ApplicationResource: "ApplicationList"}, hydrated, plain, elsewhere)
	client.PrependReactor("get", "applications", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "locked" {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "argoproj.io", Resource: "applications"}, "x", nil)
		}
		return false, nil, nil
	})
	c := &Credentials{Apps: client}
	ctx := context.Background()

	for _, tc := range []struct {
		ns, name        string
		found, hydrator bool
		err             string
	}{
		{ns: "argocd", name: "hydrated", found: true, hydrator: true},
		{ns: "argocd", name: "plain", found: true},
		{ns: "team-a", name: "hydrated", found: true}, // the namespace counts
		{ns: "argocd", name: "missing"},
		{ns: "locked", name: "x", err: `the sidecar's service account cannot get applications.argoproj.io in namespace "locked" (RBAC: verbs [get]`},
	} {
		app, found, err := c.Application(ctx, tc.ns, tc.name)
		if tc.err != "" {
			require.Error(t, err, tc.ns)
			assert.Contains(t, err.Error(), tc.err)
			assert.True(t, apierrors.IsForbidden(err), "wrapped: %v", err)
			continue
		}
		require.NoError(t, err, "%s/%s", tc.ns, tc.name)
		assert.Equal(t, tc.found, found, "%s/%s", tc.ns, tc.name)
		assert.Equal(t, tc.hydrator, app.SourceHydrator, "%s/%s", tc.ns, tc.name)
	}

	_, _, err := (&Credentials{}).Application(ctx, "argocd", "plain")
	assert.ErrorIs(t, err, ErrNoApplicationClient)
}

func TestApplicationOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec map[string]any
		want bool
	}{
		{"source", map[string]any{"source": map[string]any{}}, false},
		{"sourceHydrator", map[string]any{"sourceHydrator": map[string]any{"drySource": map[string]any{}}}, true},
		{"empty sourceHydrator", map[string]any{"sourceHydrator": map[string]any{}}, true},
		{"null sourceHydrator", map[string]any{"sourceHydrator": nil}, false},
		{"no spec", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := application("argocd", "a", tc.spec)
			if tc.spec == nil {
				delete(u.Object, "spec")
			}
			assert.Equal(t, tc.want, applicationOf(u).SourceHydrator)
		})
	}
}
