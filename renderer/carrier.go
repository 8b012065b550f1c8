package renderer

import (
	"errors"
	"maps"
	"strconv"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
)

// carrierContract resolves the contract of a Vault object (pure): its
// connection, auth and transformations, by name, with no credential fetched.
func (r *resolver) carrierContract(vo *vaultObject, delivery string) (*contract.V1, *refError) {
	c := &contract.V1{
		Version:  contract.Version,
		Delivery: delivery,
		Object: contract.Object{
			Kind:        vo.obj.GetKind(),
			Name:        vo.obj.GetName(),
			Namespace:   vo.ns,
			Labels:      vo.obj.GetLabels(),
			Annotations: vo.obj.GetAnnotations(),
		},
	}
	var authRef string
	var t v1beta1.Transformation
	switch o := vo.obj.(type) {
	case *v1beta1.VaultDynamicSecret:
		spec := o.Spec
		c.Object.Dynamic, authRef, t, c.RolloutTargets = &spec, spec.VaultAuthRef, spec.Destination.Transformation, spec.RolloutRestartTargets
	case *v1beta1.VaultPKISecret:
		spec := o.Spec
		c.Object.PKI, authRef, t, c.RolloutTargets = &spec, spec.VaultAuthRef, spec.Destination.Transformation, spec.RolloutRestartTargets
	case *v1beta1.VaultStaticSecret:
		spec := o.Spec
		c.Object.Static, authRef, t, c.RolloutTargets = &spec, spec.VaultAuthRef, spec.Destination.Transformation, spec.RolloutRestartTargets
	}
	p, rerr := r.plan(vo.ns, authRef, false)
	if rerr != nil {
		return nil, rerr
	}
	c.Connection, c.Auth = p.Contract()
	refs, rerr := r.transformations(vo.ns, t)
	if rerr != nil {
		return nil, rerr
	}
	for _, st := range refs {
		ns := st.Namespace
		if ns == "" {
			ns = vo.ns
		}
		c.Transformations = append(c.Transformations, contract.Transformation{Name: st.Name, Namespace: ns, Spec: st.Spec})
	}
	return c, nil
}

// Argo CD's sync wave on the carriers the companion fills: before the
// workloads (wave 0) unless the Vault object names its own wave. The
// shipped health check (sidecar/health.lua) keeps a carrier Progressing
// until the companion has filled its Secret, and Argo CD starts the next
// wave only when this one is healthy: no pod starts on a missing Secret.
const (
	AnnotationSyncWave = "argocd.argoproj.io/sync-wave"
	CarrierSyncWave    = "-1"
)

// carrierSecret is the carrier of a contract: a Secret of type
// contract.SecretType, without data, holding the contract in an annotation
// (readable in Argo CD's diff, which masks Secret data), labelled for the
// companion, and sealed with the installation's key (contract.Seal over
// its namespace, name and contract: the companion acts on nothing else).
func carrierSecret(c *contract.V1, key []byte) (map[string]any, error) {
	if len(key) == 0 {
		return nil, errors.New("renderer: carriers are sealed with the installation's HMAC key, and none was given")
	}
	b, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	name := contract.CarrierName(c.Object.Kind, c.Object.Name)
	md := map[string]any{
		"name":      name,
		"namespace": c.Object.Namespace,
		"labels": map[string]any{
			contract.LabelManagedBy: contract.ManagedBy,
			contract.LabelContract:  contract.Version,
			contract.LabelDelivery:  c.Delivery,
		},
		"annotations": map[string]any{
			contract.AnnotationContract:    string(b),
			contract.AnnotationSeal:        contract.Seal(key, c.Object.Namespace, name, b),
			contract.AnnotationOwner:       contract.Owner(c.Object.Kind, c.Object.Name),
			contract.AnnotationDestination: c.Object.Destination().Name,
		},
	}
	ann := md["annotations"].(map[string]any)
	if s := c.Static; s != nil {
		// Visible in Argo CD's diff (data is masked there): the KV data changed.
		if s.KVVersion > 0 {
			ann[contract.AnnotationKVVersion] = strconv.Itoa(s.KVVersion)
		}
		if s.DataHMAC != "" {
			ann[contract.AnnotationDataHMAC] = s.DataHMAC
		}
	}
	if c.Delivery == contract.DeliveryInCluster {
		wave := CarrierSyncWave
		if w := c.Object.Annotations[AnnotationSyncWave]; w != "" {
			wave = w // the user's order wins
		}
		ann[AnnotationSyncWave] = wave
	}
	maps.DeleteFunc(ann, func(_ string, v any) bool { return v == "" })
	return map[string]any{
		"apiVersion": secretAPIVersion,
		"kind":       secretKind,
		"metadata":   md,
		"type":       contract.SecretType,
	}, nil
}
