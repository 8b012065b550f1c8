package companion

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/vault"
)

// A lease id is renewed or revoked only if it lies under the carrier's own
// object path: <mount>/<path>/<one segment>.
func TestOwnLease(t *testing.T) {
	vds := func(mount, p string) *contract.V1 {
		return &contract.V1{Object: contract.Object{Kind: v1beta1.KindVaultDynamicSecret, Dynamic: &v1beta1.VaultDynamicSecretSpec{Mount: mount, Path: p}}}
	}
	webapp := vds("database", "creds/webapp-role")
	for _, tc := range []struct {
		name  string
		c     *contract.V1
		lease string
		own   bool
	}{
		{"its own lease", webapp, "database/creds/webapp-role/AbCdEf0123456789xyzQWERT", true},
		{"its own lease in a Vault namespace", webapp, "database/creds/webapp-role/AbCdEf.nsid1", true},
		{"slashes around mount and path", vds("/database/", "/creds/webapp-role/"), "database/creds/webapp-role/x1", true},
		{"another team's role", webapp, "database/creds/team-b-role/AbCdEf", false},
		{"a role whose name extends ours", webapp, "database/creds/webapp-role-admin/AbCdEf", false},
		{"below a deeper path", webapp, "database/creds/webapp-role/sub/AbCdEf", false},
		{"the path itself", webapp, "database/creds/webapp-role/", false},
		{"the path without slash", webapp, "database/creds/webapp-role", false},
		{"dot-dot out of the path", webapp, "database/creds/webapp-role/../../../pki/x", false},
		{"dot-dot as the id", webapp, "database/creds/webapp-role/..", false},
		{"another mount", webapp, "aws/creds/webapp-role/AbCdEf", false},
		{"a token's lease", webapp, "auth/kubernetes/login/AbCdEf", false},
		{"empty", webapp, "", false},
		{"a contract with dot-dot in its path", vds("database", "creds/../../sys"), "sys/AbCdEf", false},
		{"a contract with an empty path", vds("database", ""), "database/AbCdEf", false},
		{"not a dynamic secret", &contract.V1{Object: contract.Object{PKI: &v1beta1.VaultPKISecretSpec{Mount: "pki"}}}, "pki/x", false},
	} {
		err := ownLease(tc.c, tc.lease)
		if tc.own {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorIs(t, err, errNotOwnLease, tc.name)
		}
	}
}

// testCert is a self-signed certificate with serial and its key.
func testCert(t *testing.T, serial int64, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "a.example.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// The key that proves possession is the one matching the certificate with
// the serial, wherever the destination holds it (PEM or base64 DER).
func TestPossessionKey(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecDER, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	otherDER, _ := x509.MarshalECPrivateKey(other)
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: otherDER})
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	cert := testCert(t, 0x1a2b3c, ec)
	rsaCert := testCert(t, 0x0102, rsaKey)
	certDER, _ := pem.Decode(cert)

	for _, tc := range []struct {
		name   string
		data   map[string][]byte
		serial string
		want   crypto.PublicKey // nil: an error
	}{
		{"Vault's keys", map[string][]byte{"certificate": cert, "private_key": ecPEM, "serial_number": []byte("1a:2b:3c")}, "1a:2b:3c", ec.Public()},
		{"kubernetes.io/tls keys only", map[string][]byte{"tls.crt": cert, "tls.key": ecPEM}, "1a:2b:3c", ec.Public()},
		{"the serial with leading zeros and dashes", map[string][]byte{"tls.crt": cert, "tls.key": ecPEM}, "00-1A-2B-3C", ec.Public()},
		{"the matching key among two", map[string][]byte{"private_key": otherPEM, "tls.key": ecPEM, "certificate": cert}, "1a:2b:3c", ec.Public()},
		{"RSA, templated key names", map[string][]byte{"my.crt": rsaCert, "my.key": rsaPEM}, "01:02", rsaKey.Public()},
		{"format der: base64 DER", map[string][]byte{"certificate": []byte(base64.StdEncoding.EncodeToString(certDER.Bytes)),
			"private_key": []byte(base64.StdEncoding.EncodeToString(ecDER))}, "1a:2b:3c", ec.Public()},
		{"no certificate left: the first key (Vault checks it)", map[string][]byte{"key": ecPEM, "password": []byte("x")}, "1a:2b:3c", ec.Public()},
		{"the certificate is there, its key is not", map[string][]byte{"certificate": cert, "private_key": otherPEM}, "1a:2b:3c", nil},
		{"no key at all (dropped by a template)", map[string][]byte{"certificate": cert}, "1a:2b:3c", nil},
		{"an empty Secret (gone)", map[string][]byte{}, "1a:2b:3c", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := possessionKey(tc.data, tc.serial)
			if tc.want == nil {
				assert.ErrorIs(t, err, vault.ErrNoPrivateKey)
				return
			}
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(got, "-----BEGIN PRIVATE KEY-----"))
			b, _ := pem.Decode([]byte(got))
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			require.NoError(t, err)
			assert.True(t, k.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want))
		})
	}
}
