// Package renderer turns an app's manifests into what Argo CD applies.
//
// # Steps
//
// Render runs named steps; each fills a typed result that only later steps
// read, so the data flows one way:
//
//	Load (plain directory, kustomization or Helm chart)          → []*Object
//	decodeStep: Vault objects decoded strictly (api/v1beta1),
//	  indexed; duplicates, two objects → one Secret               → decoded
//	resolveStep (pure): tenancy; vaultAuthRef → VaultAuth →
//	  VaultConnection → an identity.Plan (identity.Resolve:
//	  allowedNamespaces, field paths); SecretTransformation refs;
//	  template check                                              → resolved
//	identityStep (identity.Fetch, I/O through credentials.Source):
//	  CA and secretRefs read; service-account tokens minted at
//	  login                                                       → vault.Identity per job
//	contractStep (pure): the companion's contract per carrier,
//	  its identity written by identity.Plan.Contract              → contract.V1
//	fetchStep: Vault through a vault.Reader (one login per
//	  identity, identical reads once)                              → vault.KVSecret per job
//	transformStep, on the same worker as soon as the read is in
//	  (fetchTransformStep): transform.Build (package transform,
//	  VSO's rules; offline, placeholders for transform.TemplateKeys) → Secret data per job
//	emitStep: each VaultStaticSecret becomes its Secret;
//	  VaultDynamicSecret, VaultPKISecret and in-cluster
//	  VaultStaticSecrets become carriers of the companion's
//	  contract (package contract), as do inline VaultStaticSecrets
//	  with refreshAfter (next to their Secret);
//	  VaultConnection/VaultAuth/SecretTransformation disappear,
//	  everything else passes through; rollout targets get a
//	  checksum annotation (contract.DataHMAC)                     → Result
//
// The renderer has no network code of its own and does not import
// vault/api: logins are vault.JWTAuth, vault.AppRoleAuth, vault.TokenAuth.
// It fails closed: any problem anywhere returns [Problems] and no output at
// all.
//
// # Example
//
//	objs, _ := renderer.Load("examples/webapp")
//	res, err := renderer.Render(ctx, objs, renderer.Options{Vault: session, HMACKey: key})
//	if err != nil { /* err lists every problem */ }
//	_ = res.WriteYAML(os.Stdout)
package renderer
