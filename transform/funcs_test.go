package transform

import (
	"slices"
	"testing"

	"github.com/Masterminds/sprig/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFuncMap(t *testing.T) {
	t.Parallel()

	// VSO's list as copied: 179 unique names, all in sprig's hermetic map.
	assert.Len(t, vsoAllowedSprigFuncs, 179)
	assert.True(t, slices.IsSorted(vsoAllowedSprigFuncs))
	assert.Len(t, slices.Compact(slices.Clone(vsoAllowedSprigFuncs)), 179)
	hermetic := sprig.HermeticTxtFuncMap()
	for _, name := range vsoAllowedSprigFuncs {
		assert.Contains(t, hermetic, name, "VSO allow-listed function missing from sprig")
	}

	fm := FuncMap()
	names := AllowedFuncs()
	assert.True(t, slices.IsSorted(names))
	assert.Len(t, fm, len(names))
	for _, name := range names {
		assert.Contains(t, fm, name)
	}
	assert.Len(t, names, 179-6)
	assert.Contains(t, names, "get")

	forbidden := []string{
		"randInt", "shuffle", "bcrypt", "htpasswd", "ago", "mustToDate", "toDate",
		"now", "date", "dateInZone", "date_in_zone", "dateModify", "date_modify", "mustDateModify",
		"must_date_modify", "htmlDate", "htmlDateInZone", "unixEpoch",
		"uuidv4", "randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes", "randSeededNumeric",
		"genPrivateKey", "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
		"genSignedCert", "genSignedCertWithKey", "derivePassword", "encryptAES", "decryptAES",
		"env", "expandenv", "getHostByName",
	}
	for _, name := range forbidden {
		assert.NotContains(t, fm, name)
		assert.Contains(t, removedFuncs, name, "every forbidden function has a documented reason")
	}
	// Nothing in the map starts like a random/time/crypto generator.
	for _, name := range names {
		for _, prefix := range []string{"rand", "uuid", "gen", "now", "date"} {
			assert.False(t, len(name) >= len(prefix) && name[:len(prefix)] == prefix, name)
		}
	}
	// Every removed function has a reason, and sprig's full map has the ones
	// that are removed from VSO's list (so the list is not stale).
	full := sprig.TxtFuncMap()
	for name, reason := range removedFuncs {
		assert.NotEmpty(t, reason, name)
		if slices.Contains(vsoAllowedSprigFuncs, name) {
			assert.Contains(t, full, name)
		}
	}

	// FuncMap returns a copy.
	fm["get"] = nil
	require.NotNil(t, FuncMap()["get"])
}

func TestSortedKeysAndValues(t *testing.T) {
	t.Parallel()
	d1 := map[string]any{"b": 2, "a": 1, "c": 3}
	d2 := map[string]any{"z": 0, "y": 0}
	for range 20 {
		assert.Equal(t, []string{"a", "b", "c", "y", "z"}, sortedKeys(d1, d2))
		assert.Equal(t, []any{1, 2, 3}, sortedValues(d1))
	}
	assert.Equal(t, []string{}, sortedKeys())
	assert.Equal(t, []any{}, sortedValues(nil))
}
