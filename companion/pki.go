package companion

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

// pki keeps a VaultPKISecret's certificate: issue, re-issue at
// expiration − expiryOffset, revoke the previous serial with revoke: true.
func (r *Reconciler) pki(ctx context.Context, carrier *corev1.Secret, c *contract.V1, id *vault.Identity, st State) (outcome, error) {
	spec := c.Object.PKI
	now := r.now()
	fl := r.floors()
	cur, exists, err := readDestination(ctx, r.Kube, carrier.Namespace, c)
	if err != nil {
		return outcome{}, err
	}
	if cur == nil {
		cur = map[string][]byte{} // gone: no key to prove possession of the old certificate
	}
	offset, _ := parseDuration(spec.ExpiryOffset)
	renewAt := st.Expiration.Add(-offset)
	fresh := st.Serial == "" || st.Contract != digest(carrier) || (!exists && spec.Destination.Create)
	due := fresh || !now.Before(renewAt) || st.Expiration.Sub(now) < time.Second
	if !due {
		st.NextAt = renewAt
		return outcome{state: st}, nil
	}
	if at, wait := reissueWait(now, st.IssuedAt, fl); wait && st.Serial != "" && st.Contract == digest(carrier) {
		// Due (at expiry, or the Secret was deleted), but the last issue was
		// less than the re-issue floor ago. A new contract is not delayed.
		st.NextAt = at
		return outcome{state: st}, nil
	}
	reason := "certificate re-issued before expiry"
	switch {
	case st.Change == "":
		reason = "new certificate"
	case st.Contract != digest(carrier):
		reason = "the VaultPKISecret changed: new certificate"
	case !exists:
		reason = "the destination Secret was missing: new certificate"
	}
	ttl, _ := pkiTTL(spec.TTL)
	cert, err := r.Vault.IssueCertificate(ctx, vault.PKIRequest{
		Identity: id, Namespace: spec.Namespace, Mount: spec.Mount, Role: spec.Role, IssuerRef: spec.IssuerRef,
		CommonName: spec.CommonName, Format: spec.Format, PrivateKeyFormat: spec.PrivateKeyFormat, NotAfter: spec.NotAfter,
		AltNames: spec.AltNames, IPSans: spec.IPSans, URISans: spec.URISans, OtherSans: spec.OtherSans, UserIDs: spec.UserIDs,
		TTL: ttl, ExcludeCNFromSans: spec.ExcludeCNFromSans,
	})
	if err != nil {
		return outcome{}, err
	}
	data, err := r.build(c, cert.Data, cert.Data)
	if err != nil {
		return outcome{}, err
	}
	first := st.Change == "" // not st.Serial: a contract change moved it to st.Old (supersede)
	if _, err := writeDestination(ctx, r.Kube, carrier, c, data, r.InstanceLabelKey); err != nil {
		if spec.Revoke {
			_ = r.revokeCertificate(ctx, carrier, c, id, cert.Serial, stringData(cert.Data))
		}
		return outcome{}, err
	}
	old := st.Serial
	st.Serial, st.Expiration, st.IssuedAt = cert.Serial, cert.Expiration, now
	// expiration − expiryOffset with VSO's jitter (earlier only), checked
	// against the certificate's real lifetime and bounded by the floor.
	var warning string
	st.NextAt, warning = pkiNext(now, cert.Expiration, offset, r.rand(), fl)
	st.DataHMAC = r.mac(data)
	st.Change = cert.Serial
	if spec.Revoke && old != "" {
		if err := r.revokeCertificate(ctx, carrier, c, id, old, cur); err != nil {
			r.Recorder.Event(carrier, corev1.EventTypeWarning, "RevokeError", "revoking the previous certificate: "+errorMessage(err))
		} else {
			r.Recorder.Event(carrier, corev1.EventTypeNormal, "CertificateRevoked", "revoked the previous serial "+old)
		}
	}
	out := r.rotated(c, carrier, st, first, reason)
	out.warning = warning
	return out, nil
}

// stringData keeps the string values of a Vault response's data.
func stringData(d map[string]any) map[string][]byte {
	out := make(map[string][]byte, len(d))
	for k, v := range d {
		if s, ok := v.(string); ok {
			out[k] = []byte(s)
		}
	}
	return out
}

// pkiTTL parses VSO's PKI ttl, which also allows days ("30d").
func pkiTTL(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		d, err := time.ParseDuration(s[:n-1] + "h")
		return d * 24, err
	}
	return parseDuration(s)
}
