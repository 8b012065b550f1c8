package vault_test

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vaultcmp/vaultcmp/vault"
)

func TestFileTokenCache(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	dir := filepath.Join(t.TempDir(), "tokens")
	c := &vault.FileTokenCache{Dir: dir, Now: func() time.Time { return now }}

	_, ok := c.Get("id-a")
	assert.False(t, ok)
	require.NoError(t, c.Put("id-a", "hvs.token-a", 10*time.Minute))
	tok, ok := c.Get("id-a")
	assert.True(t, ok)
	assert.Equal(t, "hvs.token-a", tok)
	_, ok = c.Get("id-b")
	assert.False(t, ok, "never shared between identities")

	// Used for 80% of the TTL, then a new login.
	now = now.Add(7*time.Minute + 59*time.Second)
	_, ok = c.Get("id-a")
	assert.True(t, ok)
	now = now.Add(2 * time.Second)
	_, ok = c.Get("id-a")
	assert.False(t, ok)

	// Too short-lived tokens are not shared; untimed ones for at most an hour.
	require.NoError(t, c.Put("short", "t", 20*time.Second))
	_, ok = c.Get("short")
	assert.False(t, ok)
	require.NoError(t, c.Put("untimed", "t", 0))
	now = now.Add(47 * time.Minute)
	_, ok = c.Get("untimed")
	assert.True(t, ok)
	now = now.Add(2 * time.Minute)
	_, ok = c.Get("untimed")
	assert.False(t, ok)

	require.NoError(t, c.Put("gone", "t", time.Hour))
	c.Delete("gone")
	_, ok = c.Get("gone")
	assert.False(t, ok)

	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), e.Name())
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		assert.NotContains(t, e.Name(), "id-a", "file names are digests")
		_ = b
	}
}

// The lock serializes logins of one identity across processes (flock);
// here, across goroutines holding separate file descriptors.
func TestFileTokenCacheLock(t *testing.T) {
	c := &vault.FileTokenCache{Dir: t.TempDir()}
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			unlock, err := c.Lock(t.Context(), "id")
			if !assert.NoError(t, err) {
				return
			}
			n := inside.Add(1)
			for {
				m := maxInside.Load()
				if n <= m || maxInside.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inside.Add(-1)
			unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), maxInside.Load())
}
