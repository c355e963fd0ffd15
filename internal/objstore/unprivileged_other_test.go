//go:build !linux

package objstore

import (
	"errors"
	"os"
)

// withoutPrivilege runs f and returns its error; as root, where file
// permissions do not apply and no thread can drop that privilege here, it
// fails instead.
func withoutPrivilege(f func() error) error {
	if os.Geteuid() == 0 {
		return errors.New("cannot test file permissions as root on this platform")
	}
	return f()
}
