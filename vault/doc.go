// Package vault is vaultcmp's only door to HashiCorp Vault.
//
// Callers describe what they need in domain terms (a [KVRequest] made under an
// [Identity]) and a [Session] turns that into HTTP calls through
// github.com/hashicorp/vault/api:
//
//   - one login per distinct identity (address, Vault namespace, auth mount,
//     method, role, credentials), shared by every read made under it;
//   - identical reads are made once and their result is shared;
//   - reads run concurrently, at most [Options.Concurrency] at a time.
//
// Logins are values of [Auth]: [TokenAuth], [AppRoleAuth], and [JWTAuth] /
// [JWTTokenAuth] for Vault's jwt and kubernetes methods (a service-account
// token is asked of a [JWTSource] only when the login is sent). The
// renderer and the companion build their identities from these; neither
// imports vault/api.
//
// A long-lived process (the companion) uses a [Lifecycle] instead: dynamic
// secrets with their leases (renew, revoke), PKI certificates (issue,
// revoke) and uncached KV reads, with bounded client caching, Vault token
// renewal or re-login before expiry, the operator's [AllowList] checked
// before any credential is sent, and [Retryable] to tell a failure worth a
// retry from a final one.
//
// Every failure is an [*Error] that names the operation, the Vault path, the
// HTTP status and a [Reason] with a hint for the user. No secret value (token,
// secret-id, secret data) ever appears in an error or a log line.
//
// # Example
//
//	s := vault.NewSession(vault.Options{Concurrency: 16})
//	id := &vault.Identity{Connection: vault.Connection{Address: "http://127.0.0.1:8200"}, Auth: vault.TokenAuth(token)}
//	sec, err := s.ReadKV(ctx, vault.KVRequest{Identity: id, Mount: "secret", Path: "webapp/config", V2: true})
//
// and in the companion:
//
//	allow, _ := vault.ParseAllowList(os.Getenv(vault.EnvAllowedVaultAddresses))
//	l := vault.NewLifecycle(vault.LifecycleOptions{AllowList: allow})
//	creds, err := l.ReadDynamic(ctx, vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/webapp-readonly"})
//	lease, err := l.RenewLease(ctx, id, creds.Lease.ID, creds.Lease.Duration) // lease.Duration < increment: max TTL reached
package vault
