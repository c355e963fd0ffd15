//go:build unix

package objstore

import "os"

// SyncDir makes the entries of a local folder durable: a file created or
// renamed in it survives a crash of the machine once SyncDir returns.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
