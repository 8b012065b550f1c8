package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// TokenCache keeps Vault tokens between processes, so that concurrent and
// successive `vaultcmp generate` runs of one identity log in once until the
// token nears expiry. Keys come from [Identity.CacheKey]: a token is never
// shared between identities.
type TokenCache interface {
	// Lock serializes logins for key across processes until unlock.
	Lock(ctx context.Context, key string) (unlock func(), err error)
	// Get returns a token that is still good for a while.
	Get(key string) (token string, ok bool)
	// Put stores a token valid for ttl (0: no expiry given by Vault).
	Put(key, token string, ttl time.Duration) error
	// Delete forgets a token (Vault refused it).
	Delete(key string)
}

// FileTokenCache stores one 0600 file per identity in Dir (created 0700),
// named by a digest of the key, and serializes logins with flock(2) on one
// of a fixed set of lock files (lockStripes), so that failed logins leave
// nothing behind. The directory holds at most MaxEntries tokens: expired
// tokens go first, then those nearest expiry.
type FileTokenCache struct {
	Dir string
	Now func() time.Time // default time.Now
	// MaxEntries bounds the tokens kept. Default DefaultMaxCacheEntries.
	MaxEntries int
}

// DefaultMaxCacheEntries bounds a FileTokenCache by default: far more
// identities than one sidecar serves, far less than its volume holds.
const DefaultMaxCacheEntries = 4096

// lockStripes is the number of lock files: logins of two identities that
// share a stripe wait for each other, which only costs time.
const lockStripes = 64

var _ TokenCache = (*FileTokenCache)(nil)

// maxUntimedTTL bounds the reuse of tokens whose TTL Vault did not give.
const maxUntimedTTL = time.Hour

type cachedToken struct {
	Token    string    `json:"token"`
	UseUntil time.Time `json:"useUntil"`
}

func (c *FileTokenCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *FileTokenCache) path(key, ext string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:16])+ext)
}

func (c *FileTokenCache) ensureDir() error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("creating the token cache %s: %w", c.Dir, err)
	}
	return nil
}

// Lock implements TokenCache.
func (c *FileTokenCache) Lock(ctx context.Context, key string) (func(), error) {
	if err := c.ensureDir(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(key))
	f, err := os.OpenFile(filepath.Join(c.Dir, fmt.Sprintf("lock-%02d", int(sum[0])%lockStripes)), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the token cache lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking the token cache: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Get implements TokenCache.
func (c *FileTokenCache) Get(key string) (string, bool) {
	b, err := os.ReadFile(c.path(key, ".json"))
	if err != nil {
		return "", false
	}
	var t cachedToken
	if json.Unmarshal(b, &t) != nil || t.Token == "" || !c.now().Before(t.UseUntil) {
		_ = os.Remove(c.path(key, ".json")) // expired or unreadable: nothing to keep
		return "", false
	}
	return t.Token, true
}

// Put implements TokenCache. A token is used for 80% of its TTL, and at
// most until 30 s before it expires.
func (c *FileTokenCache) Put(key, token string, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = maxUntimedTTL
	}
	use := min(ttl*8/10, ttl-30*time.Second)
	if use <= 0 {
		return nil // too short-lived to share
	}
	if err := c.ensureDir(); err != nil {
		return err
	}
	b, err := json.Marshal(cachedToken{Token: token, UseUntil: c.now().Add(use)})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.Dir, ".token-*")
	if err != nil {
		return fmt.Errorf("writing the token cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the token cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the token cache: %w", err)
	}
	dst := c.path(key, ".json")
	_, statErr := os.Stat(dst)
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("writing the token cache: %w", err)
	}
	if statErr != nil {
		c.prune() // a new entry: keep the directory bounded
	}
	return nil
}

// prune removes expired tokens and, above MaxEntries, those that expire
// first.
func (c *FileTokenCache) prune() {
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxCacheEntries
	}
	ents, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	type entry struct {
		path  string
		until time.Time
	}
	var live []entry
	now := c.now()
	for _, e := range ents {
		if !e.Type().IsRegular() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		p := filepath.Join(c.Dir, e.Name())
		b, err := os.ReadFile(p)
		var t cachedToken
		if err != nil || json.Unmarshal(b, &t) != nil || !now.Before(t.UseUntil) {
			_ = os.Remove(p)
			continue
		}
		live = append(live, entry{p, t.UseUntil})
	}
	if len(live) <= limit {
		return
	}
	sort.Slice(live, func(i, j int) bool { return live[i].until.Before(live[j].until) })
	for _, e := range live[:len(live)-limit] {
		_ = os.Remove(e.path)
	}
}

// Delete implements TokenCache.
func (c *FileTokenCache) Delete(key string) {
	_ = os.Remove(c.path(key, ".json")) // a missing file is what we want
}
