package companion

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childAttrs makes the kernel kill a template child when the companion
// dies, so none outlives it.
func childAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// watchChild calls kill once pid's anonymous memory (RssAnon: heap and
// stacks, not the binary's pages, which are shared with the companion) is
// above max, polling every 10 ms until stop is closed.
func watchChild(pid int, max int64, stop <-chan struct{}, kill func()) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if rssAnon(path) > max {
				kill()
				return
			}
		}
	}
}

// rssAnon reads RssAnon (bytes) from a /proc/<pid>/status file; 0 if it
// cannot.
func rssAnon(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
