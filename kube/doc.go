// Package kube gives vaultcmp what only the cluster knows: service-account
// tokens (TokenRequest) for Vault's kubernetes and jwt auth, and keys of
// Kubernetes Secrets (caCertSecretRef, appRole and jwt secretRef). It
// implements credentials.Source over client-go, with in-cluster config in
// the Argo CD sidecar and KUBECONFIG / ~/.kube/config elsewhere.
//
// Permission errors name the missing permission, e.g.
//
//	the sidecar's service account cannot create serviceaccounts/token in
//	namespace "webapp-ns" (RBAC: verbs [create] on resource "serviceaccounts/token")
package kube
