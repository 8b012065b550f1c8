// Package identity resolves a Vault object's vaultAuthRef to the identity
// it logs in as, in two steps that both consumers (the renderer for render
// and generate, the companion) go through:
//
//   - [Resolve] is pure: it checks tenancy ([CheckTenant]), follows
//     vaultAuthRef → VaultAuth → VaultConnection as VSO does ("default"
//     objects for empty refs, allowedNamespaces), checks what vaultcmp
//     refuses (files a manifest names, unsupported methods, a missing
//     address) and yields a [Plan]: the identity by names, no credential.
//     Every refusal is a [*FieldError]: the consumer's field, the cause, a
//     hint.
//   - [Fetch] is the only I/O: it reads what a Plan names through a
//     credentials.Source (the CA of caCertSecretRef, an appRole or jwt
//     secretRef) and promises a service-account token that vault.JWTAuth
//     mints at login; it yields a vault.Identity.
//
// The companion's contract carries a Plan by names: [Plan.Contract] writes
// it (generate), [FromContract] reads it back (the companion), and the
// companion then calls the same Fetch.
//
// Why a package of its own: vault is the wire to Vault and knows nothing of
// manifests (it would have to import api/v1beta1 and credentials);
// credentials imports nothing of vaultcmp so that kube can implement it
// cheaply; the renderer imports Helm and kustomize, which the companion
// must not. identity imports api/v1beta1, contract, credentials and vault,
// and no consumer.
package identity
