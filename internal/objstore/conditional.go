package objstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// MaxPutIfAbsent is the largest object PutIfAbsent writes: 1 MiB. On S3 a
// larger object could go up as a multipart upload, whose completion not
// every S3-compatible server checks against an existing object (gofakes3
// v1.2.0 does not).
const MaxPutIfAbsent = 1 << 20

// conflictRetries is how many times PutIfAbsent repeats an S3 request that
// failed with 409 ConditionalRequestConflict (a concurrent write of the
// same key was in progress): the repeat then succeeds or finds the object.
const conflictRetries = 3

// PutIfAbsent stores data under key only if no object is there: it is Put,
// atomic and durable, except that when an object exists it writes nothing
// and fails with an error matching fs.ErrExist. Of concurrent calls for
// one absent key, from any number of processes, exactly one succeeds.
//
// On a local folder data goes to a temporary file KEY.<x>.tmp in key's
// folder, which is synced and then hard-linked to key (the link fails if
// key exists, atomically, across processes), removed, and the folder
// synced: the folder must be on a filesystem with hard links. On S3 it is
// one PUT with "If-None-Match: *" (conditional writes: AWS S3, MinIO and
// gofakes3 v1.2.0 honour it; CheckWritable finds servers that ignore it).
// data may be at most MaxPutIfAbsent bytes.
func (s *Store) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(data) > MaxPutIfAbsent {
		return fmt.Errorf("creating %s: %d bytes is more than the %d a create-if-absent writes", key, len(data), MaxPutIfAbsent)
	}
	if s.dir != "" {
		return s.putIfAbsentLocal(ctx, key, data)
	}
	for attempt := 0; ; attempt++ {
		err := s.putIfAbsentBucket(ctx, key, data)
		switch {
		case gcerrors.Code(err) == gcerrors.FailedPrecondition:
			return &fs.PathError{Op: "create", Path: key, Err: fs.ErrExist}
		case apiErrorCode(err) == "ConditionalRequestConflict" && attempt < conflictRetries:
			continue
		}
		return err
	}
}

// putIfAbsentBucket writes data under key with blob's IfNotExist.
func (s *Store) putIfAbsentBucket(ctx context.Context, key string, data []byte) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: true})
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		cancel() // discards the write
		_ = w.Close()
		return err
	}
	return w.Close()
}

// putIfAbsentLocal is PutIfAbsent on a local folder: a synced temporary
// file, hard-linked to the key.
func (s *Store) putIfAbsentLocal(ctx context.Context, key string, data []byte) error {
	dir := s.localDir(key)
	if err := s.makeDir(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, path.Base(key)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful link, only the key's name remains
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, s.localPath(key)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &fs.PathError{Op: "create", Path: key, Err: fs.ErrExist}
		}
		return err
	}
	if err := os.Remove(tmp); err != nil {
		return err
	}
	return SyncDir(dir)
}

// CheckWritable checks, at start, that objects can be created under the
// folder dir of the store ("" for its root): it creates a uniquely named
// object "_probe-<hex>" there with PutIfAbsent, checks that creating it
// again is refused (so that PutIfAbsent can be relied on), and deletes
// it. Its errors are one line that starts with the store's name, e.g.
// "file:///var/lib/sluice is not writable: mkdir: permission denied" or
// "s3://lake cannot be reached: dial tcp 127.0.0.1:9000: connect:
// connection refused".
func (s *Store) CheckWritable(ctx context.Context, dir string) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	key := "_probe-" + hex.EncodeToString(b[:])
	if dir != "" {
		key = dir + "/" + key
	}
	if err := s.PutIfAbsent(ctx, key, []byte("sluice write probe\n")); err != nil {
		return s.failure(err)
	}
	again := s.PutIfAbsent(ctx, key, nil)
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("%s: deleting the write probe %s: %s", s.root, key, reason(err))
	}
	switch {
	case again == nil:
		return fmt.Errorf("%s overwrote an object that a create-if-absent (If-None-Match: *) should have refused: sluice needs conditional writes to keep one process per pipeline", s.root)
	case !errors.Is(again, fs.ErrExist):
		return s.failure(again)
	}
	return nil
}

// failure describes err, the failure of a write probe, in one line that
// names the store once.
func (s *Store) failure(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("%s cannot be reached: %s", s.root, reason(err))
	}
	return fmt.Errorf("%s is not writable: %s", s.root, reason(err))
}

// reason shortens err, an error of the filesystem, the network or S3, to
// its cause: without the absolute paths, request ids and retry counts
// that would repeat the store's name or bury the cause.
func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error()
	}
	var api interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &api) {
		if m := api.ErrorMessage(); m != "" {
			return api.ErrorCode() + ": " + m
		}
		return api.ErrorCode()
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Op + ": " + le.Err.Error()
	}
	return err.Error()
}

// apiErrorCode returns the S3 error code of err ("PreconditionFailed",
// "ConditionalRequestConflict"…), or "".
func apiErrorCode(err error) string {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
