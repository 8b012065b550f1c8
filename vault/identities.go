package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/api"
)

// DefaultMaxClients is the default of [LifecycleOptions.MaxClients].
const DefaultMaxClients = 1024

// Which identities a Lifecycle keeps.
//
// Vault revokes a lease when the token that created it expires, and only a
// kept identity's token is renewed (by RenewTokens). So an identity whose
// leases still live must never be dropped: were it evicted (an LRU full of
// identities that never even log in), its token would run out and Vault
// would revoke its leases while the caller still believed them good. The
// rule:
//
//   - an entry holds the leases created (ReadDynamic, IssueCertificate with
//     a lease) or renewed (RenewLease) through it, each until the expiry
//     Vault gave, or until RevokeLease; an entry that holds a live lease, or
//     that a call is using right now, is never evicted;
//   - a new identity takes a free slot, or the slot of the least recently
//     used entry that holds nothing and is not in use;
//   - when there is none, the new identity is refused with an
//     [*IdentityLimitError] (not retried here; [Retryable] says a later
//     retry may succeed, when leases end): the cost of the limit falls on
//     the newcomer, visibly, never on an identity that already has leases.

// IdentityLimitError refuses a new identity: every one of the
// MaxClients slots is held by an identity with live leases or in use.
type IdentityLimitError struct {
	Max  int
	Hint string // how to raise the limit (LifecycleOptions.LimitHint)
}

func (e *IdentityLimitError) Error() string {
	msg := fmt.Sprintf("identity limit reached: all %d Vault identities kept hold live leases or are in use; "+
		"this new identity is refused rather than evicting one whose leases Vault would then revoke", e.Max)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// leaseEffect is what a successful request does to the leases its identity
// holds.
type leaseEffect uint8

const (
	_ leaseEffect = iota // no effect on leases (the zero value)
	// leaseHold: the answer's lease (an issue, or a renewal of request.scrub)
	// is held until its new expiry.
	leaseHold
	// leaseDrop: the lease request.scrub was revoked.
	leaseDrop
)

// entry returns id's entry, most recently used now and marked in use (the
// caller calls done), making room as the package comment above says.
func (l *Lifecycle) entry(id *Identity) (*lcEntry, error) {
	key := id.Key()
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.clients[key]; ok {
		l.lru.MoveToFront(el)
		e := el.Value.(*lcEntry)
		e.users++
		return e, nil
	}
	if l.lru.Len() >= l.opts.MaxClients && !l.evictOne(now) {
		return nil, &Error{Op: "login", Address: id.Connection.Address, Path: id.Auth.LoginPath(), Reason: ReasonLimit,
			Err:  &IdentityLimitError{Max: l.opts.MaxClients, Hint: l.opts.LimitHint},
			hint: "the companion keeps a bounded number of Vault identities and never drops one holding leases: " + l.opts.LimitHint}
	}
	e := &lcEntry{key: key, id: id, lock: make(chan struct{}, 1), users: 1}
	l.clients[key] = l.lru.PushFront(e)
	return e, nil
}

// evictOne removes the least recently used entry that holds no live lease
// and is not in use, and reports whether there was one. l.mu is held.
func (l *Lifecycle) evictOne(now time.Time) bool {
	for el := l.lru.Back(); el != nil; el = el.Prev() {
		e := el.Value.(*lcEntry)
		if e.users == 0 && !e.holds(now) {
			l.lru.Remove(el)
			delete(l.clients, e.key)
			return true
		}
	}
	return false
}

// leaseRec is a lease an entry holds: until when, and the token generation
// that created it (as far as this process knows).
type leaseRec struct {
	exp time.Time
	gen uint64
}

// holds tells whether e holds a lease that has not expired, forgetting
// those that have. l.mu is held.
func (e *lcEntry) holds(now time.Time) bool {
	live := false
	for id, rec := range e.leases {
		if now.Before(rec.exp) {
			live = true
		} else {
			delete(e.leases, id)
		}
	}
	return live
}

// atRisk tells whether a lease e holds may end before its time: the last
// renewal or login failed, or a lease was created by a token that a new
// login replaced (Vault revokes it when that token expires). l.mu is held.
func (e *lcEntry) atRisk(now time.Time) bool {
	if !e.holds(now) {
		return false
	}
	if e.trouble != nil {
		return true
	}
	for _, rec := range e.leases {
		if rec.gen != e.liveGen {
			return true
		}
	}
	return false
}

// done ends a use of e begun by entry.
func (l *Lifecycle) done(e *lcEntry) {
	l.mu.Lock()
	e.users--
	l.mu.Unlock()
}

// applyLease records what r's success s, sent with token generation gen,
// did to e's leases. e is in use. A renewal keeps the generation recorded
// at the lease's creation; a lease this process did not create (a restart)
// is counted as the current token's.
func (l *Lifecycle) applyLease(e *lcEntry, r request, s *api.Secret, gen uint64) {
	switch r.lease {
	case leaseHold:
		if s == nil || s.LeaseDuration <= 0 {
			return
		}
		id := s.LeaseID
		if id == "" {
			id = r.scrub // a renewal that did not repeat the lease id
		}
		if id == "" {
			return
		}
		exp := l.opts.Now().Add(time.Duration(s.LeaseDuration) * time.Second)
		l.mu.Lock()
		if e.leases == nil {
			e.leases = map[string]leaseRec{}
		}
		if old, ok := e.leases[id]; ok && r.scrub != "" {
			gen = old.gen
		}
		e.leases[id] = leaseRec{exp: exp, gen: gen}
		l.mu.Unlock()
	case leaseDrop:
		l.mu.Lock()
		delete(e.leases, r.scrub)
		l.mu.Unlock()
	}
}

// tokenReplaced records that e has a new token (e is locked): the leases
// the previous token created end when it expires (Vault revokes them).
func (l *Lifecycle) tokenReplaced(e *lcEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.liveGen = e.gen
	if e.prevExpiry.IsZero() {
		return
	}
	for id, rec := range e.leases {
		if rec.gen == e.prevGen && rec.exp.After(e.prevExpiry) {
			rec.exp = e.prevExpiry
			e.leases[id] = rec
		}
	}
}

// noteTrouble records the outcome of making e's token good (a renewal or
// a new login): err, or nil for a success. An interrupted call tells
// nothing.
func (l *Lifecycle) noteTrouble(e *lcEntry, err error) {
	var verr *Error
	if errors.Is(err, context.Canceled) || (errors.As(err, &verr) && verr.Reason == ReasonCanceled) {
		return
	}
	l.mu.Lock()
	e.trouble = err
	l.mu.Unlock()
}

// TokenTrouble is the last failure to renew or replace id's token, nil when
// the last attempt succeeded (or id is not kept). While it is set, the token
// may expire and Vault then revokes the leases it created: the caller should
// say so rather than report them healthy. The token stays due, so every
// RenewTokens (and any request of id) tries again; a success clears it.
func (l *Lifecycle) TokenTrouble(id *Identity) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.clients[id.Key()]; ok {
		return el.Value.(*lcEntry).trouble
	}
	return nil
}

// AtRiskIdentities lists the keys ([Identity.Key]) of the identities that
// hold live leases that may end early: their last token renewal or login
// failed ([Lifecycle.TokenTrouble]), or a new login replaced the token that
// created one of them ([Lifecycle.TokenDeadline]). The caller looks at the
// leases of these identities now rather than at their next renewal.
func (l *Lifecycle) AtRiskIdentities() []string {
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for el := l.lru.Front(); el != nil; el = el.Next() {
		if e := el.Value.(*lcEntry); e.atRisk(now) {
			out = append(out, e.key)
		}
	}
	return out
}
