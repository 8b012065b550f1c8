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
// choice. Measured on the 10,000-Secret benchmark app (make bench, with
// VAULTCMP_BENCH_ENV) after issue 10: GOGC=50 cut peak RSS from 94 to 83
// MiB for 8% more CPU, GOGC=200 raised it to 105 MiB for no CPU gained, and
// a soft limit of 24 MiB gave 73 MiB for three times the CPU (the live heap
// is close to it). (Before issue 10 cut the render's allocation by two
// thirds, the same settings traded 184 MiB for 148 and 128.) A sidecar runs
// many renders at once on few cores: CPU is what they share, and the memory
// watchdog below bounds a runaway. The operator can still set GOGC or
// GOMEMLIMIT in the sidecar's environment.

// watchMemory cancels ctx with a *limits.Error when the process holds more
// than max bytes, polling every 20 ms until ctx ends. max 0: no watch.
// (The runtime's soft memory limit is left alone: near it the collector runs
// all the time, and a runaway render slows down instead of ending.)
func watchMemory(ctx context.Context, cancel context.CancelCauseFunc, max int64) {
	pollMemory(ctx, 20*time.Millisecond, max, func() {
		cancel(limits.Exceeded(limits.Memory, max, "the memory vaultcmp holds"))
	})
}

// pollMemory calls exceeded once, from its own goroutine, when the process
// holds more than max bytes, checking every interval until ctx ends. max 0:
// no watch.
func pollMemory(ctx context.Context, every time.Duration, max int64, exceeded func()) {
	if max <= 0 {
		return
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if goMemory() > max {
					exceeded()
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
