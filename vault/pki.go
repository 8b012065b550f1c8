package vault

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// PKIRequest is one certificate issue (VSO's VaultPKISecret).
type PKIRequest struct {
	Identity  *Identity
	Namespace string
	Mount     string // "pki"
	Role      string
	// IssuerRef, when set, issues from that issuer:
	// <mount>/issuer/<ref>/issue/<role>; else <mount>/issue/<role>.
	IssuerRef string

	CommonName, Format, PrivateKeyFormat, NotAfter string
	AltNames, IPSans, URISans, OtherSans, UserIDs  []string
	TTL                                            time.Duration
	ExcludeCNFromSans                              bool
}

// Certificate is an issued certificate.
type Certificate struct {
	// Data is Vault's response data: certificate, private_key, issuing_ca,
	// ca_chain, serial_number, expiration, private_key_type.
	Data       map[string]any
	Serial     string
	Expiration time.Time
}

// APIPath is the path under /v1/ the issue goes to.
func (r PKIRequest) APIPath() string {
	m := trimSlashes(r.Mount)
	if r.IssuerRef != "" {
		return path.Join(m, "issuer", trimSlashes(r.IssuerRef), "issue", trimSlashes(r.Role))
	}
	return path.Join(m, "issue", trimSlashes(r.Role))
}

// params is the request body, as VSO sends it: every field (empty when
// unset), format and private_key_format only when set, roots removed from
// the chain.
func (r PKIRequest) params() map[string]any {
	ttl := ""
	if r.TTL > 0 {
		ttl = r.TTL.String()
	}
	p := map[string]any{
		"common_name":             r.CommonName,
		"alt_names":               strings.Join(r.AltNames, ","),
		"ip_sans":                 strings.Join(r.IPSans, ","),
		"uri_sans":                strings.Join(r.URISans, ","),
		"other_sans":              strings.Join(r.OtherSans, ","),
		"user_ids":                strings.Join(r.UserIDs, ","),
		"ttl":                     ttl,
		"not_after":               r.NotAfter,
		"exclude_cn_from_sans":    r.ExcludeCNFromSans,
		"remove_roots_from_chain": true,
	}
	if r.Format != "" {
		p["format"] = r.Format
	}
	if r.PrivateKeyFormat != "" {
		p["private_key_format"] = r.PrivateKeyFormat
	}
	return p
}

// IssueCertificate issues a certificate from a PKI role (a write to
// <mount>/issue/<role> or <mount>/issuer/<ref>/issue/<role>).
func (l *Lifecycle) IssueCertificate(ctx context.Context, req PKIRequest) (*Certificate, error) {
	p := req.APIPath()
	if req.Identity == nil {
		return nil, &Error{Op: "issue", Path: p, Reason: ReasonConfig, Err: errors.New("no identity")}
	}
	if err := checkRelative("issue", req.Identity, p, req.Mount, req.Role, req.IssuerRef); err != nil {
		return nil, err
	}
	if req.Mount == "" || req.Role == "" {
		return nil, &Error{Op: "issue", Address: req.Identity.Connection.Address, Path: p, Reason: ReasonConfig, Err: errors.New("mount and role are required")}
	}
	params := req.params()
	s, _, err := l.do(ctx, request{op: "issue", ns: req.Namespace, path: p, id: req.Identity, lease: leaseHold,
		send: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			return c.Logical().WriteWithContext(ctx, p, params)
		}})
	if err != nil {
		return nil, err
	}
	bad := func(msg string) error {
		return &Error{Op: "issue", Address: req.Identity.Connection.Address, Namespace: req.Namespace, Path: p, Status: http.StatusOK,
			Reason: ReasonServer, Messages: []string{msg}}
	}
	if s == nil || s.Data == nil {
		return nil, bad("Vault returned no certificate")
	}
	serial, _ := s.Data["serial_number"].(string)
	if serial == "" {
		return nil, bad("the response has no serial_number")
	}
	exp, ok := jsonTime(s.Data["expiration"])
	if !ok {
		return nil, bad("the response has no expiration")
	}
	return &Certificate{Data: s.Data, Serial: serial, Expiration: exp}, nil
}

// RevokeCertificate revokes the certificate with serial, proving
// possession with its private key (PEM): a write to <mount>/revoke-with-key,
// which Vault refuses unless the key matches the certificate. A policy may
// then grant it to every app without letting one app revoke another's
// certificates by serial (<mount>/revoke, which takes any serial, is not
// used). Revoking an expired certificate is not an error here (Vault
// answers 400 "certificate already expired", or warns).
func (l *Lifecycle) RevokeCertificate(ctx context.Context, id *Identity, mount, serial, privateKeyPEM string) error {
	p := path.Join(trimSlashes(mount), "revoke-with-key")
	if id == nil {
		return &Error{Op: "revoke", Path: p, Reason: ReasonConfig, Err: errors.New("no identity")}
	}
	if err := checkRelative("revoke", id, p, mount); err != nil {
		return err
	}
	if serial == "" {
		return &Error{Op: "revoke", Address: id.Connection.Address, Path: p, Reason: ReasonConfig, Err: errors.New("no serial number")}
	}
	if privateKeyPEM == "" {
		return &Error{Op: "revoke", Address: id.Connection.Address, Path: p, Reason: ReasonConfig, Err: ErrNoPrivateKey}
	}
	body := map[string]any{"serial_number": serial, "private_key": privateKeyPEM}
	_, _, err := l.do(ctx, request{op: "revoke", path: p, id: id,
		send: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			return c.Logical().WriteWithContext(ctx, p, body)
		}})
	var verr *Error
	if errors.As(err, &verr) && verr.Status == http.StatusBadRequest && containsAny(verr.Messages, "already expired") {
		return nil
	}
	return err
}

// ErrNoPrivateKey is RevokeCertificate's error when the certificate's
// private key is not at hand: without it, possession cannot be proven.
var ErrNoPrivateKey = errors.New("no private key to prove possession of the certificate (revoke-with-key)")
