package plugin

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiles for developers (go tool pprof), named by environment variables:
// the benchmark (test/e2e, $VAULTCMP_BENCH_PROFILE) sets them.
const (
	envCPUProfile = "VAULTCMP_CPUPROFILE" // CPU profile of the run
	envMemProfile = "VAULTCMP_MEMPROFILE" // heap profile (allocations) at the end of the run
)

// startProfiles starts the profiles env asks for; stop writes them.
func startProfiles(env Env) (stop func(), err error) {
	stopCPU := func() {}
	if p := env.get(envCPUProfile); p != "" {
		if stopCPU, err = startCPUProfile(p); err != nil {
			return nil, err
		}
	}
	memPath := env.get(envMemProfile)
	if memPath != "" {
		runtime.MemProfileRate = 64 << 10 // finer than the default 512 KiB: a render allocates small objects
	}
	return func() {
		stopCPU()
		if memPath != "" {
			_ = writeHeapProfile(memPath) // for developers: a failure shows as a missing file
		}
	}, nil
}

// startCPUProfile writes a CPU profile to path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting the CPU profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// writeHeapProfile writes the heap profile (alloc_space shows where a run
// allocated, inuse_space what it held at the end).
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the heap profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("writing the heap profile: %w", err)
	}
	return nil
}
