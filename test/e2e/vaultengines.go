package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// Names the seed document uses (Step 4 and Step 5).
const (
	SeedDBRole  = "webapp-readonly"
	SeedPKIRole = "webapp-cert"
	SeedCN      = "webapp.corp.com"
)

// SeedSANs are the seed's altNames of webapp-tls-secret.
var SeedSANs = []string{"webapp.webapp-ns.svc", "webapp.webapp-ns.svc.cluster.local"}

// DatabaseEngine is Vault's database secrets engine configured against a
// [Postgres] (the `postgresql-database-plugin` built into Vault).
type DatabaseEngine struct {
	Vault      *VaultServer
	PG         *Postgres
	Mount      string // e.g. "database"
	Connection string // the engine's connection name
}

// EnableDatabase mounts the database secrets engine at mount (if it is not
// mounted yet) and configures a connection to pg as [PostgresAdmin],
// allowing every role. Roles are added with [DatabaseEngine.Role] and
// [DatabaseEngine.StaticRole].
func (v *VaultServer) EnableDatabase(ctx context.Context, pg *Postgres, mount string) (*DatabaseEngine, error) {
	if err := v.mount(ctx, mount, "database"); err != nil {
		return nil, err
	}
	db := &DatabaseEngine{Vault: v, PG: pg, Mount: mount, Connection: "postgres-e2e"}
	_, err := v.Client.Logical().WriteWithContext(ctx, mount+"/config/"+db.Connection, map[string]any{
		"plugin_name":       "postgresql-database-plugin",
		"connection_url":    pg.ConnectionURL(),
		"username":          PostgresAdmin,
		"password":          PostgresAdminPassword,
		"allowed_roles":     "*",
		"verify_connection": true,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring %s/config/%s: %w", mount, db.Connection, err)
	}
	return db, nil
}

// Role writes a dynamic role: each read of <mount>/creds/<name> creates a
// PostgreSQL login role valid for defaultTTL (renewable up to maxTTL) that
// may read public tables; Vault drops it on revoke or expiry.
func (db *DatabaseEngine) Role(ctx context.Context, name string, defaultTTL, maxTTL time.Duration) error {
	_, err := db.Vault.Client.Logical().WriteWithContext(ctx, db.Mount+"/roles/"+name, map[string]any{
		"db_name": db.Connection,
		"creation_statements": []string{
			`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
			`GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
		},
		"default_ttl": int(defaultTTL / time.Second),
		"max_ttl":     int(maxTTL / time.Second),
	})
	if err != nil {
		return fmt.Errorf("writing %s/roles/%s: %w", db.Mount, name, err)
	}
	return nil
}

// StaticRole creates the PostgreSQL login role user and hands it to Vault
// as a static role (read at <mount>/static-creds/<name>): Vault sets its
// password now and rotates it every rotation (at least 5 s).
func (db *DatabaseEngine) StaticRole(ctx context.Context, name, user string, rotation time.Duration) error {
	q := fmt.Sprintf(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%[1]s') THEN CREATE ROLE "%[1]s" WITH LOGIN; END IF; END $$;`, user)
	if _, err := db.PG.SQL(ctx, q); err != nil {
		return fmt.Errorf("creating the PostgreSQL role %s: %w", user, err)
	}
	_, err := db.Vault.Client.Logical().WriteWithContext(ctx, db.Mount+"/static-roles/"+name, map[string]any{
		"db_name":         db.Connection,
		"username":        user,
		"rotation_period": int(rotation / time.Second),
	})
	if err != nil {
		return fmt.Errorf("writing %s/static-roles/%s: %w", db.Mount, name, err)
	}
	return nil
}

// PKIEngine is Vault's PKI secrets engine with an internal root CA.
type PKIEngine struct {
	Vault *VaultServer
	Mount string
	// CA is the root certificate (PEM) and CACert its parsed form: issued
	// certificates verify against it.
	CA     string
	CACert *x509.Certificate
}

// EnablePKI mounts the PKI engine at mount (max lease TTL 10 years) and
// generates an internal root CA, the issuer "e2e-root"; on a mount that
// has it already, it returns that one.
func (v *VaultServer) EnablePKI(ctx context.Context, mount string) (*PKIEngine, error) {
	if err := v.mount(ctx, mount, "pki"); err != nil {
		return nil, err
	}
	if err := v.Client.Sys().TuneMountAllowNilWithContext(ctx, mount, api.TuneMountConfigInput{MaxLeaseTTL: new("87600h")}); err != nil {
		return nil, fmt.Errorf("tuning %s: %w", mount, err)
	}
	// Mounted before (by another test): keep its root, the default issuer.
	s, err := v.Client.Logical().ReadWithContext(ctx, mount+"/issuer/e2e-root")
	if err != nil || s == nil {
		s, err = v.Client.Logical().WriteWithContext(ctx, mount+"/root/generate/internal", map[string]any{
			"common_name": "vaultcmp e2e root CA",
			"ttl":         "87600h",
			"key_type":    "ec",
			"key_bits":    256,
			"issuer_name": "e2e-root",
		})
		if err != nil {
			return nil, fmt.Errorf("generating the root CA of %s: %w", mount, err)
		}
	}
	caPEM, _ := s.Data["certificate"].(string)
	b, _ := pem.Decode([]byte(caPEM))
	if b == nil {
		return nil, errors.New("the root CA response holds no PEM certificate")
	}
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the root CA: %w", err)
	}
	return &PKIEngine{Vault: v, Mount: mount, CA: caPEM, CACert: ca}, nil
}

// Role writes a PKI role that issues EC P-256 certificates for exactly the
// given names (bare domains, no subdomains), valid at most maxTTL.
// SeedRole is the seed's.
func (p *PKIEngine) Role(ctx context.Context, name string, maxTTL time.Duration, names ...string) error {
	_, err := p.Vault.Client.Logical().WriteWithContext(ctx, p.Mount+"/roles/"+name, map[string]any{
		"allowed_domains":    strings.Join(names, ","),
		"allow_bare_domains": true,
		"allow_subdomains":   false,
		"allow_ip_sans":      true,
		"key_type":           "ec",
		"key_bits":           256,
		"max_ttl":            int(maxTTL / time.Second),
		"ttl":                int(maxTTL / time.Second),
		"no_store":           false, // revocation needs the stored certificate
	})
	if err != nil {
		return fmt.Errorf("writing %s/roles/%s: %w", p.Mount, name, err)
	}
	return nil
}

// SeedRole writes the seed's role webapp-cert: CN webapp.corp.com and the
// seed's SANs.
func (p *PKIEngine) SeedRole(ctx context.Context, maxTTL time.Duration) error {
	return p.Role(ctx, SeedPKIRole, maxTTL, append([]string{SeedCN}, SeedSANs...)...)
}

// Revoked tells whether Vault reports serial revoked (<mount>/cert/<serial>
// has a revocation_time) and whether the current CRL lists it.
func (p *PKIEngine) Revoked(ctx context.Context, serial string) (byCert, onCRL bool, err error) {
	s, err := p.Vault.Client.Logical().ReadWithContext(ctx, p.Mount+"/cert/"+serial)
	if err != nil {
		return false, false, fmt.Errorf("reading %s/cert/%s: %w", p.Mount, serial, err)
	}
	if s == nil {
		return false, false, fmt.Errorf("%s/cert/%s: not found", p.Mount, serial)
	}
	if rt, ok := s.Data["revocation_time"]; ok {
		byCert = fmt.Sprint(rt) != "0" && fmt.Sprint(rt) != ""
	}
	r := p.Vault.Client.NewRequest("GET", "/v1/"+p.Mount+"/crl/pem")
	resp, err := p.Vault.Client.RawRequestWithContext(ctx, r) //nolint:staticcheck // plain PEM, not a secret
	if err != nil {
		return byCert, false, fmt.Errorf("reading the CRL of %s: %w", p.Mount, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return byCert, false, fmt.Errorf("reading the CRL of %s: %w", p.Mount, err)
	}
	b, _ := pem.Decode(body)
	if b == nil {
		return byCert, false, errors.New("the CRL is not PEM")
	}
	crl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		return byCert, false, fmt.Errorf("parsing the CRL: %w", err)
	}
	want := strings.ReplaceAll(strings.ToLower(serial), ":", "")
	for _, e := range crl.RevokedCertificateEntries {
		if fmt.Sprintf("%x", e.SerialNumber) == strings.TrimLeft(want, "0") || fmt.Sprintf("%040x", e.SerialNumber) == want {
			return byCert, true, nil
		}
	}
	return byCert, false, nil
}

// AppRole creates (once) the AppRole auth method at approle/, a policy
// name with the given HCL and a role name whose tokens carry that policy
// with the given TTLs (0: Vault's default). It returns the role-id and a
// new secret-id.
func (v *VaultServer) AppRole(ctx context.Context, name, policy string, tokenTTL, tokenMaxTTL time.Duration) (roleID, secretID string, err error) {
	auths, err := v.Client.Sys().ListAuthWithContext(ctx)
	if err != nil {
		return "", "", err
	}
	if _, ok := auths["approle/"]; !ok {
		if err := v.Client.Sys().EnableAuthWithOptionsWithContext(ctx, "approle", &api.EnableAuthOptions{Type: "approle"}); err != nil {
			return "", "", fmt.Errorf("enabling approle: %w", err)
		}
	}
	if err := v.Client.Sys().PutPolicyWithContext(ctx, name, policy); err != nil {
		return "", "", fmt.Errorf("writing policy %s: %w", name, err)
	}
	if _, err := v.Client.Logical().WriteWithContext(ctx, "auth/approle/role/"+name, map[string]any{
		"token_policies": name, "token_ttl": int(tokenTTL / time.Second), "token_max_ttl": int(tokenMaxTTL / time.Second),
	}); err != nil {
		return "", "", fmt.Errorf("writing approle role %s: %w", name, err)
	}
	s, err := v.Client.Logical().ReadWithContext(ctx, "auth/approle/role/"+name+"/role-id")
	if err != nil {
		return "", "", err
	}
	roleID, _ = s.Data["role_id"].(string)
	s, err = v.Client.Logical().WriteWithContext(ctx, "auth/approle/role/"+name+"/secret-id", nil)
	if err != nil {
		return "", "", err
	}
	secretID, _ = s.Data["secret_id"].(string)
	return roleID, secretID, nil
}

// mount enables engine at path unless something is mounted there already.
func (v *VaultServer) mount(ctx context.Context, path, engine string) error {
	mounts, err := v.Client.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("listing mounts: %w", err)
	}
	if m, ok := mounts[strings.Trim(path, "/")+"/"]; ok {
		if m.Type != engine {
			return fmt.Errorf("%s is mounted as %s, not %s", path, m.Type, engine)
		}
		return nil
	}
	if err := v.Client.Sys().MountWithContext(ctx, path, &api.MountInput{Type: engine}); err != nil {
		return fmt.Errorf("mounting %s at %s: %w", engine, path, err)
	}
	return nil
}
