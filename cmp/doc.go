// Package cmp is Argo CD's side of the contract: what the repo-server's
// cmp-server gives `vaultcmp generate` (the build environment, the app's
// parameters). It imports nothing of vaultcmp: how an app is recognised
// (discover, source types) is the renderer's (renderer.Detect, Loader.Discover).
//
// # Build environment
//
// Argo CD runs generate in the app's directory with ARGOCD_APP_NAME,
// ARGOCD_APP_NAMESPACE (the destination namespace), ARGOCD_APP_PROJECT_NAME
// (Argo CD 3), ARGOCD_APP_REVISION, ARGOCD_APP_SOURCE_*, KUBE_VERSION,
// KUBE_API_VERSIONS, ARGOCD_ENV_<name> (spec.source.plugin.env) and the
// parameters as ARGOCD_APP_PARAMETERS (JSON) and PARAM_<NAME>.
//
//	env, err := cmp.FromEnviron(os.LookupEnv)
//	params := env.Params // delivery, helm-release-name, helm-values-files, helm-parameters
package cmp
