//go:build !linux

package companion

import "os/exec"

// childAttrs: no parent-death signal outside Linux.
func childAttrs(*exec.Cmd) {}

// watchChild: outside Linux only the child's own memory watchdog bounds it.
func watchChild(_ int, _ int64, stop <-chan struct{}, _ func()) { <-stop }
