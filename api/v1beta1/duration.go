package v1beta1

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// VSO's CRD patterns for durations, matched by matchesDurationPattern.
const (
	// durationPattern is the pattern of refreshAfter, timeout and
	// expiryOffset.
	durationPattern = `^([0-9]+(\.[0-9]+)?(s|m|h))$`
	// pkiDurationPattern is the pattern of VaultPKISecret ttl.
	pkiDurationPattern = `^([0-9]+(\.[0-9]+)?(s|m|h|d))$`
)

// matchesDurationPattern reports whether s matches
// `^([0-9]+(\.[0-9]+)?(u))$` for one unit byte u in units: durationPattern
// with units "smh", pkiDurationPattern with "smhd". It is written out rather
// than a regexp because every object with a duration is checked, and the
// regexp was half of Validate's remaining time for a valid
// VaultStaticSecret (TestMatchesDurationPatternAgreesWithRegexp).
func matchesDurationPattern(s, units string) bool {
	if len(s) < 2 || !strings.ContainsRune(units, rune(s[len(s)-1])) {
		return false
	}
	whole, frac, hasFrac := strings.Cut(s[:len(s)-1], ".")
	return allDigits(whole) && (!hasFrac || allDigits(frac))
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseDuration parses a duration in VSO's pattern `^[0-9]+(\.[0-9]+)?(s|m|h)$`
// (a single number and unit, e.g. "30s", "1.5m", "24h"). An empty string is
// "unset" and gives 0 and no error.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if !matchesDurationPattern(s, "smh") {
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
	if !matchesDurationPattern(s, "smhd") {
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
