package renderer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vaultcmp/vaultcmp/vault"
)

// Problem is one reason an object cannot be rendered.
type Problem struct {
	Object    string // "file: Kind ns/name"
	Field     string // field path in the object, e.g. "spec.vaultAuthRef"
	VaultPath string // Vault API path, when Vault was involved
	Status    int    // HTTP status from Vault, 0 if none
	Hint      string // what to do
	Err       error
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Object)
	if p.Field != "" {
		b.WriteString(": ")
		b.WriteString(p.Field)
	}
	b.WriteString(": ")
	b.WriteString(p.Err.Error())
	return b.String()
}

func (p *Problem) Unwrap() error { return p.Err }

// Problems is every problem of one render. A render with problems prints nothing.
type Problems []*Problem

func (ps Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s, nothing rendered:", len(ps), plural(len(ps), "problem", "problems"))
	for _, p := range ps {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
		if p.Hint != "" {
			b.WriteString("\n    hint: ")
			b.WriteString(p.Hint)
		}
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// problem builds a Problem for obj, taking Vault details out of err.
func problem(obj *Object, fieldPath string, err error, hint string) *Problem {
	p := &Problem{Object: obj.Where(), Field: fieldPath, Err: err, Hint: hint}
	var verr *vault.Error
	if errors.As(err, &verr) {
		p.VaultPath, p.Status = verr.Path, verr.Status
		if p.Hint == "" {
			p.Hint = verr.Hint()
		}
	}
	return p
}
