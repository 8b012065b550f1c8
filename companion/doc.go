// Package companion is the in-cluster controller behind `vaultcmp companion`:
// it fills the Secrets that `vaultcmp generate` leaves to it and keeps them
// fresh, from the carriers generate emits (package contract).
//
// # What it does per carrier
//
//   - VaultDynamicSecret: reads the credentials, writes the destination
//     Secret, renews the lease at renewalPercent with VSO's jitter, issues
//     new credentials when Vault truncates a renewal or it fails, revokes
//     the lease when the carrier is deleted (a finalizer; Argo CD's prune
//     waits for it).
//   - VaultPKISecret: issues, re-issues at expiration − expiryOffset,
//     revokes the previous serial (revoke: true), revokes on delete.
//   - VaultStaticSecret in-cluster: reads KV every refreshAfter and rewrites
//     the Secret only when its data changed.
//   - VaultStaticSecret inline with refreshAfter: never writes; when the KV
//     version (or keyed HMAC) differs from the carrier's, annotates the
//     owning Argo CD Application with argocd.argoproj.io/refresh: hard.
//
// Every schedule is kept on the carrier (annotation vaultcmp.io/state), so a
// restart or a leader change resumes it and issues nothing new; rollout
// restarts are decided from a recorded change id, never from a (re)start.
//
// # Shared with generate
//
// The companion does not import the renderer. It shares with it what must
// give the same result: the contract (package contract, and
// contract.DataHMAC for kv-v1 state), the identity (identity.FromContract
// reads the contract's plan, identity.Fetch fetches it through the
// carrier's namespace, as generate's identityStep does), the logins
// (vault.JWTAuth, vault.AppRoleAuth) and the data (transform.Build), so one
// object gives one Secret whichever consumer builds it.
//
// # Boundaries
//
// Logins happen only as service accounts of the carrier's namespace
// (TokenRequest) or with secretRefs of that namespace, and only towards
// Vault addresses on the operator's allow-list (vault.AllowList). No secret
// value appears in logs, Events, annotations or metrics. A carrier's
// templates run in a child process (TemplateRunner: the same binary's
// hidden template-build command), killed at the time limit and above its
// memory, at most --template-builds at once: a template is attacker-written,
// and the companion serves every tenant for months.
// value appears in logs, Events, annotations or metrics. A destination that
// belongs to something else (another owner, another Argo CD app, a
// service-account token, a carrier) is never written (decideDestination).
// Only Secrets of the carrier type are cached, without data (carrierCache);
// /metrics is HTTPS behind the apiserver's TokenReview and
// SubjectAccessReview (metricsOptions).
package companion
