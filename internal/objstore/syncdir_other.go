//go:build !unix

package objstore

// SyncDir does nothing on this platform, where folders cannot be synced:
// renames there are as durable as the file system makes them.
func SyncDir(string) error { return nil }
