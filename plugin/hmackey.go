package plugin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// loadHMACKey finds the per-installation key of the rollout checksums:
// $VAULTCMP_HMAC_KEY, else the file from --hmac-key-file, else
// <user config dir>/vaultcmp/hmac-key, created (0600) on first use.
func loadHMACKey(env Env, file string) ([]byte, error) {
	if k := env.get(EnvHMACKey); k != "" {
		return []byte(k), nil
	}
	if file != "" {
		b, err := readBounded(file, 64<<10)
		if err != nil {
			return nil, fmt.Errorf("reading the HMAC key: %w", err)
		}
		k := strings.TrimSpace(string(b))
		if k == "" {
			return nil, fmt.Errorf("the HMAC key file %s is empty", file)
		}
		return []byte(k), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("finding a place for the HMAC key (set %s): %w", EnvHMACKey, err)
	}
	p := filepath.Join(dir, "vaultcmp", "hmac-key")
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return []byte(strings.TrimSpace(string(b))), nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading the HMAC key: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	k := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("creating the HMAC key (set %s): %w", EnvHMACKey, err)
	}
	// Written aside, then linked into place: when two processes race, both
	// end up with the winner's complete key.
	tmp, err := os.CreateTemp(filepath.Dir(p), ".hmac-key-*")
	if err != nil {
		return nil, fmt.Errorf("creating the HMAC key (set %s): %w", EnvHMACKey, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(k + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("writing the HMAC key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing the HMAC key: %w", err)
	}
	if err := os.Link(tmp.Name(), p); errors.Is(err, fs.ErrExist) {
		return loadHMACKey(env, p)
	} else if err != nil {
		return nil, fmt.Errorf("creating the HMAC key (set %s): %w", EnvHMACKey, err)
	}
	return []byte(k), nil
}
