package identity

import (
	"fmt"

	"github.com/vaultcmp/vaultcmp/contract"
)

// Contract is p by names, as the companion's contract carries it. The CA
// is named only with a VaultAuth (a plan without one cannot be used by the
// companion anyway); no credential is in it.
func (p *Plan) Contract() (contract.Connection, *contract.Auth) {
	conn := p.Connection
	c := contract.Connection{
		Address:       conn.Address,
		Headers:       conn.Headers,
		TLSServerName: conn.TLSServerName,
		SkipTLSVerify: conn.SkipTLSVerify,
	}
	if conn.Timeout > 0 {
		c.Timeout = conn.Timeout.String()
	}
	pa := p.Auth
	if pa == nil {
		return c, nil
	}
	if p.CACert != nil {
		c.CACertSecretRef = p.CACert.Name
	}
	a := &contract.Auth{
		Method: pa.Method, Mount: pa.Mount, Namespace: pa.Namespace, Role: pa.Role,
		ServiceAccount: pa.ServiceAccount, Audiences: pa.Audiences, TokenSeconds: pa.TokenSeconds, Headers: pa.Headers,
	}
	if r := pa.SecretRef; r != nil {
		a.SecretRef = &contract.SecretKeyRef{Name: r.Name, Key: r.Key}
	}
	if x := pa.AWS; x != nil {
		cp := *x
		a.AWS = &cp
	}
	if x := pa.GCP; x != nil {
		cp := *x
		a.GCP = &cp
	}
	return c, a
}

// FromContract is the plan a contract carries, for a carrier in namespace
// ns: every Secret and service account it names is read in ns (the
// companion's tenancy boundary). The plan logs in (Login); without an Auth
// in the contract, Fetch refuses it with ErrNoAuth.
func FromContract(ns string, c *contract.V1) (*Plan, error) {
	cc := c.Connection
	d, err := timeout(cc.Timeout)
	if err != nil {
		return nil, fmt.Errorf("connection.timeout: %w", err)
	}
	p := &Plan{Consumer: ns, Login: true}
	p.Connection.Address, p.Connection.Headers, p.Connection.TLSServerName = cc.Address, cc.Headers, cc.TLSServerName
	p.Connection.SkipTLSVerify, p.Connection.Timeout = cc.SkipTLSVerify, d
	if cc.CACertSecretRef != "" {
		p.CACert = &SecretKey{Namespace: ns, Name: cc.CACertSecretRef, Key: "ca.crt"}
	}
	if ca := c.Auth; ca != nil {
		p.Auth = &Auth{
			Method: ca.Method, Mount: ca.Mount, Namespace: ca.Namespace, Role: ca.Role,
			ServiceAccount: ca.ServiceAccount, Audiences: ca.Audiences, TokenSeconds: ca.TokenSeconds, Headers: ca.Headers,
		}
		if r := ca.SecretRef; r != nil {
			p.Auth.SecretRef = &SecretKey{Namespace: ns, Name: r.Name, Key: r.Key}
		}
		if x := ca.AWS; x != nil {
			cp := *x
			p.Auth.AWS = &cp
		}
		if x := ca.GCP; x != nil {
			cp := *x
			p.Auth.GCP = &cp
		}
	}
	return p, nil
}
