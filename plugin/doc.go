// Package plugin is vaultcmp's command line (cobra; NewCommand builds the
// tree). Its commands:
//
//   - render [DIR]: an app's manifests with Secrets from Vault, to stdout
//     (render.go; --offline: placeholders, no Vault, no credentials).
//   - generate: Argo CD's generate, run by the cmp-server in the app's
//     directory with Argo CD's environment (generate.go, source.go).
//   - discover [DIR]: the files of an app that hold secrets.hashicorp.com
//     resources, Argo CD's discover (discover.go).
//   - validate [DIR]: an app's Vault resources checked without Vault
//     (validate.go; -o json).
//   - version: vaultcmp's version (version.go).
//   - companion: the in-cluster companion, a long-lived controller that fills
//     and renews the Secrets generate leaves to it (companion.go; package
//     companion does the work).
//   - template-build (hidden, not for people): the companion's child process
//     for one template build, a job on stdin and its result on stdout
//     (templatebuild.go).
//
// This package owns the process: flags and VAULTCMP_* variables (limits.go
// and each command), logging (zerolog on stderr, log.go), the installation's
// HMAC key (hmackey.go), signals, the memory watchdog and profiles.
//
// Standard output carries only YAML (what Argo CD applies) or a command's
// result; logs, warnings and errors go to standard error. Exit codes: 0
// success, 1 the input cannot be rendered (every problem is listed), 2 bad
// usage.
//
// # Example
//
//	VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root vaultcmp render examples/webapp
package plugin
