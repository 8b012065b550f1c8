// Package credentials is the seam between a render and what only a cluster
// (or the person running render) can give: keys of Kubernetes Secrets that
// manifests name (caCertSecretRef, appRole and jwt secretRef) and
// service-account tokens for Vault's kubernetes and jwt auth.
//
// [Source] is the interface; [Env] is render's implementation (Secret keys
// from VAULTCMP_SECRET_<NAME>_<KEY>, no service-account tokens), and
// kube.Credentials is generate's (client-go: TokenRequest, Secret reads);
// the companion has its own, bound to a carrier's namespace. identity.Fetch
// is the one caller that asks a Source for what a manifest names.
// The package imports nothing of vaultcmp, so kube implements Source without
// importing the renderer (and with it Helm and kustomize).
package credentials
