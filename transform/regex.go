package transform

import (
	"regexp"
	"sync"
)

// maxCachedPatterns bounds the process-wide cache of compiled include/exclude
// patterns. A render sees few patterns; the companion runs for months over
// every app's manifests, so the cache forgets the oldest pattern first.
const maxCachedPatterns = 256

// regexCache holds compiled include/exclude patterns, at most
// maxCachedPatterns of them (first in, first out).
var regexCache = newPatternCache(maxCachedPatterns)

type patternCache struct {
	mu    sync.Mutex
	max   int
	m     map[string]*regexp.Regexp
	order []string // insertion order, oldest first
}

func newPatternCache(max int) *patternCache {
	return &patternCache{max: max, m: map[string]*regexp.Regexp{}}
}

func (c *patternCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *patternCache) get(pat string) (*regexp.Regexp, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	re, ok := c.m[pat]
	return re, ok
}

func (c *patternCache) put(pat string, re *regexp.Regexp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[pat]; ok {
		return
	}
	for len(c.order) >= c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[pat] = re
	c.order = append(c.order, pat)
}

func compile(pat string) (*regexp.Regexp, error) {
	if re, ok := regexCache.get(pat); ok {
		return re, nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	regexCache.put(pat, re)
	return re, nil
}
