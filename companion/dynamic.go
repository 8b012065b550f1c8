package companion

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/transform"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Fields of a static role's response (allowStaticCreds) that change on
// every read and do not make the data different.
var staticCredsMeta = []string{"ttl", "rotation_period", "rotation_schedule", "last_vault_rotation", transform.KeyRaw}

// dynamic keeps a VaultDynamicSecret's lease: issue, renew at
// renewalPercent with jitter, re-issue on truncation or failure.
func (r *Reconciler) dynamic(ctx context.Context, carrier *corev1.Secret, c *contract.V1, id *vault.Identity, st State) (outcome, error) {
	spec := c.Object.Dynamic
	now := r.now()
	_, exists, err := readDestination(ctx, r.Kube, carrier.Namespace, c)
	if err != nil {
		return outcome{}, err
	}
	fresh := st.Change == "" || st.Contract != digest(carrier) || (!exists && spec.Destination.Create)
	percent := renewalPercent(spec.RenewalPercent)
	fl := r.floors()
	if !fresh && (st.NextAt.IsZero() || now.Before(st.NextAt)) {
		// Not due: nothing to renew or re-read (a lease without duration and
		// without refreshAfter is never re-read, as in VSO).
		return outcome{state: st}, nil
	}
	reason := ""
	if !fresh && !spec.AllowStaticCreds && st.LeaseID != "" {
		superseded := false
		if st.Runtime == r.Runtime && st.TokenGen != 0 {
			// The token that created the lease was replaced by a new login:
			// when it expires, Vault revokes the lease. Renewing is no use.
			_, superseded = r.Vault.TokenDeadline(id, st.TokenGen)
		}
		owned := ownLease(c, st.LeaseID)
		if owned != nil {
			// Never renewed (nor revoked): not a lease of this object.
			reason = "the recorded lease is not one this object issued (" + errorMessage(owned) + "): new credentials"
		} else if superseded {
			reason = "the Vault token that created the lease was replaced: new credentials before it expires"
		} else if st.Renewable && now.Before(st.LeaseExpiresAt) {
			if st.Retries == 0 {
				r.Metrics.Lateness.Observe(now.Sub(st.NextAt).Seconds())
			}
			want := time.Duration(st.LeaseDuration) * time.Second
			lease, err := r.Vault.RenewLease(ctx, id, st.LeaseID, want)
			switch {
			case err == nil && lease.Duration >= want:
				r.Metrics.Renewals.WithLabelValues(c.Object.Kind, carrier.Namespace).Inc()
				st.LeaseDuration = int64(lease.Duration / time.Second)
				st.LeaseExpiresAt = now.Add(lease.Duration)
				st.NextAt = renewalNext(now, r.horizon(lease.Duration, percent), fl)
				return outcome{state: st}, nil
			case err == nil:
				reason = fmt.Sprintf("lease renewal was truncated to %s (max TTL): new credentials", lease.Duration)
			case vault.Retryable(err):
				r.Metrics.RenewalErrors.WithLabelValues(c.Object.Kind, carrier.Namespace).Inc()
				// Vault is away and the lease still runs: keep the data, retry.
				return outcome{}, fmt.Errorf("renewing the lease: %w", err)
			default:
				r.Metrics.RenewalErrors.WithLabelValues(c.Object.Kind, carrier.Namespace).Inc()
				reason = "lease renewal failed (" + errorMessage(err) + "): new credentials"
			}
		} else if st.Renewable {
			reason = "the lease expired: new credentials"
		} else {
			reason = "the lease is not renewable and reached its horizon: new credentials"
		}
	}
	if st.Change != "" && st.Contract == digest(carrier) && !spec.AllowStaticCreds {
		if at, wait := reissueWait(now, st.IssuedAt, fl); wait {
			// Due (renewal refused or truncated, the Secret deleted, a lease
			// that cannot be renewed), but the last issue was less than the
			// re-issue floor ago. A new contract is not delayed.
			st.NextAt = at
			return outcome{state: st}, nil
		}
	}
	params := map[string]any{}
	for k, v := range spec.Params {
		params[k] = v
	}
	if len(params) == 0 {
		params = nil
	}
	sec, err := r.Vault.ReadDynamic(ctx, vault.DynamicRequest{
		Identity: id, Namespace: spec.Namespace, Mount: spec.Mount, Path: spec.Path,
		Method: spec.RequestHTTPMethod, Params: params,
	})
	if err != nil {
		return outcome{}, err
	}
	data, err := r.build(c, sec.Data, sec.Raw)
	if err != nil {
		return outcome{}, err
	}
	refresh, _ := parseDuration(spec.RefreshAfter)
	if spec.AllowStaticCreds {
		// Static role: the password changes at Vault's rotation; rewrite and
		// restart only when the data (without its timers) changed.
		mac := r.mac(data, staticCredsMeta...)
		next := staticCredsNext(sec.Data)
		if next <= 0 {
			next = refresh
		}
		if next > 0 {
			st.NextAt = renewalNext(now, next+time.Duration(r.rand()*float64(150*time.Millisecond)), fl)
		} else {
			st.NextAt = time.Time{}
		}
		if mac == st.DataHMAC && exists && !fresh {
			return outcome{state: st}, nil
		}
		first := st.Change == ""
		if _, err := writeDestination(ctx, r.Kube, carrier, c, data, r.InstanceLabelKey); err != nil {
			return outcome{}, err
		}
		st.DataHMAC, st.Change = mac, mac
		return r.rotated(c, carrier, st, first, "static credentials rotated in Vault"), nil
	}
	first := st.Change == ""
	if _, err := writeDestination(ctx, r.Kube, carrier, c, data, r.InstanceLabelKey); err != nil {
		// The new lease is orphaned unless revoked now.
		if sec.Lease.ID != "" {
			_ = r.Vault.RevokeLease(ctx, id, sec.Lease.ID)
		}
		return outcome{}, err
	}
	if old := st.LeaseID; old != "" && !exists && old != sec.Lease.ID && ownLease(c, old) == nil {
		// The Secret was deleted: nothing uses the old lease any more;
		// revoke it rather than orphan it (VSO issue #935).
		if err := r.Vault.RevokeLease(ctx, id, old); err != nil {
			r.Recorder.Event(carrier, corev1.EventTypeWarning, "RevokeError", "revoking the lease of the deleted Secret: "+errorMessage(err))
		}
	}
	st.LeaseID, st.Renewable = sec.Lease.ID, sec.Lease.Renewable
	st.TokenGen, st.Runtime = sec.TokenGeneration, r.Runtime
	st.LeaseDuration = int64(sec.Lease.Duration / time.Second)
	st.LeaseExpiresAt = now.Add(sec.Lease.Duration)
	st.IssuedAt = now
	switch {
	case sec.Lease.Duration > 0 && sec.Lease.Renewable:
		st.NextAt = renewalNext(now, r.horizon(sec.Lease.Duration, percent), fl)
	case sec.Lease.Duration > 0:
		st.NextAt = reissueNext(now, now, r.horizon(sec.Lease.Duration, percent), fl)
	case refresh > 0:
		st.NextAt = reissueNext(now, now, refreshNext(now, refresh, fl).Sub(now), fl)
	default:
		st.NextAt = time.Time{}
	}
	st.DataHMAC = r.mac(data)
	st.Change = st.DataHMAC
	if reason == "" {
		reason = "new credentials"
	}
	return r.rotated(c, carrier, st, first, reason), nil
}

// rotated records new data: the first fill restarts nothing.
func (r *Reconciler) rotated(c *contract.V1, carrier *corev1.Secret, st State, first bool, reason string) outcome {
	if first {
		st.Rolled = st.Change
		return outcome{state: st, changed: true, reason: reasonFirst}
	}
	r.Metrics.Rotations.WithLabelValues(c.Object.Kind, carrier.Namespace).Inc()
	return outcome{state: st, changed: true, reason: reason}
}

// build transforms Vault data exactly as render does.
func (r *Reconciler) build(c *contract.V1, fields, raw map[string]any) (map[string][]byte, error) {
	if fields == nil {
		return nil, errNoData
	}
	d := c.Object.Destination()
	refs := make([]*v1beta1.SecretTransformation, 0, len(c.Transformations))
	for _, t := range c.Transformations {
		refs = append(refs, t.AsObject())
	}
	resolved := transform.Resolved{Spec: d.Transformation, Refs: refs}
	data, err := r.Templates.Build(context.Background(), resolved, transform.Input{
		Namespace: c.Object.Namespace, Name: c.Object.Name, Fields: fields, Response: raw,
		Annotations: c.Object.Annotations, Labels: c.Object.Labels,
	})
	if err != nil {
		return nil, fmt.Errorf("building the Secret's data: %w", err)
	}
	if c.Object.PKI != nil {
		if err := transform.NormalizePKI(data, raw); err != nil {
			return nil, err
		}
		transform.TLSLayout(data, string(d.Type), transform.HasTemplates(resolved))
	}
	return data, nil
}

func renewalPercent(p *int) int {
	if p == nil {
		return 67
	}
	return min(max(*p, 0), 90)
}

// staticCredsNext is when a static role's password next rotates: its ttl
// (seconds) plus half a second when Vault rotates by period.
func staticCredsNext(data map[string]any) time.Duration {
	ttl, ok := number(data["ttl"])
	if !ok || ttl <= 2 {
		return 0
	}
	d := time.Duration(ttl) * time.Second
	if _, period := data["rotation_period"]; period {
		d += 500 * time.Millisecond
	}
	return d
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}
