package companion

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/limits"
)

// t0 is the fake clock's now.
var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// A contract below a floor is refused as generate refuses it, naming the
// field, the floor, its flag and its variable; whatever its state, the
// companion never acts sooner than the floors.
func TestContractFloors(t *testing.T) {
	l := limits.Default()
	static := func(refresh string) *contract.V1 {
		return &contract.V1{Object: contract.Object{Kind: v1beta1.KindVaultStaticSecret, Static: &v1beta1.VaultStaticSecretSpec{RefreshAfter: refresh}}}
	}
	dynamic := func(refresh string) *contract.V1 {
		return &contract.V1{Object: contract.Object{Kind: v1beta1.KindVaultDynamicSecret, Dynamic: &v1beta1.VaultDynamicSecretSpec{RefreshAfter: refresh}}}
	}
	pki := func(ttl, offset string) *contract.V1 {
		return &contract.V1{Object: contract.Object{Kind: v1beta1.KindVaultPKISecret, PKI: &v1beta1.VaultPKISecretSpec{TTL: ttl, ExpiryOffset: offset}}}
	}
	for _, tc := range []struct {
		name string
		c    *contract.V1
		want []string // nil: accepted
	}{
		{"static refreshAfter 0.001s", static("0.001s"), []string{"spec.refreshAfter", "below the floor of 5s", "--min-refresh-after", "VAULTCMP_MIN_REFRESH_AFTER"}},
		{"static refreshAfter 5s", static("5s"), nil},
		{"static without refreshAfter", static(""), nil},
		{"static refreshAfter in Go syntax", static("1ms"), []string{"spec.refreshAfter"}},
		{"static negative refreshAfter", static("-1s"), []string{"spec.refreshAfter", "invalid duration"}},
		{"dynamic refreshAfter 1s", dynamic("1s"), []string{"--min-refresh-after"}},
		{"dynamic refreshAfter 1m", dynamic("1m"), nil},
		{"pki expiryOffset = ttl", pki("30s", "30s"), []string{"spec.expiryOffset", "can never be met", "--min-reissue-interval", "VAULTCMP_MIN_REISSUE_INTERVAL"}},
		{"pki expiryOffset > ttl in days", pki("1d", "25h"), []string{"can never be met"}},
		{"pki leaves 2s", pki("10s", "8s"), []string{"= 2s) is below the floor of 5s"}},
		{"pki leaves 5s", pki("10s", "5s"), nil},
		{"pki without ttl: checked at issue", pki("", "100h"), nil},
		{"pki bad offset", pki("1h", "soon"), []string{"spec.expiryOffset"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := contractFloors(tc.c, l)
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestScheduleFloors(t *testing.T) {
	l := limits.Default()
	zero := limits.Limits{}
	for _, tc := range []struct {
		name      string
		got, want time.Time
	}{
		{"refresh above the floor", refreshNext(t0, time.Minute, l), t0.Add(time.Minute)},
		{"refresh 1ms: at the floor", refreshNext(t0, time.Millisecond, l), t0.Add(5 * time.Second)},
		{"refresh without floors", refreshNext(t0, time.Millisecond, zero), t0.Add(time.Millisecond)},
		{"renewal at the horizon", renewalNext(t0, 40*time.Second, l), t0.Add(40 * time.Second)},
		{"renewal at 10ms: at the floor", renewalNext(t0, 10*time.Millisecond, l), t0.Add(time.Second)},
		{"non-renewable lease: at its horizon", reissueNext(t0, t0, time.Minute, l), t0.Add(time.Minute)},
		{"non-renewable 1s lease: at the floor", reissueNext(t0, t0, time.Second, l), t0.Add(5 * time.Second)},
		{"the floor counts from the issue", reissueNext(t0, t0.Add(-4*time.Second), 0, l), t0.Add(time.Second)},
	} {
		assert.Equal(t, tc.want, tc.got, tc.name)
	}
}

func TestReissueWait(t *testing.T) {
	l := limits.Default()
	for _, tc := range []struct {
		name     string
		issuedAt time.Time
		wait     bool
		until    time.Time
	}{
		{"first issue", time.Time{}, false, time.Time{}},
		{"issued 1s ago", t0.Add(-time.Second), true, t0.Add(4 * time.Second)},
		{"issued 5s ago", t0.Add(-5 * time.Second), false, t0},
		{"issued an hour ago", t0.Add(-time.Hour), false, t0.Add(-time.Hour + 5*time.Second)},
		{"issued in the future (a forged state)", t0.Add(time.Hour), true, t0.Add(time.Hour + 5*time.Second)},
	} {
		until, wait := reissueWait(t0, tc.issuedAt, l)
		assert.Equal(t, tc.wait, wait, tc.name)
		assert.Equal(t, tc.until, until, tc.name)
	}
}

// The certificate's real lifetime (Vault's, when the object has no ttl) is
// checked at issue: an expiryOffset that can never be met re-issues at 2/3
// of the lifetime with a warning naming the floor, one that leaves less
// than the floor re-issues at the floor; the floor always holds.
func TestPKINext(t *testing.T) {
	l := limits.Default()
	for _, tc := range []struct {
		name     string
		lifetime time.Duration // expiration − issue (whole seconds, as Vault reports)
		offset   time.Duration
		jitter   float64
		want     time.Time
		warn     []string // nil: no warning
	}{
		{"offset 1h of 24h", 24 * time.Hour, time.Hour, 0, t0.Add(23 * time.Hour), nil},
		{"VSO's jitter: up to 5% earlier", 24 * time.Hour, time.Hour, 0.5, t0.Add(23*time.Hour - time.Duration(0.5*0.05*float64(23*time.Hour))), nil},
		{"no offset", time.Hour, 0, 0, t0.Add(time.Hour), nil},
		{"the e2e's 10s with 5s: at the floor, no warning", 9 * time.Second, 5 * time.Second, 0.9, t0.Add(5 * time.Second), nil},
		{"offset = lifetime: 2/3 of the lifetime", 3 * time.Minute, 3*time.Minute + time.Second, 0, t0.Add(2 * time.Minute).Add(2 * time.Second / 3),
			[]string{"can never be met", "lifetime (from Vault)", "--min-reissue-interval", "VAULTCMP_MIN_REISSUE_INTERVAL", "re-issued at 2026-12-07T12:02:00Z"}},
		{"offset 1h, lifetime 1m", time.Minute, time.Hour, 0, t0.Add(40*time.Second + 2*time.Second/3), []string{"can never be met"}},
		{"offset 1h, lifetime 2s: the floor", 2 * time.Second, time.Hour, 0, t0.Add(5 * time.Second), []string{"can never be met", "re-issued at 2026-12-07T12:00:05Z"}},
		{"leaves 1s: the floor", 30 * time.Second, 28 * time.Second, 0, t0.Add(5 * time.Second), []string{"below the floor of 5s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, warning := pkiNext(t0, t0.Add(tc.lifetime), tc.offset, tc.jitter, l)
			assert.Equal(t, tc.want, next)
			assert.False(t, next.Before(t0.Add(l.MinReissueInterval)), "never sooner than the floor")
			if tc.warn == nil {
				assert.Empty(t, warning)
				return
			}
			for _, w := range tc.warn {
				assert.Contains(t, warning, w)
			}
		})
	}
}
