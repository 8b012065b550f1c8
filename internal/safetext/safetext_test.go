package safetext

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"a.yaml":                      "a.yaml",
		"dir/ünïcode name.yaml":       "dir/ünïcode name.yaml",
		"evil\n\x1b[31merror: x.yaml": `"evil\n\x1b[31merror: x.yaml"`,
		"tab\there":                   `"tab\there"`,
		"bad utf8 \xff":               `"bad utf8 \xff"`,
		"bidi \u202e override":        `"bidi \u202e override"`,
	} {
		assert.Equal(t, want, Clean(in), in)
	}
}

func TestRemote(t *testing.T) {
	assert.Equal(t, "short", Remote("short", 256))
	got := Remote("bad\n\x1b[31m"+strings.Repeat("z", 1000), 16)
	assert.Equal(t, `"bad\n\x1b[31mzzzzzzz"…(993 bytes cut)`, got)
	assert.Equal(t, "é…(2 bytes cut)", Remote("éé", 3)) // cut on a rune boundary
}

func TestLines(t *testing.T) {
	assert.Equal(t, "a\n  b\tc", Lines("a\n  b\tc"))
	assert.Equal(t, "ok\nbad \\x1b[31m\n", Lines("ok\nbad \x1b[31m\n"))
}
