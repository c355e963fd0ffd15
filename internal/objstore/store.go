// Package objstore keeps objects in a local folder or under an S3 prefix,
// over gocloud.dev/blob (v0.47.0), with the guarantees sluice's sinks and
// checkpoints need and gocloud.dev alone does not give:
//
//   - Durability on local folders. fileblob never fsyncs: a Store syncs
//     every file it writes before renaming it into place, then the folder
//     that holds it (and any folder it created).
//   - Atomic writes. An object is written under a temporary name and
//     appears whole or not at all: on a local folder a rename in the same
//     folder (fileblob's NoTempDir, since os.TempDir may be another
//     filesystem where the rename fails); on S3 the upload, which S3
//     makes visible only once it completes (one PUT up to the SDK's
//     16 MiB multipart threshold, a multipart upload beyond).
//   - No sidecar files: fileblob's KEY.attrs metadata files are not
//     written, so a folder holds only the objects themselves.
//   - Create-if-absent (PutIfAbsent), for the ownership leases of
//     checkpoint stores: fileblob's IfNotExist checks and renames under a
//     lock of its own process only, so on a local folder a Store links a
//     synced temporary file to the key instead (the link fails if the key
//     exists, across processes); on S3 it is a PUT with
//     "If-None-Match: *", which AWS S3, MinIO and gofakes3 v1.2.0 honour
//     (gofakes3 checks it under its backend's lock, for PutObject but not
//     for CompleteMultipartUpload: hence MaxPutIfAbsent). CheckWritable
//     finds servers that ignore the header.
//
// Keys are relative to the Location, use "/" whatever the platform, and
// have no empty, "." or ".." segment.
//
// On a local folder, a write in progress, or one cut short by a crash, is
// a file named KEY.<hex>.tmp next to KEY (fileblob's temporary): List
// shows it, so that its owner can find and Delete the leftovers of a
// crash.
//
// gofakes3 v1.2.0, the in-process S3 server of the tests, keeps the old
// CRC32 checksum of an object written with one PUT when a multipart upload
// (above 16 MiB, or a copy of such an object) replaces it; the AWS SDK
// then fails reading the key back with "checksum did not match". Open such
// locations with response_checksum_validation=when_required in their query
// (ParseLocation accepts it). Real S3 and MinIO need no such option.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// Store is an open Location. Its methods may be called from several
// goroutines at once; two writes of one key race, and the last to finish
// wins.
type Store struct {
	bucket *blob.Bucket
	dir    string // the local folder; "" for object stores
	root   string // the location without its S3 options, for messages
}

// Open opens loc, creating a missing local folder. It fails when an S3
// bucket does not exist or cannot be reached. Credentials for S3 come from
// the usual AWS environment variables, shared files or instance roles,
// unless loc's query says anonymous=true.
func Open(ctx context.Context, loc Location) (*Store, error) {
	var s *Store
	switch loc.Scheme {
	case "file":
		b, err := fileblob.OpenBucket(loc.Dir, &fileblob.Options{
			CreateDir: true,
			// Temporary files go next to the final file (named
			// KEY.<hex>.tmp), not to os.TempDir, which may be another
			// filesystem where the final rename fails.
			NoTempDir: true,
			// No KEY.attrs sidecar files next to the objects.
			Metadata: fileblob.MetadataDontWrite,
		})
		if err != nil {
			return nil, err
		}
		s = &Store{bucket: b, dir: loc.Dir, root: loc.Root()}
	case "s3":
		u := &url.URL{Scheme: "s3", Host: loc.Bucket, RawQuery: loc.Query}
		b, err := (&s3blob.URLOpener{}).OpenBucketURL(ctx, u)
		if err != nil {
			return nil, err
		}
		if loc.Prefix != "" {
			b = blob.PrefixedBucket(b, loc.Prefix+"/")
		}
		s = &Store{bucket: b, root: loc.Root()}
	default:
		return nil, fmt.Errorf("unsupported location %q", loc.String())
	}
	if s.dir != "" {
		// fileblob made or found the folder. Listing it, as IsAccessible
		// does, would race with other processes renaming and deleting
		// files in it (a shared checkpoint folder) and report a folder
		// that exists as missing.
		return s, nil
	}
	if ok, err := s.bucket.IsAccessible(ctx); !ok || err != nil {
		_ = s.Close()
		if err == nil {
			return nil, errors.New("the bucket does not exist")
		}
		return nil, fmt.Errorf("checking the bucket: %s", reason(err))
	}
	return s, nil
}

// FromBucket returns a Store over a bucket opened elsewhere, e.g. memblob
// in tests. It is used as an object store: nothing is synced and Promote
// copies and deletes. Close closes b.
func FromBucket(b *blob.Bucket) *Store { return &Store{bucket: b, root: "the bucket"} }

// Local reports whether the store is a local folder.
func (s *Store) Local() bool { return s.dir != "" }

// String names the store in messages: its location without the S3
// options (Location.Root), e.g. "file:///var/lib/sluice" or
// "s3://bucket/prefix".
func (s *Store) String() string { return s.root }

// Put stores data under key, replacing any object there, atomically and
// durably: until Put returns, readers see the previous object (or none);
// once it returns without error, they see data, even after a crash. On a
// local folder data goes to a temporary file in key's folder, which is
// synced, renamed to key, and the folder synced. A Put that fails leaves
// the previous object, if any, untouched.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	o, err := s.Create(ctx, key, "application/octet-stream")
	if err != nil {
		return err
	}
	if _, err := o.Write(data); err != nil {
		o.Abort()
		return err
	}
	return o.Finish()
}

// Get returns the object key. A missing key is an error that matches
// fs.ErrNotExist.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	data, err := s.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, &fs.PathError{Op: "get", Path: key, Err: fs.ErrNotExist}
	}
	return data, err
}

// List returns the keys of the objects whose keys start with prefix, in
// lexicographic order; folders are not listed, the objects inside are.
// On a local folder a file another process deletes while it is listed
// (a lease's write probe, a checkpoint pruned) makes the listing fail with
// NotFound; List then lists again, a few times.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	for attempt := 1; ; attempt++ {
		keys, err := s.list(ctx, prefix)
		if gcerrors.Code(err) != gcerrors.NotFound || attempt == listAttempts {
			return keys, err
		}
	}
}

// listAttempts bounds how often List starts again after an object vanished
// while it was listed.
const listAttempts = 10

func (s *Store) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, err
		}
		if !obj.IsDir {
			keys = append(keys, obj.Key)
		}
	}
}

// Delete removes the object key; a missing key is not an error. Folders
// left empty on a local store stay.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	err := s.bucket.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// Size returns the size of the object key, and false when there is none.
func (s *Store) Size(ctx context.Context, key string) (int64, bool, error) {
	if err := checkKey(key); err != nil {
		return 0, false, err
	}
	a, err := s.bucket.Attributes(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return a.Size, true, nil
}

// MaxPromote is the largest object Promote moves on S3, where it is a
// copy in one request (CopyObject): 5 GiB.
const MaxPromote = 5 << 30

// Promote moves the object from to the key to, replacing any object there.
// On a local folder it is an atomic rename followed by syncing both
// folders. On S3 it is a copy (atomic, of at most MaxPromote bytes) and
// then a delete: a crash in between leaves both keys, holding the same
// data.
func (s *Store) Promote(ctx context.Context, from, to string) error {
	if err := checkKey(from); err != nil {
		return err
	}
	if err := checkKey(to); err != nil {
		return err
	}
	if s.dir == "" {
		if err := s.bucket.Copy(ctx, to, from, nil); err != nil {
			return err
		}
		return s.Delete(ctx, from)
	}
	src, dst := s.localPath(from), s.localPath(to)
	if err := s.makeDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if filepath.Dir(src) == filepath.Dir(dst) {
		return nil
	}
	return SyncDir(filepath.Dir(src))
}

// Close releases the store. Objects still being written are not affected;
// abort or finish them first.
func (s *Store) Close() error { return s.bucket.Close() }

// checkKey rejects keys that are empty, absolute, end with "/", hold
// control characters or have an empty, "." or ".." segment: on a local
// folder they would escape it or name a folder.
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty object key")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid object key %q: empty, \".\" or \"..\" segment", key)
		}
	}
	if strings.ContainsFunc(key, func(r rune) bool { return r < 32 || r == 127 }) {
		return fmt.Errorf("invalid object key %q: control character", key)
	}
	return nil
}

// localPath returns the file of key in a local store. fileblob escapes no
// character of a valid key on Unix, so the file is fileblob's too.
func (s *Store) localPath(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// localDir returns the folder of key in a local store.
func (s *Store) localDir(key string) string { return s.localPath(path.Dir(key)) }

// makeDir creates dir, a folder of a local store, with its missing
// parents, and makes their entries durable.
func (s *Store) makeDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	for d := dir; d != s.dir && len(d) > len(s.dir); d = filepath.Dir(d) {
		if err := SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
