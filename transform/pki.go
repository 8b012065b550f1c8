package transform

import (
	"fmt"
	"slices"
	"strings"
)

// Secret keys of the kubernetes.io/tls layout.
const (
	SecretTypeTLS = "kubernetes.io/tls"
	KeyTLSCert    = "tls.crt"
	KeyTLSKey     = "tls.key"
	KeyCACert     = "ca.crt"
)

// NormalizePKI applies VSO's VaultPKISecret fix-up of ca_chain to the data
// Build returned: if data has a non-empty "ca_chain" (the JSON array Build
// wrote), it becomes the response's ca_chain PEMs joined with "\n". Call it
// after Build and before TLSLayout, for VaultPKISecret only.
//
// It works on Build's output rather than on Input.Fields because VSO does:
// templates see .Secrets.ca_chain as the array, and _raw keeps the array.
// An error means the response's ca_chain is not a list of strings (VSO fails
// to decode such a response); it does not contain the value.
func NormalizePKI(data map[string][]byte, response map[string]any) error {
	if len(data["ca_chain"]) == 0 {
		return nil
	}
	var chain []string
	switch v := response["ca_chain"].(type) {
	case nil:
	case []string:
		chain = v
	case []any:
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("PKI response: ca_chain[%d] is a %T, not a string", i, e)
			}
			chain = append(chain, s)
		}
	default:
		return fmt.Errorf("PKI response: ca_chain is a %T, not a list", v)
	}
	data["ca_chain"] = []byte(strings.Join(chain, "\n"))
	return nil
}

// TLSLayout adds VSO's kubernetes.io/tls keys for a VaultPKISecret: when
// secretType is kubernetes.io/tls and the transformation has no templates
// (HasTemplates, which counts source templates), tls.crt = certificate + "\n" +
// ca_chain, or + "\n" + issuing_ca when ca_chain is empty (then ca.crt =
// issuing_ca too), and tls.key = private_key. A key is only written when its
// source key is present. The original keys stay. Call it after NormalizePKI.
func TLSLayout(data map[string][]byte, secretType string, hasTemplates bool) {
	if secretType != SecretTypeTLS || hasTemplates {
		return
	}
	if cert, ok := data["certificate"]; ok {
		crt := slices.Clone(cert)
		if chain := data["ca_chain"]; len(chain) > 0 {
			crt = append(append(crt, '\n'), chain...)
		} else if ca := data["issuing_ca"]; len(ca) > 0 {
			crt = append(append(crt, '\n'), ca...)
			data[KeyCACert] = slices.Clone(ca)
		}
		data[KeyTLSCert] = crt
	}
	if key, ok := data["private_key"]; ok {
		data[KeyTLSKey] = slices.Clone(key)
	}
}
