package limits

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFloorsFromEnvAndFlags(t *testing.T) {
	env := map[string]string{"VAULTCMP_MIN_REFRESH_AFTER": "30s", "VAULTCMP_MIN_REISSUE_INTERVAL": "1m"}
	l, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, l.MinRefreshAfter)
	assert.Equal(t, time.Minute, l.MinReissueInterval)
	assert.Equal(t, DefaultMinRenewalInterval, l.MinRenewalInterval)
	d := Default()
	assert.Equal(t, 5*time.Second, d.MinRefreshAfter)
	assert.Equal(t, time.Second, d.MinRenewalInterval)
	assert.Equal(t, 5*time.Second, d.MinReissueInterval)
	assert.Equal(t, "--min-refresh-after", Lookup(MinRefreshAfter).Flag())
	assert.Equal(t, "--max-deadline", Lookup(Deadline).Flag())
}

// Each refusal names the floor, its flag and its variable; 0 ("unset")
// and values at the floor pass.
func TestFloorChecks(t *testing.T) {
	l := Default()
	noFloor := l
	noFloor.MinReissueInterval = 0
	for _, c := range []struct {
		name string
		err  error
		want string // "" = no error
	}{
		{"refreshAfter unset", l.CheckRefreshAfter(0), ""},
		{"refreshAfter at the floor", l.CheckRefreshAfter(5 * time.Second), ""},
		{"refreshAfter 1ms", l.CheckRefreshAfter(time.Millisecond),
			"refreshAfter 1ms is below the floor of 5s for refreshAfter of a VaultStaticSecret or VaultDynamicSecret (Vault reads of one object) (lower it with --min-refresh-after or VAULTCMP_MIN_REFRESH_AFTER)"},
		{"renewal", l.Below(MinRenewalInterval, 500*time.Millisecond, "the next renewal in 500ms"), "--min-renewal-interval or VAULTCMP_MIN_RENEWAL_INTERVAL"},
		{"ttl unknown", l.CheckExpiryOffset(0, time.Hour, "ttl"), ""},
		{"offset leaves the floor", l.CheckExpiryOffset(10*time.Second, 5*time.Second, "ttl"), ""},
		{"offset leaves less than the floor", l.CheckExpiryOffset(10*time.Second, 6*time.Second, "ttl"),
			"(ttl 10s − expiryOffset 6s = 4s) is below the floor of 5s"},
		{"offset equals ttl", l.CheckExpiryOffset(time.Minute, time.Minute, "ttl"),
			"expiryOffset 1m0s is not shorter than the certificate's ttl 1m0s, so it can never be met"},
		{"offset above ttl, names the flag", l.CheckExpiryOffset(time.Minute, time.Hour, "lifetime"),
			"--min-reissue-interval or VAULTCMP_MIN_REISSUE_INTERVAL"},
		{"offset above ttl without a floor", noFloor.CheckExpiryOffset(time.Minute, time.Hour, "ttl"), "can never be met"},
		{"no floor: a short use passes", noFloor.CheckExpiryOffset(time.Minute, 59*time.Second, "ttl"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" {
				assert.NoError(t, c.err)
				return
			}
			require.Error(t, c.err)
			var e *Error
			require.ErrorAs(t, c.err, &e)
			assert.Contains(t, c.err.Error(), c.want)
		})
	}
}
