package companion

import (
	"fmt"
	"time"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/contract"
	"github.com/vaultcmp/vaultcmp/limits"
)

// Floors on every schedule the companion keeps (package limits:
// MinRefreshAfter, MinRenewalInterval, MinReissueInterval; flags --min-*,
// variables VAULTCMP_MIN_*). A carrier is attacker-written: whatever its
// contract or its state says, the companion never reads Vault for one
// object more often than the refresh floor, never renews one lease more
// often than the renewal floor, and never issues a credential or a
// certificate for one object more often than the re-issue floor. The
// decisions below are pure (the caller passes the time) and table-tested.

// floors are the floors in force: the operator's, or the defaults.
func (r *Reconciler) floors() limits.Limits {
	if r.Limits == (limits.Limits{}) {
		return limits.Default()
	}
	return r.Limits
}

// contractFloors refuses a contract whose schedule is below the floors, as
// generate does (renderer/floors.go): refreshAfter below the refresh floor,
// a ttl − expiryOffset below the re-issue floor, an expiryOffset not shorter
// than the ttl. The error names the field, the floor, its flag and its
// variable; the carrier does nothing until it changes.
func contractFloors(c *contract.V1, l limits.Limits) error {
	refresh := func(s string) error {
		d, err := v1beta1.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("spec.refreshAfter: %w", err)
		}
		if err := l.CheckRefreshAfter(d); err != nil {
			return fmt.Errorf("spec.refreshAfter: %w", err)
		}
		return nil
	}
	o := c.Object
	switch {
	case o.Static != nil:
		return refresh(o.Static.RefreshAfter)
	case o.Dynamic != nil:
		return refresh(o.Dynamic.RefreshAfter)
	case o.PKI != nil:
		if _, err := v1beta1.ParseDuration(o.PKI.ExpiryOffset); err != nil {
			return fmt.Errorf("spec.expiryOffset: %w", err)
		}
		if _, err := v1beta1.ParsePKIDuration(o.PKI.TTL); err != nil {
			return fmt.Errorf("spec.ttl: %w", err)
		}
		ttl, offset, _ := o.PKI.ExpiryWindow()
		if err := l.CheckExpiryOffset(ttl, offset, "ttl"); err != nil {
			return fmt.Errorf("spec.expiryOffset: %w", err)
		}
	}
	return nil
}

// refreshNext is when an object with refreshAfter d is next read: d after
// now, and never sooner than the refresh floor.
func refreshNext(now time.Time, d time.Duration, l limits.Limits) time.Time {
	return now.Add(max(d, l.MinRefreshAfter))
}

// renewalNext is when a lease just obtained or renewed is next renewed: at
// horizon (renewalPercent with jitter), never sooner than the renewal floor.
func renewalNext(now time.Time, horizon time.Duration, l limits.Limits) time.Time {
	return now.Add(max(horizon, l.MinRenewalInterval))
}

// reissueNext is when an object whose next action is a new credential (a
// lease that cannot be renewed, a re-read after refreshAfter) acts next:
// after d, never sooner than the re-issue floor after issuedAt.
func reissueNext(now, issuedAt time.Time, d time.Duration, l limits.Limits) time.Time {
	return latest(now.Add(d), issuedAt.Add(l.MinReissueInterval))
}

// reissueWait says whether a re-issue due now must wait for the re-issue
// floor (the last issue was at issuedAt), and until when. A first issue
// (issuedAt zero) never waits.
func reissueWait(now, issuedAt time.Time, l limits.Limits) (time.Time, bool) {
	if issuedAt.IsZero() {
		return time.Time{}, false
	}
	at := issuedAt.Add(l.MinReissueInterval)
	return at, now.Before(at)
}

// pkiNext is when a certificate issued at issuedAt, expiring at expiration,
// is re-issued: at expiration − offset, earlier by VSO's jitter (up to 5%
// of the time left, jitter in [0,1)), never sooner than the re-issue floor
// after issuedAt. The certificate's real lifetime (Vault's, when the object
// has no ttl) is checked as generate checks a ttl: when expiryOffset can
// never be met (offset ≥ lifetime) the certificate is re-issued at 2/3 of
// its lifetime instead (as a Vault token is renewed); when what it leaves
// is below the floor, at the floor. warning then says why, naming the floor
// (the carrier's status shows it).
func pkiNext(issuedAt, expiration time.Time, offset time.Duration, jitter float64, l limits.Limits) (next time.Time, warning string) {
	// Vault reports the expiration in whole seconds (truncated): a second
	// more, so that a ttl generate let through is not found short here.
	lifetime := expiration.Sub(issuedAt) + time.Second
	at := expiration.Add(-offset)
	if lifetime > 0 && offset >= lifetime {
		at = issuedAt.Add(lifetime * 2 / 3)
	}
	if d := at.Sub(issuedAt); d > 0 {
		at = at.Add(-time.Duration(jitter * 0.05 * float64(d)))
	}
	if err := l.CheckExpiryOffset(lifetime, offset, "lifetime (from Vault)"); err != nil {
		warning = err.Error()
	}
	if floor := issuedAt.Add(l.MinReissueInterval); at.Before(floor) {
		at = floor
	}
	if warning != "" {
		warning += fmt.Sprintf("; the certificate is kept and re-issued at %s", at.UTC().Format(time.RFC3339))
	}
	return at, warning
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
