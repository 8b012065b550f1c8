package companion

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vaultcmp/vaultcmp/contract"
)

// carrierCache is what the companion's cache holds of Secrets: carriers
// only, and only their metadata.
//
//   - The apiserver filters: label vaultcmp.io/contract and field
//     type=vaultcmp.io/contract-v1, so a Secret of any other type never
//     reaches the companion however it is labelled (anyone who may create a
//     Secret may label one: 100 one-MB labelled Secrets took a cache of
//     whole Secrets past the companion's 256Mi limit).
//   - stripCarrier drops what is left that the controller never reads from
//     the cache: a carrier carries no data by design, but one written by
//     hand may (up to the apiserver's 1 MiB object limit); Reconcile reads
//     each carrier from the apiserver anyway, and drops its data at once
//     too (no copy of it in deep copies and patches).
//
// Measured (e2e TestHostileCarrierLabelledSecretsMemory): 220 labelled
// Opaque Secrets and 5 carrier-type ones of about 1 MB each took the
// companion from 60 to 438 MiB peak RSS with a cache of whole labelled
// Secrets, and to 85 MiB with this one.
//
// A carrier of a later version (another type, contract-v2) is therefore not
// watched by this companion at all.
func carrierCache() (cache.ByObject, error) {
	req, err := labels.NewRequirement(contract.LabelContract, selection.Exists, nil)
	if err != nil {
		return cache.ByObject{}, fmt.Errorf("selecting carriers: %w", err)
	}
	return cache.ByObject{
		Label:     labels.NewSelector().Add(*req),
		Field:     fields.OneTermEqualSelector("type", contract.SecretType),
		Transform: stripCarrier,
	}, nil
}

// carrierCacheOptions is the manager's cache configuration (carrierCache
// for Secrets).
func carrierCacheOptions() (cache.Options, error) {
	by, err := carrierCache()
	if err != nil {
		return cache.Options{}, err
	}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{&corev1.Secret{}: by}}, nil
}

// stripCarrier is the cache's transform of a Secret: data, stringData and
// managedFields are dropped before the object is stored (Reconcile does the
// same to the carrier it reads). Anything else (a tombstone) passes
// unchanged.
func stripCarrier(o any) (any, error) {
	s, ok := o.(*corev1.Secret)
	if !ok {
		return o, nil
	}
	s.Data, s.StringData, s.ManagedFields = nil, nil, nil
	return s, nil
}
