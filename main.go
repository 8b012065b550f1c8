// Command vaultcmp renders Vault Secrets Operator resources into Kubernetes
// Secrets: as an Argo CD config-management plugin (generate) and in CI
// (render). See README.md.
package main

import "github.com/vaultcmp/vaultcmp/plugin"

func main() { plugin.Main() }
