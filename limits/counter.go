package limits

import "sync/atomic"

// Counter charges amounts against one limit, from any goroutine.
type Counter struct {
	name  Name
	limit int64 // 0: no limit
	used  atomic.Int64
}

// NewCounter returns a counter of limit name at value limit (0: no limit).
func NewCounter(name Name, limit int64) *Counter {
	return &Counter{name: name, limit: limit}
}

// Add charges n for what; past the limit it returns the limit's *Error.
// A nil Counter charges nothing.
func (c *Counter) Add(n int64, what string) error {
	if c == nil {
		return nil
	}
	if used := c.used.Add(n); c.limit > 0 && used > c.limit {
		return Exceeded(c.name, c.limit, what)
	}
	return nil
}

// Used is the amount charged so far.
func (c *Counter) Used() int64 {
	if c == nil {
		return 0
	}
	return c.used.Load()
}
