package renderer

import (
	"github.com/vaultcmp/vaultcmp/api/v1beta1"
	"github.com/vaultcmp/vaultcmp/limits"
)

// checkFloors refuses a schedule below the operator's floors (package
// limits: refreshAfter, and a VaultPKISecret's ttl − expiryOffset against
// the re-issue floor), as the companion does: a carrier generate let
// through is one the companion acts on. Each problem names the floor, its
// flag and its variable.
func checkFloors(o *Object, vo *vaultObject, l limits.Limits) Problems {
	var probs Problems
	refresh := func(s string) {
		d, err := v1beta1.ParseDuration(s)
		if err != nil {
			return // Validate reported it
		}
		if err := l.CheckRefreshAfter(d); err != nil {
			probs = append(probs, problem(o, "spec.refreshAfter", err, "use a longer refreshAfter, or ask the operator to lower the floor"))
		}
	}
	switch obj := vo.obj.(type) {
	case *v1beta1.VaultStaticSecret:
		refresh(obj.Spec.RefreshAfter)
	case *v1beta1.VaultDynamicSecret:
		refresh(obj.Spec.RefreshAfter)
	case *v1beta1.VaultPKISecret:
		ttl, offset, ok := obj.Spec.ExpiryWindow()
		if !ok {
			return nil
		}
		if err := l.CheckExpiryOffset(ttl, offset, "ttl"); err != nil {
			probs = append(probs, problem(o, "spec.expiryOffset", err, "use a shorter expiryOffset or a longer ttl"))
		}
	}
	return probs
}
