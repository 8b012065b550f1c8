package vault

import (
	"context"
	"errors"
	"strings"

	"github.com/hashicorp/vault/api"
)

// GCPJWT gives the JWT of a gcp iam login when the login is sent: signed
// by Google (iamcredentials signJwt) as the Google service account the app
// impersonates. Its errors must be secret-free and name the step that
// failed; a *[CredentialError] keeps its hint.
type GCPJWT func(ctx context.Context) (string, error)

// GCPLogin is what Vault's gcp auth method (iam role type) needs: the
// role and a JWT signed as a Google service account, with sub the
// account's email and aud vault/<role>.
type GCPLogin struct {
	Mount string
	Role  string // the Vault role
	JWT   GCPJWT
}

// GCPAuth logs in with Vault's gcp auth method, iam type: Vault checks
// the JWT's signature with the service account's public keys and the
// account against the role.
func GCPAuth(l GCPLogin) Auth {
	return Auth{
		Method: "gcp",
		Mount:  l.Mount,
		Role:   l.Role,
		Login: func(ctx context.Context, c *api.Client) (*api.Secret, error) {
			if l.JWT == nil {
				return nil, &CredentialError{Err: errors.New("gcp: no JWT source")}
			}
			jwt, err := l.JWT(ctx)
			if err != nil {
				var ce *CredentialError
				if errors.As(err, &ce) {
					return nil, err
				}
				return nil, &CredentialError{Err: err}
			}
			return c.Logical().WriteWithContext(ctx, "auth/"+strings.Trim(l.Mount, "/")+"/login",
				map[string]any{"role": l.Role, "jwt": jwt})
		},
	}
}
