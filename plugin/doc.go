// Package plugin is vaultcmp's command line: render, generate, version.
//
// Standard output carries only YAML (what Argo CD applies); logs, warnings and
// errors go to standard error. Exit codes: 0 success, 1 the input cannot be
// rendered (every problem is listed), 2 bad usage.
//
// # Example
//
//	VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root vaultcmp render examples/webapp
package plugin
