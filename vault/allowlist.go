package vault

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// EnvAllowedVaultAddresses names the operator's allow-list of Vault
// addresses: comma-separated scheme://host[:port].
const EnvAllowedVaultAddresses = "VAULTCMP_ALLOWED_VAULT_ADDRESSES"

// AllowList is the set of Vault addresses the operator allows credentials
// (service-account tokens, AppRole secret-ids, JWTs, Vault tokens) to be sent
// to. A repository chooses a VaultConnection's address; the operator chooses
// where a credential may go. The zero AllowList allows nothing.
type AllowList struct {
	origins map[string]bool // canonical scheme://host:port
}

// ParseAllowList reads entries, each a comma-separated list of
// scheme://host[:port] (http or https; no path, query or credentials).
// Empty items are ignored.
func ParseAllowList(entries ...string) (AllowList, error) {
	l := AllowList{origins: map[string]bool{}}
	for _, e := range entries {
		for _, item := range strings.Split(e, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			o, err := origin(item)
			if err != nil {
				return AllowList{}, fmt.Errorf("%s: %w", EnvAllowedVaultAddresses, err)
			}
			l.origins[o] = true
		}
	}
	return l, nil
}

// Len is the number of allowed addresses.
func (l AllowList) Len() int { return len(l.origins) }

// String lists the allowed addresses, sorted.
func (l AllowList) String() string {
	out := make([]string, 0, len(l.origins))
	for o := range l.origins {
		out = append(out, o)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Check returns nil when address is allowed, else an error that says which
// setting allows it.
func (l AllowList) Check(address string) error {
	o, err := origin(address)
	if err != nil {
		return fmt.Errorf("Vault address %q: %w", address, err)
	}
	if l.origins[o] {
		return nil
	}
	if len(l.origins) == 0 {
		return fmt.Errorf("no credential is sent to Vault at %s: %s is not set (the operator lists the Vault addresses credentials may go to, comma-separated scheme://host[:port])",
			o, EnvAllowedVaultAddresses)
	}
	return fmt.Errorf("no credential is sent to Vault at %s: it is not in %s (%s); point the VaultConnection at an allowed Vault or ask the operator to allow it",
		o, EnvAllowedVaultAddresses, l.String())
}

// refuse is the *Error of an op on address that l does not allow, or nil;
// a nil list allows every address (render without an allow-list).
func (l *AllowList) refuse(op, address, namespace, path string) error {
	if l == nil {
		return nil
	}
	if err := l.Check(address); err != nil {
		return &Error{Op: op, Address: address, Namespace: namespace, Path: path, Reason: ReasonNotAllowed, Err: err}
	}
	return nil
}

// origin is address's canonical scheme://host:port.
func origin(address string) (string, error) {
	u, err := url.Parse(address)
	if err != nil {
		return "", fmt.Errorf("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("want scheme://host[:port] with scheme http or https")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" || u.Opaque != "" {
		return "", fmt.Errorf("want scheme://host[:port], with no user, path, query or fragment")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return "", fmt.Errorf("no host")
	}
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// allowedOnly is the last line behind [Session]'s own check: the transport
// of every client refuses a request to an address not in the list, whatever
// built the request (a redirect, a retry, a future code path).
type allowedOnly struct {
	allow AllowList
	next  http.RoundTripper
}

func (t allowedOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.allow.Check(r.URL.Scheme + "://" + r.URL.Host); err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(r)
}
