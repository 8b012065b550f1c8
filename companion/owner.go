package companion

import (
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

// Revocation only by the owner, in depth. Vault's policy (docs/install.md)
// scopes sys/leases/renew/<lease> and sys/leases/revoke/<lease> to each
// app's own paths, and certificates are revoked with revoke-with-key, which
// proves possession of the private key. Here, in the companion, a lease id is
// renewed or revoked only if it lies under the carrier's own object path,
// whatever the carrier's state says (the state seal makes a forged state
// ignored; this holds even without it).

// errNotOwnLease is ownLease's refusal.
var errNotOwnLease = errors.New("the lease is not one of this object's")

// ownLease reports whether leaseID is a lease of the carrier's
// VaultDynamicSecret: <mount>/<path>/<id>, where <id> is one path segment
// (Vault's random id, with a namespace suffix in a Vault namespace) — the
// form Vault gives every lease it creates for a request to <mount>/<path>.
// It is pure: no I/O, nothing from Vault.
func ownLease(c *contract.V1, leaseID string) error {
	if c == nil || c.Object.Dynamic == nil {
		return fmt.Errorf("%w: the object is not a VaultDynamicSecret", errNotOwnLease)
	}
	return ownLeaseAt(c.Object.Dynamic.Mount, c.Object.Dynamic.Path, leaseID)
}

// ownLeaseAt is ownLease for an object's mount and path (those of the
// contract that issued the lease, as the sealed state records them).
func ownLeaseAt(mount, p, leaseID string) error {
	mount, p = strings.Trim(mount, "/"), strings.Trim(p, "/")
	for _, s := range []string{mount, p} {
		if s == "" || slices.Contains(strings.Split(s, "/"), "..") || slices.Contains(strings.Split(s, "/"), ".") {
			return fmt.Errorf("%w: the object's mount and path are not plain relative paths", errNotOwnLease)
		}
	}
	prefix := path.Join(mount, p) + "/"
	rest, ok := strings.CutPrefix(leaseID, prefix)
	if !ok || rest == "" || strings.Contains(rest, "/") || rest == "." || rest == ".." {
		return fmt.Errorf("%w: it does not lie under %s", errNotOwnLease, prefix)
	}
	return nil
}

// possessionKey is the PEM private key of the certificate with serial among
// a destination Secret's data: the key of a certificate in data with that
// serial when there is one (any key holding a certificate or a private key,
// in PEM or, for format der, base64 DER), else the first private key found
// (private_key, tls.key, then the other keys in order) — Vault checks that it
// matches. Pure; the key is never logged.
func possessionKey(data map[string][]byte, serial string) (string, error) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(keyRank(a), keyRank(b)), strings.Compare(a, b)) })
	var signers []crypto.Signer
	var certs []*x509.Certificate
	for _, k := range keys {
		for _, der := range derBlocks(data[k]) {
			if s := parseKey(der); s != nil {
				signers = append(signers, s)
			} else if c, err := x509.ParseCertificate(der); err == nil {
				certs = append(certs, c)
			}
		}
	}
	if len(signers) == 0 {
		return "", vault.ErrNoPrivateKey
	}
	want := normalSerial(serial)
	for _, c := range certs {
		if normalSerial(c.SerialNumber.Text(16)) != want {
			continue
		}
		pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		if !ok {
			break
		}
		for _, s := range signers {
			if pub.Equal(s.Public()) {
				return encodeKey(s)
			}
		}
		return "", fmt.Errorf("%w: no private key in the Secret matches the certificate with serial %s", vault.ErrNoPrivateKey, serial)
	}
	return encodeKey(signers[0])
}

// keyRank orders the destination's keys: private_key, tls.key, the rest.
func keyRank(k string) int {
	switch k {
	case "private_key":
		return 0
	case corev1.TLSPrivateKeyKey:
		return 1
	}
	return 2
}

// derBlocks are the DER contents of v: its PEM blocks, or v itself
// base64-decoded (PKI format der).
func derBlocks(v []byte) [][]byte {
	var out [][]byte
	rest := v
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		out = append(out, b.Bytes)
	}
	if len(out) > 0 {
		return out
	}
	if der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(v))); err == nil && len(der) > 0 {
		return [][]byte{der}
	}
	return nil
}

// parseKey parses a DER private key as Vault does (PKCS#1, PKCS#8, SEC 1).
func parseKey(der []byte) crypto.Signer {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s
		}
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k
	}
	return nil
}

func encodeKey(s crypto.Signer) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s)
	if err != nil {
		return "", fmt.Errorf("encoding the certificate's private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// normalSerial is a serial number as hex digits without separators or
// leading zeros (Vault writes 1a:2b:..., Go's big.Int 1a2b...).
func normalSerial(s string) string {
	s = strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(s))
	if n, ok := new(big.Int).SetString(s, 16); ok {
		return n.Text(16)
	}
	return s
}

// revokeCertificate revokes serial with revoke-with-key, proving possession
// with the private key found in data (the destination Secret's data, read
// before it is overwritten), or, when data is nil, in the destination
// Secret as it is now. When the key is gone (the Secret deleted, or its key
// dropped by a template) the certificate cannot be revoked: the error says
// so and it stays valid until it expires.
func (r *Reconciler) revokeCertificate(ctx context.Context, carrier *corev1.Secret, c *contract.V1, id *vault.Identity, serial string, data map[string][]byte) error {
	if data == nil {
		cur, exists, err := readDestination(ctx, r.Kube, carrier.Namespace, c)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("revoking serial %s: the destination Secret %s/%s is gone, and with it the private key that proves possession: the certificate stays valid until it expires: %w",
				serial, carrier.Namespace, c.Object.Destination().Name, vault.ErrNoPrivateKey)
		}
		data = cur
	}
	key, err := possessionKey(data, serial)
	if err != nil {
		return fmt.Errorf("revoking serial %s: the certificate stays valid until it expires: %w", serial, err)
	}
	return r.Vault.RevokeCertificate(ctx, id, c.Object.PKI.Mount, serial, key)
}
