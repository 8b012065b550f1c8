package vault_test

import (
	"fmt"
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

// TestFileTokenCacheLeavesNothingPerFailedLogin: a lock per identity would
// leave one file per failed login (2,000 in one hostile run); the stripes
// bound them.
func TestFileTokenCacheLeavesNothingPerFailedLogin(t *testing.T) {
	dir := t.TempDir()
	c := &vault.FileTokenCache{Dir: dir}
	for i := range 2000 {
		unlock, err := c.Lock(t.Context(), fmt.Sprintf("identity-%d", i))
		require.NoError(t, err)
		unlock() // the login failed: nothing is Put
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(ents), 64, "files left in the cache directory")
}

// TestFileTokenCacheBounded: at most MaxEntries tokens; expired ones and
// those nearest expiry go first.
func TestFileTokenCacheBounded(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &vault.FileTokenCache{Dir: dir, MaxEntries: 10, Now: func() time.Time { return now }}
	for i := range 50 {
		require.NoError(t, c.Put(fmt.Sprintf("k%d", i), fmt.Sprintf("tok%d", i), time.Duration(i+1)*time.Hour))
	}
	ents, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	assert.Len(t, ents, 10)
	_, ok := c.Get("k49")
	assert.True(t, ok, "the longest-lived token is kept")
	_, ok = c.Get("k0")
	assert.False(t, ok, "the shortest-lived token went first")

	now = now.Add(1000 * time.Hour) // every token expired
	require.NoError(t, c.Put("fresh", "tokfresh", time.Hour))
	ents, err = filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "expired tokens are removed")
}
