package vault_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

// leaseVault answers AppRole logins (refused for secret ids starting with
// "never", or for all while refuse is set), renew-self (refused while
// refuse is set), dynamic reads with a lease of leaseTTL seconds named
// after the token, lease renewals and revocations.
type leaseVault struct {
	mu       sync.Mutex
	refuse   bool
	renewTTL int // renew-self's TTL; 0: 3600
	leases   int // issued so far
}

func (v *leaseVault) set(refuse bool) { v.mu.Lock(); v.refuse = refuse; v.mu.Unlock() }

func (v *leaseVault) handler(leaseTTL int) http.HandlerFunc {
	kv := kvVault(0)
	return func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		refuse, renewTTL := v.refuse, v.renewTTL
		v.mu.Unlock()
		if renewTTL == 0 {
			renewTTL = 3600
		}
		p := strings.TrimPrefix(r.URL.Path, "/v1/")
		switch {
		case p == "auth/token/renew-self":
			if refuse {
				answer(403, `{"errors":["permission denied"]}`)(w, r)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"auth": map[string]any{"client_token": r.Header.Get("X-Vault-Token"), "lease_duration": renewTTL, "renewable": true}})
		case strings.HasPrefix(p, "auth/"):
			raw, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(raw))
			var body map[string]any
			_ = json.Unmarshal(raw, &body)
			if sid, _ := body["secret_id"].(string); refuse || strings.HasPrefix(sid, "never") {
				answer(400, `{"errors":["invalid role or secret ID"]}`)(w, r)
				return
			}
			kv(w, r)
		case strings.HasPrefix(p, "sys/leases/renew/"):
			writeJSON(w, http.StatusOK, map[string]any{"lease_duration": leaseTTL, "renewable": true})
		case strings.HasPrefix(p, "sys/leases/revoke/"):
			w.WriteHeader(http.StatusNoContent)
		default:
			v.mu.Lock()
			v.leases++
			n := v.leases
			v.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]any{"lease_id": fmt.Sprintf("database/creds/ro/%d", n), "lease_duration": leaseTTL, "renewable": true,
				"data": map[string]any{"username": "v-ro", "password": "pw"}})
		}
	}
}

func newLeaseLifecycle(t *testing.T, addr string, maxClients int, clk *clock) *vault.Lifecycle {
	t.Helper()
	al, err := vault.ParseAllowList(addr)
	require.NoError(t, err)
	return vault.NewLifecycle(vault.LifecycleOptions{AllowList: al, MaxRetries: -1, MaxClients: maxClients, Now: clk.Now,
		LimitHint: "raise --max-vault-identities"})
}

func readLease(t *testing.T, l *vault.Lifecycle, id *vault.Identity) (*vault.DynamicSecret, error) {
	t.Helper()
	return l.ReadDynamic(t.Context(), vault.DynamicRequest{Identity: id, Mount: "database", Path: "creds/ro"})
}

// The eviction attack in miniature: identities that never log in, more
// than the limit, do not push out the identity holding a lease, whose token
// RenewTokens keeps renewing.
func TestIdentityHoldingLeasesNeverEvicted(t *testing.T) {
	v := &leaseVault{}
	f := newFakeVault(t, fakeOpts{handler: v.handler(7200)})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	l := newLeaseLifecycle(t, f.URL, 3, clk)
	victim := appRoleID(f.URL, "r", "victim")
	sec, err := readLease(t, l, victim)
	require.NoError(t, err)

	for i := range 10 {
		_, err := readLease(t, l, appRoleID(f.URL, "r", "never-"+string(rune('a'+i))))
		vaultErr("login", vault.ReasonLogin, 400)(t, err) // refused by Vault, not by the limit
	}
	st := l.Stats()
	assert.Equal(t, 3, st.Clients)
	assert.Equal(t, 1, st.Holding)
	_, superseded := l.TokenDeadline(victim, sec.TokenGeneration)
	assert.False(t, superseded, "the victim's client is still kept")

	clk.Add(41 * time.Minute) // past 2/3 of the token's hour
	_, err = l.RenewTokens(t.Context())
	require.NoError(t, err)
	var renewed int
	for _, r := range f.requests() {
		if r.Path == "/v1/auth/token/renew-self" && r.Header.Get("X-Vault-Token") == loginToken("victim") {
			renewed++
		}
	}
	assert.Equal(t, 1, renewed, "RenewTokens renewed the victim's token")
	assert.NoError(t, l.TokenTrouble(victim))
	assert.Empty(t, l.AtRiskIdentities())
}

// When every slot holds leases, a new identity is refused, visibly, with
// nothing sent; a slot frees when a lease is revoked or expires.
func TestIdentityLimitRefusesNewcomer(t *testing.T) {
	v := &leaseVault{}
	f := newFakeVault(t, fakeOpts{handler: v.handler(600)})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	l := newLeaseLifecycle(t, f.URL, 2, clk)
	a, b, c := appRoleID(f.URL, "r", "a"), appRoleID(f.URL, "r", "b"), appRoleID(f.URL, "r", "c")
	sa, err := readLease(t, l, a)
	require.NoError(t, err)
	_, err = readLease(t, l, b)
	require.NoError(t, err)
	before := len(f.requests())

	_, err = readLease(t, l, c)
	vaultErr("login", vault.ReasonLimit, 0)(t, err)
	var lim *vault.IdentityLimitError
	require.ErrorAs(t, err, &lim)
	assert.Equal(t, 2, lim.Max)
	assert.Contains(t, err.Error(), "all 2 Vault identities kept hold live leases")
	assert.Contains(t, err.Error(), "raise --max-vault-identities")
	assert.True(t, vault.Retryable(err), "slots free up as leases end")
	assert.Len(t, f.requests(), before, "nothing sent for a refused identity")

	// A renewal keeps a's lease held past its first expiry.
	clk.Add(500 * time.Second)
	_, err = l.RenewLease(t.Context(), a, sa.Lease.ID, 600*time.Second)
	require.NoError(t, err)
	clk.Add(200 * time.Second) // b's lease has expired, a's was renewed
	_, err = readLease(t, l, c)
	require.NoError(t, err, "b's slot is free")
	_, superseded := l.TokenDeadline(a, sa.TokenGeneration)
	assert.False(t, superseded, "a holds a renewed lease: kept")

	// Revoking a's lease frees its slot at once.
	d := appRoleID(f.URL, "r", "d")
	_, err = readLease(t, l, d)
	vaultErr("login", vault.ReasonLimit, 0)(t, err)
	require.NoError(t, l.RevokeLease(t.Context(), a, sa.Lease.ID))
	_, err = readLease(t, l, d)
	require.NoError(t, err)
	assert.Equal(t, 2, l.Stats().Clients)
}

// A token that can be neither renewed nor replaced is reported, for the
// identities holding leases, until a renewal or login succeeds again.
func TestTokenTroubleReported(t *testing.T) {
	v := &leaseVault{}
	f := newFakeVault(t, fakeOpts{handler: v.handler(7200)})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	l := newLeaseLifecycle(t, f.URL, 4, clk)
	victim, idle := appRoleID(f.URL, "r", "victim"), appRoleID(f.URL, "r", "idle")
	_, err := readLease(t, l, victim)
	require.NoError(t, err)
	_, err = l.ReadKV(t.Context(), vault.KVRequest{Identity: idle, Mount: "secret", Path: "app"})
	require.NoError(t, err)

	v.set(true)
	clk.Add(41 * time.Minute)
	_, err = l.RenewTokens(t.Context())
	require.Error(t, err)
	assert.Error(t, l.TokenTrouble(victim))
	assert.Equal(t, []string{victim.Key()}, l.AtRiskIdentities(), "only identities holding leases")
	_, err = l.RenewTokens(t.Context()) // tried again: still failing
	require.Error(t, err)
	vaultErr("login", vault.ReasonLogin, 400)(t, l.TokenTrouble(victim))

	v.set(false)
	_, err = l.RenewTokens(t.Context())
	require.NoError(t, err)
	assert.NoError(t, l.TokenTrouble(victim))
	assert.Empty(t, l.AtRiskIdentities())
}

// A token replaced by a new login (its renewal cut short by Vault's max
// TTL) puts the leases it created at risk until they are issued again.
func TestReplacedTokenPutsLeasesAtRisk(t *testing.T) {
	v := &leaseVault{renewTTL: 600}
	f := newFakeVault(t, fakeOpts{handler: v.handler(7200)})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	l := newLeaseLifecycle(t, f.URL, 4, clk)
	victim := appRoleID(f.URL, "r", "victim")
	_, err := readLease(t, l, victim)
	require.NoError(t, err)
	assert.Empty(t, l.AtRiskIdentities())

	clk.Add(41 * time.Minute)
	_, err = l.RenewTokens(t.Context()) // renewal too short: a new login
	require.NoError(t, err)
	assert.Equal(t, []string{victim.Key()}, l.AtRiskIdentities())
	assert.NoError(t, l.TokenTrouble(victim), "no failure, but the old token ends in 10 minutes")

	_, err = readLease(t, l, victim) // issued again under the new token
	require.NoError(t, err)
	clk.Add(11 * time.Minute) // the old token and its lease are gone
	assert.Empty(t, l.AtRiskIdentities())
	assert.Equal(t, 1, l.Stats().Holding)
}

// A login that obtains a token with a TTL wakes the token loop (which may
// be sleeping past the new token's due time); a fixed token does not.
func TestTokenObtainedWakes(t *testing.T) {
	v := &leaseVault{}
	f := newFakeVault(t, fakeOpts{handler: v.handler(60)})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	l := newLeaseLifecycle(t, f.URL, 4, clk)
	select {
	case <-l.TokenObtained():
		t.Fatal("woken before any login")
	default:
	}
	_, err := readLease(t, l, tokenID(f.URL, "fixed"))
	require.NoError(t, err)
	select {
	case <-l.TokenObtained():
		t.Fatal("a fixed token has no TTL to renew")
	default:
	}
	_, err = readLease(t, l, appRoleID(f.URL, "r", "a"))
	require.NoError(t, err)
	select {
	case <-l.TokenObtained():
	default:
		t.Fatal("a login did not wake the loop")
	}
}
