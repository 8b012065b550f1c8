// Package limits holds the bounds of one vaultcmp run: how much a
// repository may make vaultcmp read, decode, compute, receive from Vault and
// print, and for how long.
//
// A repository is written by any app team, careless or hostile; the sidecar
// that renders it holds every team's Vault tokens. Every limit has a default
// that fits a sidecar with a 512 MiB–1 GiB memory limit, a command-line flag
// and an environment variable (generate runs under Argo CD's cmp-server and
// takes its settings from the sidecar's environment), and every refusal is an
// *Error that names the limit and how to raise it:
//
//	lim := limits.Default()
//	if int64(len(b)) > lim.FileSize {
//		return limits.Exceeded(limits.FileSize, "file a.yaml")
//	}
//	// a.yaml: file a.yaml is larger than the limit of 8MiB for one input file
//	// (raise it with --max-file-size or VAULTCMP_MAX_FILE_SIZE)
//
// Specs lists every limit with its name, flag, variable and default; the
// README's table is checked against it.
package limits
