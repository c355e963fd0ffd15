//go:build linux

package objstore

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// withoutPrivilege runs f on an OS thread of its own that file permissions
// apply to, and returns its error. Run as root, the thread drops the
// capabilities that let root ignore permissions (CAP_DAC_OVERRIDE,
// CAP_DAC_READ_SEARCH, CAP_FOWNER): capabilities belong to a thread on
// Linux, and the thread ends with f, so the rest of the test binary keeps
// them. f must make its file system calls on its own goroutine.
func withoutPrivilege(f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if os.Geteuid() == 0 {
			if err := dropFileCapabilities(); err != nil {
				done <- err
				return
			}
		}
		done <- f()
	}()
	return <-done
}

// dropFileCapabilities removes CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
// CAP_FOWNER from the effective capabilities of the calling thread.
func dropFileCapabilities() error {
	header := struct {
		version uint32
		pid     int32 // 0: the calling thread
	}{version: 0x20080522} // _LINUX_CAPABILITY_VERSION_3
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&header)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capget: %w", e)
	}
	data[0].effective &^= 1<<1 | 1<<2 | 1<<3
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&header)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}
