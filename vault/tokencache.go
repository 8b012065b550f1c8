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
// named by a digest of the key, and serializes logins with flock(2).
type FileTokenCache struct {
	Dir string
	Now func() time.Time // default time.Now
}

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
	f, err := os.OpenFile(c.path(key, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
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
	if err := os.Rename(tmp.Name(), c.path(key, ".json")); err != nil {
		return fmt.Errorf("writing the token cache: %w", err)
	}
	return nil
}

// Delete implements TokenCache.
func (c *FileTokenCache) Delete(key string) {
	_ = os.Remove(c.path(key, ".json")) // a missing file is what we want
}
