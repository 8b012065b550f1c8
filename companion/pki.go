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
	_, exists, err := readDestination(ctx, r.Kube, carrier.Namespace, c)
	if err != nil {
		return outcome{}, err
	}
	offset, _ := parseDuration(spec.ExpiryOffset)
	renewAt := st.Expiration.Add(-offset)
	due := st.Serial == "" || st.Contract != digest(carrier) || (!exists && spec.Destination.Create) || !now.Before(renewAt) || st.Expiration.Sub(now) < time.Second
	if !due {
		st.NextAt = renewAt
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
	if _, err := writeDestination(ctx, r.Kube, carrier, c, data); err != nil {
		if spec.Revoke {
			_ = r.Vault.RevokeCertificate(ctx, id, spec.Mount, cert.Serial)
		}
		return outcome{}, err
	}
	old := st.Serial
	st.Serial, st.Expiration = cert.Serial, cert.Expiration
	st.NextAt = cert.Expiration.Add(-offset)
	if d := st.NextAt.Sub(now); d > 0 {
		// A little jitter (VSO: up to 5% of the remaining time), earlier only.
		st.NextAt = st.NextAt.Add(-time.Duration(r.rand() * 0.05 * float64(d)))
	}
	st.DataHMAC = r.mac(data)
	st.Change = cert.Serial
	if spec.Revoke && old != "" {
		if err := r.Vault.RevokeCertificate(ctx, id, spec.Mount, old); err != nil {
			r.Recorder.Event(carrier, corev1.EventTypeWarning, "RevokeError", "revoking the previous certificate: "+errorMessage(err))
		} else {
			r.Recorder.Event(carrier, corev1.EventTypeNormal, "CertificateRevoked", "revoked the previous serial "+old)
		}
	}
	return r.rotated(c, carrier, st, first, reason), nil
}

// pkiTTL parses VSO's PKI ttl, which also allows days ("30d").
func pkiTTL(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		d, err := time.ParseDuration(s[:n-1] + "h")
		return d * 24, err
	}
	return parseDuration(s)
}
