// Package sidecar is vaultcmp's Argo CD sidecar: the image and the install
// manifests. It has no Go API; its tests check the manifests.
//
// # Files
//
//   - Dockerfile: the image (build context: the repository root), vaultcmp
//     at /usr/local/bin/vaultcmp, plugin.yaml at
//     /home/argocd/cmp-server/config/plugin.yaml, user 999.
//   - kustomize/: a kustomize Component that adds the sidecar to
//     argocd-repo-server, the plugin's ConfigMap, the health check of
//     carriers, the RBAC, and the companion (companion.yaml: Deployment,
//     least-privilege RBAC, metrics Service); kustomize/monitoring/ adds a
//     ServiceMonitor; kustomize/app-namespace/ grants
//     reading named Secrets in one app namespace; kustomize/example/ installs
//     Argo CD v3.6.2 with the component.
//   - helm/values.yaml: the same for the argo-cd Helm chart.
//   - health.lua: Argo CD's health check of vaultcmp's carriers: Progressing,
//     Healthy or Degraded from the companion's status annotations
//     (argocd-cm key resource.customizations.health.Secret).
//
// docs/install.md walks through an install.
//
// # Copies
//
// kustomize/plugin.yaml and kustomize/health.lua are copies (kustomize loads
// files only from inside the component); helm/values.yaml repeats the plugin
// spec and the health check. The tests fail when a copy drifts; refresh the
// file copies with
//
//	go generate ./sidecar
package sidecar

//go:generate cp ../plugin.yaml kustomize/plugin.yaml
//go:generate cp health.lua kustomize/health.lua
