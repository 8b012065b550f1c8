package renderer

import (
	"errors"
	"fmt"

	"github.com/vaultcmp/vaultcmp/internal/safetext"
	"github.com/vaultcmp/vaultcmp/vault"
)

// fetchProblems are the jobs' problems, with the failures to reach one Vault
// address told once: the first, and how many other objects needed that
// address (the Vault session stops sending to an address after its first
// connection failure, so they failed at once).
func fetchProblems(jobs []*job) Problems {
	var probs Problems
	first := map[string]*Problem{}
	others := map[string]int{}
	var order []string
	for _, j := range jobs {
		if j.err == nil {
			continue
		}
		addr, ok := unreachable(j.err)
		if !ok {
			probs = append(probs, j.err)
			continue
		}
		if _, seen := first[addr]; seen {
			others[addr]++
			continue
		}
		first[addr] = j.err
		order = append(order, addr)
		probs = append(probs, j.err)
	}
	for _, addr := range order {
		if n := others[addr]; n > 0 {
			first[addr].Hint += fmt.Sprintf(" (%d other %s Vault at %s: not tried again)",
				n, plural(n, "object needs", "objects need"), safetext.Clean(addr))
		}
	}
	return probs
}

// unreachable tells whether err is a failure to connect to a Vault address.
func unreachable(err error) (string, bool) {
	var down *vault.DownError
	if errors.As(err, &down) {
		var verr *vault.Error
		if errors.As(err, &verr) {
			return verr.Address, true
		}
		return down.Address, true
	}
	var verr *vault.Error
	if errors.As(err, &verr) && verr.Status == 0 && (verr.Reason == vault.ReasonUnreachable || verr.Reason == vault.ReasonTLS) {
		return verr.Address, true
	}
	return "", false
}
