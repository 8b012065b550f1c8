package cmp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromEnvironList(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    *BuildEnv
		wantErr string
	}{
		{
			name: "Argo CD 2.14 environment",
			env: []string{
				"ARGOCD_APP_NAME=webapp", "ARGOCD_APP_NAMESPACE=webapp-ns", "ARGOCD_APP_REVISION=abc",
				"ARGOCD_APP_SOURCE_REPO_URL=https://git/x", "ARGOCD_APP_SOURCE_PATH=apps/webapp",
				"KUBE_VERSION=1.37.2", "KUBE_API_VERSIONS=v1,apps/v1", "ARGOCD_ENV_TEAM=web",
				`ARGOCD_APP_PARAMETERS=[{"name":"delivery","string":"in-cluster"},{"name":"helm-values-files","array":["a.yaml","b.yaml"]},{"name":"helm-parameters","map":{"k":"v"}},{"name":"helm-release-name","string":"r"}]`,
			},
			want: &BuildEnv{
				AppName: "webapp", Namespace: "webapp-ns", Revision: "abc", SourceRepoURL: "https://git/x", SourcePath: "apps/webapp",
				KubeVersion: "1.37.2", APIVersions: []string{"v1", "apps/v1"}, Env: map[string]string{"TEAM": "web"},
				Params: Params{Delivery: "in-cluster", HelmReleaseName: "r", HelmValuesFiles: []string{"a.yaml", "b.yaml"}, HelmParameters: map[string]string{"k": "v"}},
			},
		},
		{name: "Argo CD 3 project", env: []string{"ARGOCD_APP_PROJECT_NAME=team-a"}, want: &BuildEnv{Project: "team-a", Env: map[string]string{}}},
		{name: "unknown parameter", env: []string{`ARGOCD_APP_PARAMETERS=[{"name":"delivry","string":"inline"}]`}, wantErr: `unknown plugin parameter "delivry"`},
		{name: "bad delivery", env: []string{`ARGOCD_APP_PARAMETERS=[{"name":"delivery","string":"sometimes"}]`}, wantErr: "not in-cluster (the default) or inline"},
		{name: "string parameter given as array", env: []string{`ARGOCD_APP_PARAMETERS=[{"name":"delivery","array":["x"]}]`}, wantErr: "must be a string"},
		{name: "bad JSON", env: []string{`ARGOCD_APP_PARAMETERS=[`}, wantErr: "ARGOCD_APP_PARAMETERS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromEnvironList(tc.env)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
