package transform

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The process-wide pattern cache stays bounded however many distinct
// patterns a long-lived process sees, and forgets the oldest first.
func TestPatternCacheBounded(t *testing.T) {
	for i := range 3 * maxCachedPatterns {
		re, err := compile(fmt.Sprintf("^key-%d$", i))
		require.NoError(t, err)
		assert.True(t, re.MatchString(fmt.Sprintf("key-%d", i)))
		assert.LessOrEqual(t, regexCache.len(), maxCachedPatterns)
	}
	assert.Equal(t, maxCachedPatterns, regexCache.len())
	_, oldest := regexCache.get("^key-0$")
	assert.False(t, oldest, "the oldest pattern was forgotten")
	_, newest := regexCache.get(fmt.Sprintf("^key-%d$", 3*maxCachedPatterns-1))
	assert.True(t, newest)

	_, err := compile("(")
	require.Error(t, err)
	_, cached := regexCache.get("(")
	assert.False(t, cached, "a bad pattern is not cached")
}
