package v1beta1

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

var (
	// durationPattern is VSO's CRD pattern for refreshAfter, timeout and
	// expiryOffset.
	durationPattern = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(s|m|h))$`)
	// pkiDurationPattern is VSO's CRD pattern for VaultPKISecret ttl.
	pkiDurationPattern = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(s|m|h|d))$`)
)

// ParseDuration parses a duration in VSO's pattern `^[0-9]+(\.[0-9]+)?(s|m|h)$`
// (a single number and unit, e.g. "30s", "1.5m", "24h"). An empty string is
// "unset" and gives 0 and no error.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if !durationPattern.MatchString(s) {
		return 0, fmt.Errorf("invalid duration %q: want a number and one of the units s, m, h, e.g. 30s", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", s, err)
	}
	return d, nil
}

// ParsePKIDuration is ParseDuration that also accepts days ("d" = 24h), as
// VSO allows for VaultPKISecret ttl.
func ParsePKIDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if !pkiDurationPattern.MatchString(s) {
		return 0, fmt.Errorf("invalid duration %q: want a number and one of the units s, m, h, d, e.g. 720h or 30d", s)
	}
	num, isDays := strings.CutSuffix(s, "d")
	if !isDays {
		return ParseDuration(s)
	}
	h, err := time.ParseDuration(num + "h")
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", s, err)
	}
	if h > math.MaxInt64/24 {
		return 0, fmt.Errorf("invalid duration %q: out of range", s)
	}
	return h * 24, nil
}
