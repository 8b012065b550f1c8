package limits

import (
	"fmt"
	"time"
)

// The shipped floors. VSO has none worth the name (its shortest horizon is
// 1 s for a certificate, 5 s after an error, and refreshAfter may be a
// millisecond); a carrier is attacker-written, so vaultcmp's floors are set
// where no honest schedule reaches them:
//   - refreshAfter 5 s: VSO's own retry period (requeueDurationOnError);
//     the examples use 30 s and 60 s; faster needs Vault events, not polling;
//   - renewals 1 s apart: VSO's minimum horizon; a lease's duration comes
//     from Vault's role (the operator), not from the carrier;
//   - issues 5 s apart: a new database user or certificate (and a rollout of
//     the workloads) at most every 5 s per object, and a certificate must be
//     used that long before expiryOffset asks for the next one.
const (
	DefaultMinRefreshAfter    = 5 * time.Second
	DefaultMinRenewalInterval = time.Second
	DefaultMinReissueInterval = 5 * time.Second
)

// Below returns the *Error for floor name when 0 < d < the floor in l, else
// nil. what names the value, e.g. "spec.refreshAfter 1ms".
func (l Limits) Below(name Name, d time.Duration, what string) error {
	s := Lookup(name)
	floor := time.Duration(s.Get(&l))
	if d > 0 && d < floor {
		return &Error{Limit: name, Value: int64(floor), What: what}
	}
	return nil
}

// CheckRefreshAfter refuses a refreshAfter below the MinRefreshAfter floor
// (0 is "unset" and passes).
func (l Limits) CheckRefreshAfter(d time.Duration) error {
	return l.Below(MinRefreshAfter, d, "refreshAfter "+d.String())
}

// CheckExpiryOffset refuses a certificate schedule that can never be met or
// is below the MinReissueInterval floor: the certificate's lifetime (its ttl,
// or the lifetime Vault gave it) minus expiryOffset is how long it is used
// before the next one is due, and must be at least the floor. offset ≥
// lifetime is refused whatever the floor (re-issued as soon as issued). A
// zero lifetime (unknown) passes: the companion checks the real one.
func (l Limits) CheckExpiryOffset(lifetime, offset time.Duration, lifetimeName string) error {
	if lifetime <= 0 {
		return nil
	}
	if offset >= lifetime {
		return &Error{Limit: MinReissueInterval, Value: int64(l.MinReissueInterval),
			What: fmt.Sprintf("expiryOffset %s is not shorter than the certificate's %s %s, so it can never be met (a new certificate as soon as one is issued): the time a certificate is used before the next (%s)",
				offset, lifetimeName, lifetime, lifetime-offset)}
	}
	return l.Below(MinReissueInterval, lifetime-offset,
		fmt.Sprintf("the time a certificate is used before expiryOffset asks for the next (%s %s − expiryOffset %s = %s)", lifetimeName, lifetime, offset, lifetime-offset))
}
