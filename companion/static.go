package companion

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

// static keeps an in-cluster VaultStaticSecret: read KV every refreshAfter,
// rewrite only when the data changed (VSO's semantics, no Argo CD sync
// needed), and ask Argo CD to hard-refresh the owning Application so the
// change shows there as a carrier diff (its KV version or HMAC, no value).
// The sync of that carrier changes nothing here: the data it names is the
// data already written, so no second write and no second rollout.
func (r *Reconciler) static(ctx context.Context, carrier *corev1.Secret, c *contract.V1, id *vault.Identity, st State) (outcome, error) {
	spec := c.Object.Static
	now := r.now()
	sec, err := r.Vault.ReadKV(ctx, kvRequest(c, id))
	if err != nil {
		return outcome{}, err
	}
	data, err := r.build(c, sec.Fields, sec.Response)
	if err != nil {
		return outcome{}, err
	}
	refresh, _ := parseDuration(spec.RefreshAfter)
	st.NextAt = time.Time{}
	if refresh > 0 {
		st.NextAt = refreshNext(now, refresh, r.floors())
	}
	first := st.Change == ""
	changed, err := writeDestination(ctx, r.Kube, carrier, c, data, r.InstanceLabelKey)
	if err != nil {
		return outcome{}, err
	}
	st.DataHMAC = r.mac(data)
	if c.Application != "" {
		// Written: now make it visible. A failed request is retried at the
		// next check (st.Refreshed unchanged); the Secret is right already.
		current := kvState(sec.Version, r.HMACKey, data)
		if needsRefresh(c, st, current) {
			if err := r.refreshApplication(ctx, carrier, c); err != nil {
				r.Recorder.Event(carrier, corev1.EventTypeWarning, "ArgoCDRefreshFailed", errorMessage(err))
			} else {
				st.Refreshed = current
			}
		}
	}
	if !changed && !first {
		return outcome{state: st}, nil
	}
	st.Change = st.DataHMAC
	if spec.HMACSecretData != nil && !*spec.HMACSecretData {
		st.Rolled = st.Change // VSO: no rollout without hmacSecretData
	}
	return r.rotated(c, carrier, st, first, "the data changed in Vault"), nil
}

// inlineRefresh watches the KV data behind an inline VaultStaticSecret with
// refreshAfter: when it differs from what generate saw (the carrier's
// contract), it asks Argo CD to hard-refresh the owning Application, once
// per change. It never writes the Secret: Argo CD does, visibly in its
// diff. Without refreshAfter (a carrier for rollouts only, rolloutinline.go)
// it reads nothing.
func (r *Reconciler) inlineRefresh(ctx context.Context, carrier *corev1.Secret, c *contract.V1, id *vault.Identity, st State) (outcome, error) {
	spec := c.Object.Static
	if spec.RefreshAfter == "" {
		st.NextAt = time.Time{}
		return outcome{state: st}, nil
	}
	now := r.now()
	refresh, _ := parseDuration(spec.RefreshAfter)
	st.NextAt = refreshNext(now, max(refresh, time.Second), r.floors())
	sec, err := r.Vault.ReadKV(ctx, kvRequest(c, id))
	if err != nil {
		return outcome{}, err
	}
	var data map[string][]byte
	if sec.Version == 0 && len(r.HMACKey) > 0 {
		if data, err = r.build(c, sec.Fields, sec.Response); err != nil {
			return outcome{}, err
		}
	}
	current := kvState(sec.Version, r.HMACKey, data)
	if !needsRefresh(c, st, current) {
		return outcome{state: st}, nil
	}
	if err := r.refreshApplication(ctx, carrier, c); err != nil {
		return outcome{}, err
	}
	st.Refreshed = current
	return outcome{state: st}, nil
}

// kvState is what a carrier says of KV data (as generate writes it,
// renderer's staticState): the kv-v2 version, or the keyed HMAC of the
// data; "" when neither is known.
func kvState(version int, key []byte, data map[string][]byte) string {
	if version > 0 {
		return strconv.Itoa(version)
	}
	if len(key) == 0 || data == nil {
		return ""
	}
	return checksum(key, data)
}

// needsRefresh is the refresh decision (pure): Vault's data (current)
// differs from what the carrier's contract says generate saw, and Argo CD
// was not yet asked to refresh for it.
func needsRefresh(c *contract.V1, st State, current string) bool {
	seen := ""
	if c.Static != nil {
		if c.Static.KVVersion > 0 {
			seen = strconv.Itoa(c.Static.KVVersion)
		} else {
			seen = c.Static.DataHMAC
		}
	}
	return current != "" && current != seen && current != st.Refreshed
}

// refreshApplication asks Argo CD to hard-refresh the carrier's owning
// Application (the one its contract names, deploying to its namespace).
func (r *Reconciler) refreshApplication(ctx context.Context, carrier *corev1.Secret, c *contract.V1) error {
	app, err := r.owningApplication(ctx, carrier, c)
	if err != nil {
		return err
	}
	patch, err := hardRefreshPatch(r.now())
	if err != nil {
		return err
	}
	if _, err := r.Dynamic.Resource(applications).Namespace(r.ArgoNamespace).Patch(ctx, app, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("asking Argo CD to refresh Application %s/%s: %w", r.ArgoNamespace, app, err)
	}
	r.Metrics.Refreshes.WithLabelValues(carrier.Namespace).Inc()
	r.Recorder.Event(carrier, corev1.EventTypeNormal, "ArgoCDRefresh", fmt.Sprintf("the KV data changed in Vault: asked Argo CD to hard-refresh Application %s", app))
	return nil
}

func kvRequest(c *contract.V1, id *vault.Identity) vault.KVRequest {
	s := c.Object.Static
	return vault.KVRequest{Identity: id, Namespace: s.Namespace, Mount: s.Mount, Path: s.Path, V2: s.Type == "kv-v2", Version: s.Version}
}

// mac is the keyed HMAC of data without the keys in skip.
func (r *Reconciler) mac(data map[string][]byte, skip ...string) string {
	d := make(map[string][]byte, len(data))
	for k, v := range data {
		if !slices.Contains(skip, k) {
			d[k] = v
		}
	}
	return checksum(r.HMACKey, d)
}

// checksum is contract.DataHMAC, as in generate, so the companion's kv-v1
// HMAC equals the one generate puts on the carrier.
func checksum(key []byte, data map[string][]byte) string { return contract.DataHMAC(key, data) }

// number reads a JSON number as Vault's client decodes it.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}
