// Package contract is the versioned document that `vaultcmp generate` writes
// for the in-cluster companion and that `vaultcmp companion` reads.
//
// # The carrier
//
// For every object the companion owns (VaultDynamicSecret, VaultPKISecret, a
// VaultStaticSecret delivered in-cluster) and every inline VaultStaticSecret
// with refreshAfter, generate emits one small Secret of type
// [SecretType] (`vaultcmp.io/contract-v1`) without data, the carrier: it holds
// the contract as deterministic JSON in the annotation [AnnotationContract]
// (no secret value in it), and is
// labelled [LabelContract] so the companion can watch carriers only. The
// companion creates the destination Secret itself, owned by the carrier
// (ownerReference), and writes its status as annotations on the carrier.
//
// # Versioning
//
// The carrier's type and the document's "version" field name the version
// ([Version]). A version is never changed incompatibly: fields may be added
// (a reader ignores fields it does not know); removing or re-meaning a field
// makes a new version (contract-v2), and the companion refuses a version it
// does not know with an Event on the carrier, touching nothing else.
//
//	c := contract.V1{Version: contract.Version, Object: contract.Object{Kind: "VaultPKISecret", ...}}
//	b, _ := c.Marshal() // the same bytes for the same contract
package contract
