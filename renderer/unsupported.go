package renderer

import (
	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// ignoredWarnings are the warnings of the fields of vo that vaultcmp
// accepts without VSO's effect (v1beta1.IgnoredFields): nothing set in a
// manifest is ignored silently. They never hold a value.
func ignoredWarnings(vo *vaultObject) []string {
	ig := v1beta1.IgnoredFields(vo.obj)
	if len(ig) == 0 {
		return nil
	}
	out := make([]string, len(ig))
	for i, f := range ig {
		out[i] = vo.src.Where() + ": " + f.String()
	}
	return out
}
