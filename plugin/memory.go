package plugin

import (
	"context"
	"errors"
	"runtime/metrics"
	"time"

	"github.com/vaultcmp/vaultcmp/limits"
)

// A memory watchdog is the last bound: whatever a repository finds that
// the other limits miss (Helm's own template functions, say), the run ends
// with an error that names the limit before the kernel kills the sidecar's
// container (which Argo CD shows as a bare "signal: killed").

// memorySamples are the runtime's mapped memory and what it gave back.
var memorySamples = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

// goMemory is the memory the Go runtime holds: mapped minus released.
func goMemory() int64 {
	s := make([]metrics.Sample, len(memorySamples))
	copy(s, memorySamples)
	metrics.Read(s)
	var total, released uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		total = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		released = s[1].Value.Uint64()
	}
	if released > total {
		return 0
	}
	return int64(total - released)
}

// The collector's settings are Go's defaults (GOGC=100, no soft limit), by
// choice: measured on the 10,000-Secret benchmark app (make bench), GOGC=50
// cut peak RSS from 184 to 148 MiB and GOGC=25 to 128 MiB for 15 to 50% more
// CPU, and a soft limit of 40 or 48 MiB gave 125 MiB (the live heap is
// above it) for 2.5 times the CPU. A sidecar runs many renders at once on
// few cores: CPU is what they share, and the memory watchdog below bounds a
// runaway. The operator can still set GOGC or GOMEMLIMIT in the sidecar's
// environment.

// watchMemory cancels ctx with a *limits.Error when the process holds more
// than max bytes, polling every 20 ms until ctx ends. max 0: no watch.
// (The runtime's soft memory limit is left alone: near it the collector runs
// all the time, and a runaway render slows down instead of ending.)
func watchMemory(ctx context.Context, cancel context.CancelCauseFunc, max int64) {
	if max <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if goMemory() > max {
					cancel(limits.Exceeded(limits.Memory, max, "the memory vaultcmp holds"))
					return
				}
			}
		}
	}()
}

// isMemoryLimit tells whether ctx ended on the memory limit: then the run
// is abandoned at once, without the grace its other ends get.
func isMemoryLimit(ctx context.Context) bool {
	var lerr *limits.Error
	return errors.As(context.Cause(ctx), &lerr) && lerr.Limit == limits.Memory
}
