package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// The companion's Vault identity in these tests: an AppRole whose policy
// allows what the companion does and no more.
const companionPolicy = `
path "database/creds/*"        { capabilities = ["read"] }
path "database/static-creds/*" { capabilities = ["read"] }
path "sys/leases/renew/database/creds/*"  { capabilities = ["update"] }
path "sys/leases/revoke/database/creds/*" { capabilities = ["update"] }
path "pki/issue/*"             { capabilities = ["update"] }
path "pki/issuer/+/issue/*"    { capabilities = ["update"] }
path "pki/revoke-with-key"     { capabilities = ["update"] }
path "secret/data/webapp/*"    { capabilities = ["read"] }
`

// lifeWorld is a Vault with the database engine on a real PostgreSQL and
// the PKI engine, and a Lifecycle that counts its HTTP requests.
type lifeWorld struct {
	pg       *Postgres
	db       *DatabaseEngine
	pki      *PKIEngine
	lc       *vault.Lifecycle
	id       *vault.Identity
	requests atomic.Int64
}

// countingTransport counts the requests that leave the process.
type countingTransport struct {
	n    *atomic.Int64
	next http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// newLifeWorld sets the engines up (once per binary for the mounts) and
// returns a fresh Lifecycle logged in as a new AppRole of tokenTTL.
func newLifeWorld(t testing.TB, roleName string, tokenTTL, tokenMaxTTL time.Duration) *lifeWorld {
	t.Helper()
	ctx := t.Context()
	pg, err := SharedPostgres(context.Background())
	require.NoError(t, err, "a real PostgreSQL is required (Debian's postgresql: make deps)")
	w := &lifeWorld{pg: pg}
	w.db, err = vaultSrv.EnableDatabase(ctx, pg, "database")
	require.NoError(t, err)
	w.pki, err = vaultSrv.EnablePKI(ctx, "pki")
	require.NoError(t, err)
	roleID, secretID, err := vaultSrv.AppRole(ctx, roleName, companionPolicy, tokenTTL, tokenMaxTTL)
	require.NoError(t, err)
	al, err := vault.ParseAllowList(vaultSrv.Addr)
	require.NoError(t, err)
	w.lc = vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{&w.requests, rt}
	}})
	w.id = &vault.Identity{Connection: vault.Connection{Address: vaultSrv.Addr}, Auth: vault.AppRoleAuth("approle", roleID, secretID)}
	return w
}

func (w *lifeWorld) creds(t testing.TB, role string) *vault.DynamicSecret {
	t.Helper()
	s, err := w.lc.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: w.id, Mount: "database", Path: "creds/" + role})
	require.NoError(t, err)
	require.NotEmpty(t, s.Data["username"])
	require.NotEmpty(t, s.Data["password"])
	return s
}

// canLogin tells whether the dynamic user logs in to PostgreSQL as itself.
func (w *lifeWorld) canLogin(t *testing.T, s *vault.DynamicSecret) error {
	t.Helper()
	user := s.Data["username"].(string)
	out, err := w.pg.SQLAs(t.Context(), user, s.Data["password"].(string), "SELECT current_user")
	if err == nil && out != user {
		t.Fatalf("logged in as %q, want %q", out, user)
	}
	return err
}

func (w *lifeWorld) roleExists(t *testing.T, user string) bool {
	t.Helper()
	ok, err := w.pg.RoleExists(t.Context(), user)
	require.NoError(t, err)
	return ok
}

func TestDynamicDatabaseCredentials(t *testing.T) {
	w := newLifeWorld(t, "life-db", time.Hour, 0)
	const ttl, maxTTL = 4 * time.Second, 10 * time.Second
	require.NoError(t, w.db.Role(t.Context(), SeedDBRole, ttl, maxTTL))

	start := time.Now()
	s := w.creds(t, SeedDBRole)
	user := s.Data["username"].(string)
	assert.Equal(t, ttl, s.Lease.Duration)
	assert.True(t, s.Lease.Renewable)
	assert.True(t, strings.HasPrefix(s.Lease.ID, "database/creds/"+SeedDBRole+"/"), "lease id")
	assert.Equal(t, s.Data, s.Raw)
	require.NoError(t, w.canLogin(t, s), "the dynamic user logs in to PostgreSQL")

	// Renew at 2/3 of the lease, until past the first TTL: the same user
	// keeps working.
	var lease vault.Lease
	for time.Since(start) < ttl+time.Second {
		time.Sleep(2 * time.Second)
		before := w.requests.Load()
		var err error
		lease, err = w.lc.RenewLease(t.Context(), w.id, s.Lease.ID, ttl)
		require.NoError(t, err)
		assert.Equal(t, int64(1), w.requests.Load()-before, "one Vault request per renewal")
		assert.Equal(t, s.Lease.ID, lease.ID)
	}
	require.Greater(t, time.Since(start), ttl)
	require.NoError(t, w.canLogin(t, s), "the same user past its first TTL")
	assert.True(t, w.roleExists(t, user))

	// Renew until Vault's max TTL cuts the renewal short: the caller sees
	// Duration < increment and the user still works until then.
	truncated := false
	for i := 0; i < 10 && !truncated; i++ {
		lease, err := w.lc.RenewLease(t.Context(), w.id, s.Lease.ID, ttl)
		require.NoError(t, err)
		if lease.Duration < ttl {
			truncated = true
			assert.Less(t, time.Since(start), maxTTL, "truncated before the max TTL")
			assert.InDelta(t, maxTTL.Seconds(), time.Since(start).Seconds()+lease.Duration.Seconds(), 1.5,
				"the truncated lease ends at the max TTL")
			break
		}
		time.Sleep(time.Second)
	}
	assert.True(t, truncated, "Vault truncated a renewal at max_ttl")

	// Revoke: Vault drops the PostgreSQL role.
	require.NoError(t, w.lc.RevokeLease(t.Context(), w.id, s.Lease.ID))
	assert.False(t, w.roleExists(t, user), "revoke removes the role from pg_roles")
	assert.Error(t, w.canLogin(t, s))
	// Revoking again is harmless (Vault no longer knows the lease).
	assert.NoError(t, w.lc.RevokeLease(t.Context(), w.id, s.Lease.ID))
}

// TestRenewalCost measures what one lease renewal costs against the real
// Vault: Vault requests per renewal and time per RenewLease call.
func TestRenewalCost(t *testing.T) {
	w := newLifeWorld(t, "life-cost", time.Hour, 0)
	require.NoError(t, w.db.Role(t.Context(), "life-cost", time.Hour, 24*time.Hour))
	s := w.creds(t, "life-cost")
	defer func() { _ = w.lc.RevokeLease(context.Background(), w.id, s.Lease.ID) }()
	const n = 50
	before := w.requests.Load()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		l, err := w.lc.RenewLease(t.Context(), w.id, s.Lease.ID, time.Hour)
		require.NoError(t, err)
		require.Equal(t, time.Hour, l.Duration)
	}
	per := time.Since(t0) / n
	reqs := float64(w.requests.Load()-before) / n
	t.Logf("renewal cost: %.2f Vault requests per renewal, %v per RenewLease call (n=%d)", reqs, per, n)
	assert.Equal(t, 1.0, reqs)
}

func TestStaticDatabaseCredentials(t *testing.T) {
	w := newLifeWorld(t, "life-static", time.Hour, 0)
	require.NoError(t, w.db.StaticRole(t.Context(), "webapp-static", "webapp_static", time.Hour))
	s, err := w.lc.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: w.id, Mount: "database", Path: "static-creds/webapp-static"})
	require.NoError(t, err)
	assert.Equal(t, "webapp_static", s.Data["username"])
	for _, k := range []string{"password", "ttl", "rotation_period", "last_vault_rotation"} {
		assert.Contains(t, s.Data, k)
	}
	assert.Empty(t, s.Lease.ID, "static credentials have no lease")
	require.NoError(t, w.canLogin(t, s))
}

func TestPKIIssueAndRevoke(t *testing.T) {
	w := newLifeWorld(t, "life-pki", time.Hour, 0)
	require.NoError(t, w.pki.SeedRole(t.Context(), 24*time.Hour))
	for _, issuer := range []string{"", "e2e-root"} {
		t.Run("issuer="+issuer, func(t *testing.T) {
			c, err := w.lc.IssueCertificate(t.Context(), vault.PKIRequest{Identity: w.id, Mount: "pki", Role: SeedPKIRole, IssuerRef: issuer,
				CommonName: SeedCN, AltNames: SeedSANs, TTL: time.Hour})
			require.NoError(t, err)
			certPEM, _ := c.Data["certificate"].(string)
			keyPEM, _ := c.Data["private_key"].(string)
			_, err = tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
			require.NoError(t, err, "certificate and private key form a pair")
			b, _ := pem.Decode([]byte(certPEM))
			require.NotNil(t, b)
			cert, err := x509.ParseCertificate(b.Bytes)
			require.NoError(t, err)
			roots := x509.NewCertPool()
			roots.AddCert(w.pki.CACert)
			for _, name := range append([]string{SeedCN}, SeedSANs...) {
				_, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name})
				assert.NoError(t, err, name)
			}
			assert.Equal(t, SeedCN, cert.Subject.CommonName)
			assert.ElementsMatch(t, append([]string{SeedCN}, SeedSANs...), cert.DNSNames)
			assert.WithinDuration(t, cert.NotAfter, c.Expiration, time.Second)
			assert.WithinDuration(t, time.Now().Add(time.Hour), c.Expiration, time.Minute)
			serial := strings.ToLower(cert.SerialNumber.Text(16))
			assert.Equal(t, serial, strings.TrimLeft(strings.ReplaceAll(c.Serial, ":", ""), "0"))

			byCert, onCRL, err := w.pki.Revoked(t.Context(), c.Serial)
			require.NoError(t, err)
			assert.False(t, byCert || onCRL)
			require.NoError(t, w.lc.RevokeCertificate(t.Context(), w.id, "pki", c.Serial, keyPEM))
			byCert, onCRL, err = w.pki.Revoked(t.Context(), c.Serial)
			require.NoError(t, err)
			assert.True(t, byCert, "pki/cert/<serial> has a revocation_time")
			assert.True(t, onCRL, "the CRL lists the serial")
		})
	}
	t.Run("a name the role does not allow", func(t *testing.T) {
		_, err := w.lc.IssueCertificate(t.Context(), vault.PKIRequest{Identity: w.id, Mount: "pki", Role: SeedPKIRole, CommonName: "evil.example"})
		var verr *vault.Error
		require.ErrorAs(t, err, &verr)
		assert.Equal(t, vault.ReasonBadRequest, verr.Reason)
		assert.False(t, vault.Retryable(err))
	})
}

func TestTokenLifetime(t *testing.T) {
	// Tokens live 3 s, renewable up to 7 s: the Lifecycle renews them at
	// 2/3 of their TTL, then logs in again when the max TTL is near.
	w := newLifeWorld(t, "life-token", 3*time.Second, 7*time.Second)
	read := func() {
		t.Helper()
		s, err := w.lc.ReadKV(t.Context(), vault.KVRequest{Identity: w.id, Mount: "secret", Path: "webapp/config", V2: true})
		require.NoError(t, err)
		assert.Positive(t, s.Version)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		read()
		time.Sleep(500 * time.Millisecond)
	}
	st := w.lc.Stats()
	t.Logf("over 10 s of reads with a 3 s token: %+v", st)
	assert.GreaterOrEqual(t, st.TokenRenewals, int64(1), "the token was renewed")
	assert.GreaterOrEqual(t, st.Logins, int64(2), "a new login once the max TTL was near")

	// Idle past the token's expiry: the next read logs in again.
	logins := st.Logins
	time.Sleep(4 * time.Second)
	read()
	assert.Equal(t, logins+1, w.lc.Stats().Logins)

	// The token is revoked behind the Lifecycle's back: 403, one new login, success.
	_, err := vaultSrv.Client.Logical().WriteWithContext(t.Context(), "sys/leases/revoke-prefix/auth/approle/login", nil)
	require.NoError(t, err)
	logins = w.lc.Stats().Logins
	read()
	assert.Equal(t, logins+1, w.lc.Stats().Logins)
}

func TestRealVaultErrorsClassified(t *testing.T) {
	w := newLifeWorld(t, "life-errors", time.Hour, 0)
	ctx := t.Context()
	tests := []struct {
		name      string
		call      func() error
		reason    vault.Reason
		status    int
		retryable bool
	}{
		{"403: the policy does not allow the path", func() error {
			_, err := w.lc.ReadDynamic(ctx, vault.DynamicRequest{Identity: w.id, Mount: "kv-other", Path: "creds/x"})
			return err
		}, vault.ReasonForbidden, 403, false},
		{"404: nothing mounted there", func() error {
			_, err := w.lc.ReadDynamic(ctx, vault.DynamicRequest{Identity: rootIdentity(), Mount: "nothing-here", Path: "creds/x"})
			return err
		}, vault.ReasonNotFound, 404, false},
		{"400: unknown database role", func() error {
			_, err := w.lc.ReadDynamic(ctx, vault.DynamicRequest{Identity: w.id, Mount: "database", Path: "creds/no-such-role"})
			return err
		}, vault.ReasonBadRequest, 400, false},
		{"400: unknown lease", func() error {
			_, err := w.lc.RenewLease(ctx, w.id, "database/creds/"+SeedDBRole+"/nope", time.Minute)
			return err
		}, vault.ReasonBadRequest, 400, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.lc.Stats().Logins
			err := tc.call()
			var verr *vault.Error
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, tc.reason, verr.Reason, err.Error())
			assert.Equal(t, tc.status, verr.Status, err.Error())
			assert.Equal(t, tc.retryable, vault.Retryable(err))
			assert.NotContains(t, err.Error(), "/nope", "no lease id in errors")
			assert.LessOrEqual(t, w.lc.Stats().Logins-before, int64(1), "at most one new login per call")
		})
	}
}

func rootIdentity() *vault.Identity {
	return &vault.Identity{Connection: vault.Connection{Address: vaultSrv.Addr}, Auth: vault.TokenAuth(RootToken)}
}

func TestNoCredentialLeavesForAnotherHost(t *testing.T) {
	w := newLifeWorld(t, "life-allow", time.Hour, 0)
	roleID, secretID, err := vaultSrv.AppRole(t.Context(), "life-allow", companionPolicy, time.Hour, 0)
	require.NoError(t, err)
	auths := []vault.Auth{vault.TokenAuth(RootToken), vault.AppRoleAuth("approle", roleID, secretID)}
	t.Run("address not in the allow-list: nothing is sent", func(t *testing.T) {
		attacker := capture(t, Echo)
		for _, auth := range auths {
			id := &vault.Identity{Connection: vault.Connection{Address: attacker.Addr}, Auth: auth}
			_, err := w.lc.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/" + SeedDBRole})
			var verr *vault.Error
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, vault.ReasonNotAllowed, verr.Reason)
			assert.False(t, vault.Retryable(err))
			assert.NotContains(t, err.Error(), secretID)
			_, err = w.lc.RenewLease(t.Context(), id, "database/creds/x/y", time.Minute)
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, vault.ReasonNotAllowed, verr.Reason)
		}
		nothingReached(t, attacker)
	})
	t.Run("a 307 to another host is not followed, even to an allowed one", func(t *testing.T) {
		attacker := capture(t, Echo)
		redirector := capture(t, Echo)
		redirector.SetRedirect(attacker.Addr)
		al, err := vault.ParseAllowList(redirector.Addr, attacker.Addr)
		require.NoError(t, err)
		lc := vault.NewLifecycle(vault.LifecycleOptions{AllowList: al})
		for _, auth := range auths {
			id := &vault.Identity{Connection: vault.Connection{Address: redirector.Addr}, Auth: auth}
			_, err := lc.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/" + SeedDBRole})
			var verr *vault.Error
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, vault.ReasonRedirect, verr.Reason, err.Error())
		}
		assert.Len(t, redirector.Requests(), 2, "one request each (the login, the read), not retried")
		nothingReached(t, attacker)
	})
}

// TestLifecycleConcurrentRenewals renews many leases at once through one
// Lifecycle: one login, one request per renewal, no error.
func TestLifecycleConcurrentRenewals(t *testing.T) {
	w := newLifeWorld(t, "life-conc", time.Hour, 0)
	require.NoError(t, w.db.Role(t.Context(), "life-conc", time.Hour, 24*time.Hour))
	const n = 20
	leases := make([]string, n)
	for i := range leases {
		leases[i] = w.creds(t, "life-conc").Lease.ID
	}
	defer func() {
		for _, id := range leases {
			_ = w.lc.RevokeLease(context.Background(), w.id, id)
		}
	}()
	before := w.requests.Load()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, id := range leases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := w.lc.RenewLease(t.Context(), w.id, id, time.Hour)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int64(n), w.requests.Load()-before)
	assert.Equal(t, int64(1), w.lc.Stats().Logins)
}

// BenchmarkLifecycleRenewLease renews one real database lease: time per
// renewal and Vault requests per renewal (want 1).
func BenchmarkLifecycleRenewLease(b *testing.B) {
	w := newLifeWorld(b, "life-bench", time.Hour, 0)
	require.NoError(b, w.db.Role(b.Context(), "life-bench", time.Hour, 24*time.Hour))
	s := w.creds(b, "life-bench")
	defer func() { _ = w.lc.RevokeLease(context.Background(), w.id, s.Lease.ID) }()
	before := w.requests.Load()
	b.ResetTimer()
	for range b.N {
		if _, err := w.lc.RenewLease(b.Context(), w.id, s.Lease.ID, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(w.requests.Load()-before)/float64(b.N), "vault-requests/renewal")
}

// TestLeaseDiesWithItsToken records a Vault fact the companion must plan
// for: a dynamic lease is revoked when the token that created it expires,
// whatever the lease's own TTL. The Lifecycle keeps its tokens alive by
// renewing them, and when it must log in again (max TTL), credentials from
// the old token die with it: the caller sees RenewLease fail and re-issues.
func TestLeaseDiesWithItsToken(t *testing.T) {
	w := newLifeWorld(t, "life-shorttoken", 2*time.Second, 2*time.Second)
	require.NoError(t, w.db.Role(t.Context(), "life-long", time.Hour, 24*time.Hour))
	s := w.creds(t, "life-long")
	user := s.Data["username"].(string)
	assert.Equal(t, time.Hour, s.Lease.Duration)
	require.Eventually(t, func() bool { return !w.roleExists(t, user) }, 15*time.Second, 250*time.Millisecond,
		"the PostgreSQL role is dropped when the token that created the lease expires")
	_, err := w.lc.RenewLease(t.Context(), w.id, s.Lease.ID, time.Hour)
	var verr *vault.Error
	require.ErrorAs(t, err, &verr)
	assert.False(t, vault.Retryable(err), "%v", err)
}

// TestSealedVaultRetryable: a sealed real Vault is a retryable failure, and
// nothing else is answered until it is unsealed.
func TestSealedVaultRetryable(t *testing.T) {
	ctx := t.Context()
	v, err := StartVault(ctx)
	require.NoError(t, err)
	defer v.Stop()
	require.NoError(t, v.Client.Sys().SealWithContext(ctx))
	al, err := vault.ParseAllowList(v.Addr)
	require.NoError(t, err)
	lc := vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, MaxRetries: -1})
	id := &vault.Identity{Connection: vault.Connection{Address: v.Addr}, Auth: vault.TokenAuth(RootToken)}
	_, err = lc.ReadDynamic(ctx, vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/" + SeedDBRole})
	var verr *vault.Error
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, vault.ReasonSealed, verr.Reason, err.Error())
	assert.True(t, vault.Retryable(err))
}

// TestRenewTokensKeepsLeases: with RenewTokens called from one loop, a
// lease outlives many TTLs of the token that created it; once the loop
// stops, the token expires and Vault drops the PostgreSQL role.
func TestRenewTokensKeepsLeases(t *testing.T) {
	w := newLifeWorld(t, "life-keepalive", 3*time.Second, time.Minute)
	require.NoError(t, w.db.Role(t.Context(), "life-long", time.Hour, 24*time.Hour))
	s := w.creds(t, "life-long")
	user := s.Data["username"].(string)
	start := time.Now()
	for time.Since(start) < 7*time.Second {
		next, err := w.lc.RenewTokens(t.Context())
		require.NoError(t, err)
		require.False(t, next.IsZero())
		time.Sleep(min(time.Until(next), 500*time.Millisecond))
	}
	assert.True(t, w.roleExists(t, user), "the lease outlived three token TTLs")
	require.NoError(t, w.canLogin(t, s))
	_, superseded := w.lc.TokenDeadline(w.id, s.TokenGeneration)
	assert.False(t, superseded)
	assert.Equal(t, int64(1), w.lc.Stats().Logins)
	require.Eventually(t, func() bool { return !w.roleExists(t, user) }, 15*time.Second, 250*time.Millisecond,
		"without renewals the token expires and its lease with it")
}
