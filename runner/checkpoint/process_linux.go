//go:build linux

package checkpoint

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// thisMachine identifies where PIDs of this process's kind mean the same
// process: the boot of this machine (its boot id) and the PID namespace
// of this process (containers on one machine each have their own). ""
// when either cannot be read.
func thisMachine() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(boot)) + " " + ns
}

// processGone reports whether the owner's process surely no longer runs:
// it ran on this machine, in this PID namespace, since its last boot, and
// its PID is free now. A PID taken again by another process counts as
// running: the lease then times out as usual.
func processGone(o Owner) bool {
	if o.Machine == "" || o.Machine != thisMachine() || o.PID <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(o.PID, 0), syscall.ESRCH)
}
