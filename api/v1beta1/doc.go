// Package v1beta1 holds the Go types of the HashiCorp Vault Secrets Operator
// (VSO) resources that vaultcmp reads from git, together with strict decoding,
// defaults and validation with field paths.
//
// The JSON shape is VSO's (group secrets.hashicorp.com, version v1beta1), so a
// manifest written for VSO decodes unchanged. See
// https://developer.hashicorp.com/vault/docs/platform/k8s/vso/api-reference.
//
// # Kinds
//
// Seven kinds are supported: [VaultConnection], [VaultAuth],
// [VaultAuthGlobal], [VaultStaticSecret], [VaultDynamicSecret],
// [VaultPKISecret] and [SecretTransformation] ([MergeVaultAuthGlobal] is
// VSO's merge of a VaultAuth with its VaultAuthGlobal). Each implements [Object]. A `status` stanza is
// accepted and ignored.
//
// # Decoding
//
// [Decode] takes one object as JSON (convert YAML with sigs.k8s.io/yaml
// first). It rejects unknown and duplicate fields, wrong types, unsupported
// apiVersions and kinds, and then runs [Object.Validate]. All problems come
// back at once in a [*DecodeError], each with its field path. [DecodeValue]
// does the same for an object already loaded as a map[string]any (as the
// renderer holds it), without encoding it as JSON first:
//
//	obj, err := v1beta1.Decode(jsonBytes)
//	var de *v1beta1.DecodeError
//	if errors.As(err, &de) {
//		for _, fe := range de.Errs {
//			log.Print(fe.Field, ": ", fe.ErrorBody())
//		}
//	}
//	if vss, ok := obj.(*v1beta1.VaultStaticSecret); ok {
//		ns, name := v1beta1.ParseRef(vss.Spec.VaultAuthRef, vss.Namespace)
//		_, _ = ns, name
//	}
//
// # Secrets in errors
//
// Errors never carry a value that could be secret (AppRole role IDs, header
// and param values, template text): such values are reported as "<snip>" or
// left out. Enum values, durations, names and Vault paths are shown.
//
// # Differences from VSO
//
//   - appRole.secretRef and jwt.secretRef are a [SecretKeyRef]: the VSO string
//     form (a Secret name) or an object {name, key}.
//   - appRole.secretIDPath is accepted as in newer VSO releases; exactly one of
//     secretRef and secretIDPath must be set. (The renderer never reads the
//     file: a manifest does not choose files vaultcmp reads. So for
//     caCertPath.)
//   - Vault mounts and paths may not start with "/" nor contain a ".." segment,
//     so a path can never leave its mount.
//   - A VaultAuth without vaultAuthGlobalRef must set method, mount and the
//     matching method block; configuration blocks for other methods are
//     rejected.
package v1beta1
