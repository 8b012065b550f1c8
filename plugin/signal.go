package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// committer lets a run be abandoned at any point before it prints: text/template,
// Helm and kustomize cannot be interrupted, so when the context ends
// (SIGTERM, SIGINT, the deadline) the command returns promptly with a clear
// error and nothing on stdout, and the process exits while the abandoned
// work may still be running.
type committer struct {
	ctx       context.Context
	mu        sync.Mutex
	abandoned bool
	printed   bool
}

// commit is called right before the output is written: false means the run
// was abandoned (or its context ended) and must print nothing. After true,
// the caller writes and then calls done.
func (c *committer) commit() bool {
	c.mu.Lock()
	if c.abandoned || c.ctx.Err() != nil {
		c.mu.Unlock()
		return false
	}
	return true // the lock is held until done: an abandon waits for the write
}

// done ends a commit.
func (c *committer) done() {
	c.printed = true
	c.mu.Unlock()
}

// grace is how long an ended run gets to return its own error (which names
// what it was waiting for) before it is abandoned.
const grace = 500 * time.Millisecond

// interruptible runs work until it returns or ctx ends, whichever comes
// first (then it waits up to grace for work's own error).
func interruptible(ctx context.Context, work func(c *committer) error) error {
	c := &committer{ctx: ctx}
	res := make(chan error, 1)
	go func() { res <- work(c) }()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
	}
	g := grace
	if isMemoryLimit(ctx) {
		g = 0
	}
	t := time.NewTimer(g)
	defer t.Stop()
	select {
	case err := <-res:
		if err == nil { // printed before the context ended
			return nil
		}
		return err
	case <-t.C:
	}
	c.mu.Lock() // waits for a write in progress
	c.abandoned = true
	printed := c.printed
	c.mu.Unlock()
	if printed {
		return <-res
	}
	return &exitError{code: ExitProblems, err: interruptedError(ctx)}
}

func interruptedError(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(cause, context.Canceled) {
		return errors.New("interrupted by a signal: nothing was printed")
	}
	return fmt.Errorf("%w: nothing was printed", cause)
}
