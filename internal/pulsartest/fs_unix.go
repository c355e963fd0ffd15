//go:build unix

package pulsartest

import (
	"errors"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on the file at path (created if needed),
// so that two brokers never write the same data directory. The lock goes
// with the process: a crashed broker leaves none behind.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("in use by another broker")
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}
