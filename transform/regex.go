package transform

import (
	"regexp"
	"sync"
)

// regexCache holds compiled include/exclude patterns. The patterns come from
// the manifests, so the cache stays small.
var regexCache sync.Map // string -> *regexp.Regexp

func compile(pat string) (*regexp.Regexp, error) {
	if re, ok := regexCache.Load(pat); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, err
	}
	regexCache.Store(pat, re)
	return re, nil
}
