package transform

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

func pkiResponse(chain []any) map[string]any {
	r := map[string]any{
		"certificate":      "CERT",
		"issuing_ca":       "ISSUER",
		"private_key":      "KEY",
		"private_key_type": "rsa",
		"serial_number":    "01:02",
		"expiration":       jsonNumber("1700000000"),
	}
	if chain != nil {
		r["ca_chain"] = chain
	}
	return r
}

func jsonNumber(s string) any { return json.Number(s) }

func TestPKI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		chain        []any
		secretType   string
		transform    v1beta1.Transformation
		want         map[string]string
		wantNotKeys  []string
		normalizeErr assert.ErrorAssertionFunc
	}{
		{
			name:       "tls-with-chain",
			chain:      []any{"INT", "ROOT"},
			secretType: SecretTypeTLS,
			transform:  v1beta1.Transformation{ExcludeRaw: true},
			want: map[string]string{
				"ca_chain":    "INT\nROOT",
				"tls.crt":     "CERT\nINT\nROOT",
				"tls.key":     "KEY",
				"expiration":  "1700000000",
				"certificate": "CERT", "issuing_ca": "ISSUER", "private_key": "KEY",
				"private_key_type": "rsa", "serial_number": "01:02",
			},
			wantNotKeys:  []string{"ca.crt"},
			normalizeErr: assert.NoError,
		},
		{
			name:       "tls-empty-chain-uses-issuing-ca",
			chain:      []any{},
			secretType: SecretTypeTLS,
			transform:  v1beta1.Transformation{ExcludeRaw: true},
			want: map[string]string{
				// "[]" is non-empty, so VSO rewrites it to the joined (empty)
				// chain, and tls.crt falls back to issuing_ca.
				"ca_chain": "",
				"tls.crt":  "CERT\nISSUER",
				"ca.crt":   "ISSUER",
			},
			normalizeErr: assert.NoError,
		},
		{
			name:       "tls-no-chain-uses-issuing-ca",
			secretType: SecretTypeTLS,
			transform:  v1beta1.Transformation{ExcludeRaw: true},
			want: map[string]string{
				"tls.crt": "CERT\nISSUER",
				"ca.crt":  "ISSUER",
				"tls.key": "KEY",
			},
			wantNotKeys:  []string{"ca_chain"},
			normalizeErr: assert.NoError,
		},
		{
			name:       "opaque-only-joins-chain",
			chain:      []any{"INT", "ROOT"},
			secretType: "Opaque",
			transform:  v1beta1.Transformation{},
			want: map[string]string{
				"ca_chain": "INT\nROOT",
				"_raw": `{"ca_chain":["INT","ROOT"],"certificate":"CERT","expiration":1700000000,` +
					`"issuing_ca":"ISSUER","private_key":"KEY","private_key_type":"rsa","serial_number":"01:02"}`,
			},
			wantNotKeys:  []string{"tls.crt", "tls.key", "ca.crt"},
			normalizeErr: assert.NoError,
		},
		{
			name:       "tls-with-templates-no-layout",
			chain:      []any{"INT"},
			secretType: SecretTypeTLS,
			transform: v1beta1.Transformation{ExcludeRaw: true, Templates: map[string]v1beta1.Template{
				// templates see ca_chain as the list
				"chain-len": tmpl(`{{ len .Secrets.ca_chain }}`),
			}},
			want:         map[string]string{"ca_chain": "INT", "chain-len": "1"},
			wantNotKeys:  []string{"tls.crt", "tls.key", "ca.crt"},
			normalizeErr: assert.NoError,
		},
		{
			name:       "chain-excluded",
			chain:      []any{"INT"},
			secretType: SecretTypeTLS,
			transform:  v1beta1.Transformation{ExcludeRaw: true, Excludes: []string{"^ca_chain$"}},
			want: map[string]string{
				"tls.crt": "CERT\nISSUER",
				"ca.crt":  "ISSUER",
			},
			wantNotKeys:  []string{"ca_chain"},
			normalizeErr: assert.NoError,
		},
		{
			name:         "chain-not-strings",
			chain:        []any{"INT", jsonNumber("1")},
			secretType:   SecretTypeTLS,
			transform:    v1beta1.Transformation{ExcludeRaw: true},
			normalizeErr: errEqual("PKI response: ca_chain[1] is a json.Number, not a string"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := pkiResponse(tt.chain)
			r := Resolved{Spec: tt.transform}
			data, err := Build(r, Input{Namespace: "ns", Name: "cert", Fields: resp, Response: resp})
			require.NoError(t, err)
			if !tt.normalizeErr(t, NormalizePKI(data, resp)) {
				return
			}
			TLSLayout(data, tt.secretType, HasTemplates(r))
			for k, v := range tt.want {
				assert.Equal(t, v, string(data[k]), k)
			}
			for _, k := range tt.wantNotKeys {
				assert.NotContains(t, data, k)
			}
		})
	}
}

func TestTLSLayoutMissingKeys(t *testing.T) {
	t.Parallel()
	data := map[string][]byte{"issuing_ca": []byte("CA")}
	TLSLayout(data, SecretTypeTLS, false)
	assert.Equal(t, map[string][]byte{"issuing_ca": []byte("CA")}, data)

	cert := []byte("CERT")
	data = map[string][]byte{"certificate": cert[:4:4], "ca_chain": []byte("INT")}
	TLSLayout(data, SecretTypeTLS, false)
	assert.Equal(t, "CERT\nINT", string(data["tls.crt"]))
	assert.Equal(t, "CERT", string(data["certificate"]), "certificate is not aliased")
}

func TestNormalizePKIShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		chain   any
		want    string
		wantErr assert.ErrorAssertionFunc
	}{
		{"strings", []string{"A", "B"}, "A\nB", assert.NoError},
		{"missing", nil, "", assert.NoError},
		{"not-a-list", "A", "", errEqual("PKI response: ca_chain is a string, not a list")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := map[string][]byte{"ca_chain": []byte(`["x"]`)}
			err := NormalizePKI(data, map[string]any{"ca_chain": tt.chain})
			if tt.wantErr(t, err) && err == nil {
				assert.Equal(t, tt.want, string(data["ca_chain"]))
			}
		})
	}
	// No ca_chain in the data: nothing to do, even with a bad response.
	data := map[string][]byte{}
	require.NoError(t, NormalizePKI(data, map[string]any{"ca_chain": 1}))
	assert.Empty(t, data)
}
