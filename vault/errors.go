package vault

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/hashicorp/vault/api"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/limits"
)

// Reason classifies a Vault failure by what the user has to do about it.
type Reason string

// The reasons a Vault operation fails.
const (
	ReasonForbidden   Reason = "forbidden"
	ReasonNotFound    Reason = "not found"
	ReasonSealed      Reason = "sealed"
	ReasonUnreachable Reason = "unreachable"
	ReasonTimeout     Reason = "timeout"
	ReasonTLS         Reason = "tls"
	ReasonBadRequest  Reason = "bad request"
	ReasonServer      Reason = "server error"
	ReasonLogin       Reason = "login failed"
	ReasonConfig      Reason = "configuration"
	ReasonCanceled    Reason = "canceled"
	ReasonCredentials Reason = "credentials"
	ReasonNotAllowed  Reason = "address not allowed"
	ReasonLimit       Reason = "limit exceeded"
	ReasonRateLimited Reason = "rate limited"
	ReasonRedirect    Reason = "redirect not followed"
)

// maxRemoteText bounds what of a remote error body reaches a message.
const maxRemoteText = 256

// Error is a failed Vault operation. Its message never holds a secret value:
// only the operation, address, path, status and Vault's own error strings.
type Error struct {
	Op        string // "login" or "read"
	Address   string // Vault address
	Namespace string // Vault namespace, if any
	Path      string // Vault API path, e.g. "secret/data/webapp/config"
	Status    int    // HTTP status, 0 when no response came back
	Reason    Reason
	Messages  []string // Vault's error strings, or warnings on a 404
	Err       error
	hint      string // a more precise hint than the Reason's
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Op, safetext.Clean(e.Path))
	if e.Namespace != "" {
		fmt.Fprintf(&b, " (namespace %s)", safetext.Clean(e.Namespace))
	}
	fmt.Fprintf(&b, " at %s: ", safetext.Clean(e.Address))
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d %s", e.Status, http.StatusText(e.Status))
	} else {
		b.WriteString(string(e.Reason))
	}
	if len(e.Messages) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(e.Messages, "; "))
	} else if e.Status == 0 && e.Err != nil {
		fmt.Fprintf(&b, ": %s", cause(e.Err))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Hint tells the user what to check for this kind of failure.
func (e *Error) Hint() string {
	if e.hint != "" {
		return e.hint
	}
	switch e.Reason {
	case ReasonNotAllowed:
		return "credentials go only to the Vault addresses the operator allowed (" + EnvAllowedVaultAddresses + "): point the VaultConnection at one of them, or ask the operator to add this one"
	case ReasonCredentials:
		return "vaultcmp could not get the credential to log in with: see the message"
	case ReasonForbidden:
		if e.Op == "login" {
			return "the login was refused: check the auth role, its bound service accounts/namespaces and the credentials"
		}
		return "the token's policies do not allow this read: grant \"read\" on " + policyPath(e.Path) + " to the Vault role used by the VaultAuth"
	case ReasonNotFound:
		if e.Op == "login" {
			return "no auth method is mounted there: check the VaultAuth's mount and method"
		}
		return "check the mount, the path and the KV version (type: kv-v1 or kv-v2, and version) of the Vault object"
	case ReasonSealed:
		return "Vault is sealed: unseal it (vault operator unseal) and retry"
	case ReasonUnreachable:
		return "Vault cannot be reached: check the VaultConnection address (or VAULT_ADDR), DNS and network policy"
	case ReasonTimeout:
		return "Vault did not answer in time: check its health and load, or raise the VaultConnection timeout"
	case ReasonTLS:
		return "the TLS handshake failed: set the VaultConnection's caCertSecretRef (render: --vault-cacert or $VAULT_CACERT) or tlsServerName"
	case ReasonLogin:
		return "the login was refused: check the auth role and credentials of the VaultAuth"
	case ReasonBadRequest:
		return "Vault rejected the request: check the object's parameters"
	case ReasonConfig:
		return "fix the VaultConnection/VaultAuth settings"
	case ReasonRateLimited:
		return "Vault's rate limit quota was reached: it is retried later"
	case ReasonRedirect:
		return "Vault redirected the request (a standby node?): point the VaultConnection at the active node or a load balancer"
	case ReasonCanceled:
		return "the render was interrupted (signal or Argo CD's timeout); run it again"
	case ReasonLimit:
		return "the answer is larger than vaultcmp accepts: check that the address is Vault's, or raise the limit named in the message"
	default:
		return "Vault answered with an error: check Vault's server log"
	}
}

func policyPath(p string) string {
	if p == "" {
		return "the path"
	}
	return `"` + p + `"`
}

// cause gives a short, secret-free description of a transport error.
func cause(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return safetext.Remote(err.Error(), 2*maxRemoteText)
}

// CredentialError is a failure to get the credential a login needs (a
// service-account token, a Kubernetes Secret) before Vault is asked. Its
// message must already be secret-free.
type CredentialError struct {
	Err  error
	Hint string
}

func (e *CredentialError) Error() string { return e.Err.Error() }
func (e *CredentialError) Unwrap() error { return e.Err }

// classify turns an error from vault/api into an *Error.
func classify(op, address, namespace, path string, err error) *Error {
	e := &Error{Op: op, Address: address, Namespace: namespace, Path: path, Err: err}
	var rerr *api.ResponseError
	var credErr *CredentialError
	var cerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var nerr net.Error
	var derr *net.DNSError
	var redir *RedirectError
	var lerr *limits.Error
	switch {
	case errors.As(err, &redir):
		e.Reason = ReasonRedirect
		e.Status = redir.Status
		e.Messages = []string{"redirect to " + redir.Location + " not followed"}
	case errors.As(err, &lerr):
		e.Reason = ReasonLimit
	case errors.As(err, &credErr):
		e.Reason = ReasonCredentials
		e.hint = credErr.Hint
	case errors.As(err, &rerr):
		e.Status = rerr.StatusCode
		e.Messages = cleanMessages(rerr.Errors)
		e.Reason = reasonFor(op, rerr.StatusCode, rerr.Errors)
	case errors.Is(err, context.DeadlineExceeded):
		e.Reason = ReasonTimeout
	case errors.As(err, &cerr), errors.As(err, &herr), strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "x509:"):
		e.Reason = ReasonTLS
	case errors.As(err, &nerr) && nerr.Timeout():
		e.Reason = ReasonTimeout
	case errors.Is(err, context.Canceled):
		e.Reason = ReasonCanceled
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.As(err, &derr),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.As(err, new(*net.OpError)):
		e.Reason = ReasonUnreachable
	default:
		e.Reason = ReasonServer
	}
	return e
}

func reasonFor(op string, status int, msgs []string) Reason {
	switch {
	case status == http.StatusForbidden:
		return ReasonForbidden
	case status == http.StatusNotFound:
		return ReasonNotFound
	case status == http.StatusTooManyRequests:
		return ReasonRateLimited
	case status == http.StatusServiceUnavailable && containsAny(msgs, "sealed"):
		return ReasonSealed
	case status == http.StatusBadRequest && op == "login":
		return ReasonLogin
	case status == http.StatusBadRequest:
		return ReasonBadRequest
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return ReasonTimeout
	case status == http.StatusServiceUnavailable && containsAny(msgs, "standby", "not active"):
		return ReasonServer
	default:
		return ReasonServer
	}
}

func containsAny(msgs []string, subs ...string) bool {
	for _, m := range msgs {
		for _, s := range subs {
			if strings.Contains(strings.ToLower(m), s) {
				return true
			}
		}
	}
	return false
}

// cleanMessages flattens Vault's multierror texts ("1 error occurred:\n\t* permission denied\n\n")
// into their items.
func cleanMessages(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		if !strings.Contains(m, "occurred:") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, safetext.Remote(m, maxRemoteText))
			}
			continue
		}
		for _, line := range strings.Split(m, "\n") {
			if item, ok := strings.CutPrefix(strings.TrimSpace(line), "* "); ok {
				out = append(out, safetext.Remote(item, maxRemoteText))
			}
		}
	}
	return out
}
