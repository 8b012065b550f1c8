package vault

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
)

// Connection says where Vault is and how to reach it (VSO's VaultConnection).
type Connection struct {
	Address       string
	Headers       map[string]string // sent with every request
	TLSServerName string
	CACert        []byte // PEM; the system's roots when empty. Never read from a path a manifest names.
	SkipTLSVerify bool
	Timeout       time.Duration // per request; 0 keeps vault/api's default
}

// LoginFunc logs in with a fresh client and returns Vault's auth response.
// It is the seam for every auth method: see [AppRoleAuth].
type LoginFunc func(ctx context.Context, c *api.Client) (*api.Secret, error)

// Auth says how to get a token (VSO's VaultAuth, resolved).
type Auth struct {
	Method    string            // "token", "appRole", "kubernetes", "jwt", ...
	Mount     string            // auth mount, e.g. "approle"
	Namespace string            // Vault namespace to log in to
	Role      string            // role name or id; part of the identity, never secret
	Subject   string            // who logs in (e.g. "ns/serviceaccount"); part of the identity
	Audiences []string          // token audiences of a service-account login; part of the identity
	Headers   map[string]string // added to the login request
	// Secret is the credential (token, secret-id, JWT). It only feeds a keyed
	// HMAC in the identity key and is never printed.
	Secret string
	Login  LoginFunc // nil for Method "token": Secret is the token
}

// TokenAuth uses a ready token (VAULT_TOKEN): no login.
func TokenAuth(token string) Auth {
	return Auth{Method: "token", Secret: token}
}

// AppRoleAuth logs in with AppRole through vault/api's approle module.
func AppRoleAuth(mount, roleID, secretID string) Auth {
	return Auth{
		Method: "appRole",
		Mount:  mount,
		Role:   roleID,
		Secret: secretID,
		Login: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			a, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromString: secretID}, approle.WithMountPath(mount))
			if err != nil {
				return nil, err
			}
			return c.Auth().Login(ctx, a)
		},
	}
}

// JWTSource gives the JWT of a jwt or kubernetes login when the login is
// sent (a TokenRequest, or a token read from a Secret), so that a login
// saved by a cached Vault token mints nothing.
type JWTSource func(ctx context.Context) (string, error)

// JWTAuth logs in with a JWT from source: Vault's jwt and kubernetes auth
// methods share the wire format (POST auth/<mount>/login {role, jwt});
// method ("jwt" or "kubernetes") only names the identity. A failure of
// source is a [*CredentialError]. Set Subject and Audiences for a
// service-account login, Secret for a fixed token (see [JWTTokenAuth]).
func JWTAuth(method, mount, role string, source JWTSource) Auth {
	return Auth{
		Method: method,
		Mount:  mount,
		Role:   role,
		Login: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			jwt, err := source(ctx)
			if err != nil {
				return nil, &CredentialError{Err: err}
			}
			return c.Logical().WriteWithContext(ctx, "auth/"+strings.Trim(mount, "/")+"/login",
				map[string]any{"role": role, "jwt": jwt})
		},
	}
}

// JWTTokenAuth is JWTAuth with a fixed token (a jwt secretRef), which
// enters the identity as its Secret.
func JWTTokenAuth(method, mount, role, token string) Auth {
	a := JWTAuth(method, mount, role, func(context.Context) (string, error) { return token, nil })
	a.Secret = token
	return a
}

// Identity is one Vault identity: where and as whom. Two identities with
// equal keys share one client and one login.
type Identity struct {
	Connection Connection
	Auth       Auth

	keyOnce sync.Once
	key     string
}

// processKey keys the HMAC that stands for credentials in identity keys, so
// that keys held in memory never contain a credential.
var processKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err)
	}
	return k
}()

// Key is the identity's canonical key. Credentials appear only as a keyed
// HMAC. It is computed once: an Identity must not change after its first use.
func (id *Identity) Key() string {
	id.keyOnce.Do(func() { id.key = id.computeKey() })
	return id.key
}

func (id *Identity) computeKey() string {
	return id.digest(processKey, true)
}

// CacheKey is the identity's key in a TokenCache shared by processes. An
// identity that logs in as a Subject (a service account) is that subject,
// whatever short-lived token proved it; any other identity includes its
// credential, as an HMAC keyed with key (stable across processes).
func (id *Identity) CacheKey(key []byte) string {
	return "v2\x00" + id.digest(key, id.Auth.Subject == "")
}

// digest joins the identity's fields; the credential (when withSecret), the
// CA and header values (which may carry credentials for a proxy) enter only
// through an HMAC keyed with macKey.
func (id *Identity) digest(macKey []byte, withSecret bool) string {
	c, a := id.Connection, id.Auth
	mac := hmac.New(sha256.New, macKey)
	secret := ""
	if withSecret {
		secret = a.Secret
	}
	for _, part := range []string{secret, string(c.CACert), mapString(c.Headers), mapString(a.Headers)} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	parts := []string{
		"addr=" + strings.TrimRight(c.Address, "/"),
		"sni=" + c.TLSServerName,
		"skip=" + boolString(c.SkipTLSVerify),
		"timeout=" + c.Timeout.String(),
		"hdr=" + strings.Join(slices.Sorted(maps.Keys(c.Headers)), ","),
		"method=" + a.Method,
		"mount=" + a.Mount,
		"ns=" + a.Namespace,
		"role=" + a.Role,
		"subject=" + a.Subject,
		"aud=" + strings.Join(a.Audiences, ","),
		"lhdr=" + strings.Join(slices.Sorted(maps.Keys(a.Headers)), ","),
		"cred=" + hex.EncodeToString(mac.Sum(nil)),
	}
	return strings.Join(parts, "\x00")
}

// LoginPath is the Vault path the login goes to, for messages.
func (a Auth) LoginPath() string {
	if a.Method == "token" {
		return "auth/token/lookup-self"
	}
	return "auth/" + strings.Trim(a.Mount, "/") + "/login"
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func mapString(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
		b.WriteByte(';')
	}
	return b.String()
}
