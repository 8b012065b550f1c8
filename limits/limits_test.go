package limits

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "8MiB": 8 << 20, "512KiB": 512 << 10, "1Gi": 1 << 30, "2M": 2e6, "0": 0, " 3 MiB ": 3 << 20} {
		got, err := ParseBytes(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "x", "1.5MiB", "99999999999GiB"} {
		_, err := ParseBytes(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "8MiB", FormatBytes(8<<20))
	assert.Equal(t, "1000B", FormatBytes(1000))
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"VAULTCMP_MAX_FILE_SIZE": "1KiB", "VAULTCMP_MAX_DEADLINE": "5s", "VAULTCMP_MAX_YAML_DEPTH": "7"}
	l, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	assert.Equal(t, int64(1024), l.FileSize)
	assert.Equal(t, 5*time.Second, l.Deadline)
	assert.Equal(t, 7, l.YAMLDepth)
	assert.Equal(t, Default().InputSize, l.InputSize)

	_, err = FromEnv(func(k string) (string, bool) { return "lots", k == "VAULTCMP_MAX_OUTPUT_SIZE" })
	assert.ErrorContains(t, err, "VAULTCMP_MAX_OUTPUT_SIZE")
}

func TestErrorNamesTheLimit(t *testing.T) {
	err := Exceeded(FileSize, 8<<20, "file a.yaml")
	assert.Equal(t, "file a.yaml is larger than the limit of 8MiB for one file read from the repository (raise it with --max-file-size or VAULTCMP_MAX_FILE_SIZE)", err.Error())
	err = Exceeded(TemplateTime, int64(time.Second), "the templates of ns/x")
	assert.Contains(t, err.Error(), "took longer than the limit of 1s")
}

func TestCounter(t *testing.T) {
	c := NewCounter(InputSize, 10)
	require.NoError(t, c.Add(6, "a"))
	require.NoError(t, c.Add(4, "b"))
	assert.ErrorContains(t, c.Add(1, "c"), "c is larger than the limit of 10B")
	var none *Counter
	assert.NoError(t, none.Add(1<<40, "x"))
}

// Every limit is documented, with its flag, variable and default, in
// README.md and docs/install.md.
func TestDocumented(t *testing.T) {
	for _, doc := range []string{"../README.md", "../docs/install.md"} {
		b, err := os.ReadFile(doc)
		require.NoError(t, err)
		lines := strings.Split(string(b), "\n")
		for _, s := range Specs {
			found := false
			for _, line := range lines {
				if strings.Contains(line, "`"+s.Flag()+"`") && strings.Contains(line, "`"+s.Env+"`") &&
					strings.Contains(line, s.Format(s.Default)) {
					found = true
				}
			}
			assert.True(t, found, "%s: no line with `%s`, `%s` and %s", doc, s.Flag(), s.Env, s.Format(s.Default))
		}
	}
}
