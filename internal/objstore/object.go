package objstore

import (
	"context"
	"errors"
	"os"

	"gocloud.dev/blob"
)

// Object is an object being written, created by Store.Create. Nothing is
// visible under its key until Finish returns; Abort discards it. An Object
// is used by one goroutine at a time.
type Object struct {
	key    string
	w      *blob.Writer
	file   *os.File // the temporary file of a local store, for Sync
	dir    string   // the folder the object lands in, on a local store
	cancel context.CancelFunc
	n      int64 // bytes written
	done   bool  // finished or aborted
}

// Create starts writing the object key with the given media type (e.g.
// "application/vnd.apache.parquet"). ctx governs the whole write, which
// may span many calls: cancelling it aborts the write like Abort. Call
// Finish or Abort exactly once.
func (s *Store) Create(ctx context.Context, key, contentType string) (*Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	ctx, cancel := context.WithCancel(ctx)
	o := &Object{key: key, cancel: cancel}
	opts := &blob.WriterOptions{ContentType: contentType}
	if s.dir != "" {
		o.dir = s.localDir(key)
		if err := s.makeDir(o.dir); err != nil {
			cancel()
			return nil, err
		}
		// fileblob hands out its temporary file, which it never syncs.
		opts.BeforeWrite = func(as func(any) bool) error {
			as(&o.file)
			return nil
		}
	}
	w, err := s.bucket.NewWriter(ctx, key, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	o.w = w
	return o, nil
}

// Key returns the key the object is written under.
func (o *Object) Key() string { return o.key }

// Written returns the number of bytes written so far: the object's size
// once finished.
func (o *Object) Written() int64 { return o.n }

// Write appends p to the object.
func (o *Object) Write(p []byte) (int, error) {
	if o.done {
		return 0, errors.New("objstore: write to a finished or aborted object")
	}
	n, err := o.w.Write(p)
	o.n += int64(n)
	return n, err
}

// Finish makes the object visible and durable under its key, replacing
// any object there. On an error nothing new is visible.
func (o *Object) Finish() error {
	if o.done {
		return errors.New("objstore: object finished or aborted already")
	}
	o.done = true
	defer o.cancel()
	if o.file != nil {
		if err := o.file.Sync(); err != nil {
			o.cancel()
			_ = o.w.Close()
			return err
		}
	}
	if err := o.w.Close(); err != nil {
		return err
	}
	if o.dir != "" {
		return SyncDir(o.dir)
	}
	return nil
}

// Abort discards the object: nothing appears under its key, and a local
// store's temporary file is removed. Abort after Finish does nothing.
func (o *Object) Abort() {
	if o.done {
		return
	}
	o.done = true
	o.cancel()
	_ = o.w.Close()
}
