package v1beta1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// VSO's kinds that vaultcmp does not render, each with what to do instead.
// They are refused by name (one error naming the kind and the way out), not
// as an unknown kind.
const (
	KindHCPAuth            = "HCPAuth"
	KindHCPVaultSecretsApp = "HCPVaultSecretsApp"
	KindCSISecrets         = "CSISecrets"
)

// unsupportedKinds says, for each VSO kind vaultcmp refuses, why and what
// to do.
var unsupportedKinds = map[string]string{
	KindHCPAuth: "HCPAuth (HCP service-principal login for HCP Vault Secrets) is not supported by vaultcmp, which reads Vault only: " +
		"move the secrets to a Vault KV mount and read them with a VaultStaticSecret, or keep this object and its HCPVaultSecretsApp " +
		"in an app that Vault Secrets Operator syncs (docs/migrate.md)",
	KindHCPVaultSecretsApp: "HCPVaultSecretsApp (HCP Vault Secrets) is not supported by vaultcmp, which reads Vault only: " +
		"move the secrets to a Vault KV mount and read them with a VaultStaticSecret, or keep this object in an app that " +
		"Vault Secrets Operator syncs (docs/migrate.md)",
	KindCSISecrets: "CSISecrets (VSO's CSI driver: secrets mounted into pods, never stored as a Kubernetes Secret) is not supported " +
		"by vaultcmp, which writes Kubernetes Secrets: use a VaultStaticSecret, VaultDynamicSecret or VaultPKISecret and mount " +
		"its Secret, or keep this object in an app that Vault Secrets Operator's CSI driver serves (docs/migrate.md)",
}

// UnsupportedKind is the refusal of one of VSO's kinds that vaultcmp does
// not render (HCPAuth, HCPVaultSecretsApp, CSISecrets): why, and what to
// do; false for any other kind.
func UnsupportedKind(kind string) (string, bool) {
	msg, ok := unsupportedKinds[kind]
	return msg, ok
}

// kindError is the error of a kind NewObject does not know: the named
// refusal of one of VSO's unsupported kinds, or "Unsupported value".
func kindError(kind string) *field.Error {
	if msg, ok := UnsupportedKind(kind); ok {
		return field.Forbidden(field.NewPath("kind"), msg)
	}
	return field.NotSupported(field.NewPath("kind"), kind, Kinds)
}

// Ignored is a field vaultcmp accepts, as VSO's schema has it, without the
// effect VSO gives it: generate, render and validate warn about each one.
type Ignored struct {
	Field string // path from the object's root, e.g. spec.syncConfig.instantUpdates
	Why   string // what vaultcmp does instead; never a value
}

// String is the warning's text: the field and why.
func (i Ignored) String() string { return fmt.Sprintf("%s has no effect: %s", i.Field, i.Why) }

// IgnoredFields lists the fields of obj that are set and have no effect in
// vaultcmp (docs/migrate.md lists them all). Pure; nil for most objects.
func IgnoredFields(obj Object) []Ignored {
	var out []Ignored
	add := func(f, why string) { out = append(out, Ignored{Field: f, Why: why}) }
	dest := func(d Destination) {
		if !d.Create {
			if len(d.Labels) > 0 {
				add("spec.destination.labels", "they apply only with destination.create: true (as in VSO); with create: false only the data is written")
			}
			if len(d.Annotations) > 0 {
				add("spec.destination.annotations", "they apply only with destination.create: true (as in VSO); with create: false only the data is written")
			}
			if d.Type != "" {
				add("spec.destination.type", "it applies only with destination.create: true (as in VSO); with create: false the existing Secret keeps its type")
			}
			if d.Overwrite {
				add("spec.destination.overwrite", "it applies only with destination.create: true (as in VSO)")
			}
		}
	}
	switch o := obj.(type) {
	case *VaultStaticSecret:
		s := o.Spec
		if s.SyncConfig != nil && s.SyncConfig.InstantUpdates {
			add("spec.syncConfig.instantUpdates", "Vault Enterprise event subscriptions are not used; a change in Vault is seen at the next refreshAfter (set one) or the next render")
		}
		if s.HMACSecretData != nil && !*s.HMACSecretData {
			if len(s.RolloutRestartTargets) > 0 {
				add("spec.rolloutRestartTargets", "hmacSecretData is false: as in VSO, no target is restarted without it")
			} else {
				add("spec.hmacSecretData", "vaultcmp always compares Secret data by keyed HMAC (false does not make it rewrite the Secret on every sync)")
			}
		}
		dest(s.Destination)
	case *VaultDynamicSecret:
		dest(o.Spec.Destination)
	case *VaultPKISecret:
		dest(o.Spec.Destination)
		if o.Spec.Clear && o.Spec.Destination.Create {
			add("spec.clear", "it applies only with destination.create: false (as in VSO): a Secret the companion created is deleted with its carrier")
		}
	case *VaultAuth:
		if o.Spec.StorageEncryption != nil {
			add("spec.storageEncryption", "it encrypts VSO's persisted client cache; vaultcmp persists none (its token cache is the plugin's in-memory volume, docs/install.md)")
		}
		if len(o.Spec.Params) > 0 {
			add("spec.params", "no login sends them (VSO v1.4 sends none either)")
		}
	}
	return out
}
