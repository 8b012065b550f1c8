// Package renderer turns an app's manifests into what Argo CD applies.
//
// # Pipeline
//
//	Load (plain directory or kustomization)
//	  → decode Vault objects (api/v1beta1, strict)
//	  → resolve refs (VaultAuth, VaultConnection, SecretTransformation; allowedNamespaces)
//	  → read Vault (through a vault.Reader: one login per identity, identical reads once)
//	  → transform (package transform, VSO's rules)
//	  → emit: each VaultStaticSecret becomes its Secret; VaultDynamicSecret,
//	    VaultPKISecret and in-cluster VaultStaticSecrets become carriers of
//	    the companion's contract (package contract), as do inline
//	    VaultStaticSecrets with refreshAfter (next to their Secret);
//	    VaultConnection/VaultAuth/SecretTransformation disappear, everything
//	    else passes through; rollout targets get a checksum annotation.
//
// The renderer has no network code of its own. It fails closed: any problem
// anywhere returns [Problems] and no output at all.
//
// # Example
//
//	objs, _ := renderer.Load("examples/webapp")
//	res, err := renderer.Render(ctx, objs, renderer.Options{Vault: session, HMACKey: key})
//	if err != nil { /* err lists every problem */ }
//	_ = renderer.WriteYAML(os.Stdout, res.Objects)
package renderer
