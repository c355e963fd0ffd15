package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// contentType is the media type of Parquet files.
const contentType = "application/vnd.apache.parquet"

// store is the object storage a sink writes to: a gocloud.dev blob bucket
// whose keys are relative to the sink's location. For a local folder it
// also knows the folder, because fileblob neither syncs files to disk nor
// renames: a local store syncs what it writes and commits with an atomic
// rename, where an object store copies and deletes.
type store struct {
	bucket *blob.Bucket
	dir    string // the local folder; "" for object stores
}

// openStore opens the bucket of loc, creating a local folder if missing.
func openStore(ctx context.Context, loc Location) (*store, error) {
	switch loc.Scheme {
	case "file":
		b, err := fileblob.OpenBucket(loc.Dir, &fileblob.Options{
			CreateDir: true,
			// fileblob's own temporary files go next to the file (named
			// KEY.<hex>.tmp), not to os.TempDir, which may be another
			// filesystem where the final rename fails.
			NoTempDir: true,
			// No KEY.attrs sidecar files next to the Parquet files.
			Metadata: fileblob.MetadataDontWrite,
		})
		if err != nil {
			return nil, err
		}
		return &store{bucket: b, dir: loc.Dir}, nil
	case "s3":
		u := &url.URL{Scheme: "s3", Host: loc.Bucket, RawQuery: loc.Query}
		b, err := (&s3blob.URLOpener{}).OpenBucketURL(ctx, u)
		if err != nil {
			return nil, err
		}
		if loc.Prefix != "" {
			b = blob.PrefixedBucket(b, loc.Prefix+"/")
		}
		return &store{bucket: b}, nil
	}
	return nil, fmt.Errorf("unsupported location %s", loc)
}

// object is an object being written. It is not visible under its key
// until finish returns.
type object struct {
	key    string
	w      *blob.Writer
	file   *os.File // the temporary file of a local store, for Sync
	dir    string   // the folder the object lands in, on a local store
	cancel context.CancelFunc
	n      int64 // bytes written
}

// create starts writing the object key. The object lives beyond the
// calls that write it, so its context is its own: abort cancels it.
func (s *store) create(key string) (*object, error) {
	ctx, cancel := context.WithCancel(context.Background())
	o := &object{key: key, cancel: cancel}
	opts := &blob.WriterOptions{ContentType: contentType}
	if s.dir != "" {
		o.dir = s.localPath(path.Dir(key))
		if err := s.makeDir(o.dir); err != nil {
			cancel()
			return nil, err
		}
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

// Write writes to the object.
func (o *object) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	o.n += int64(n)
	return n, err
}

// finish makes the object durable under its key.
func (o *object) finish() error {
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
		return syncDir(o.dir)
	}
	return nil
}

// abort discards the object: nothing appears under its key.
func (o *object) abort() {
	o.cancel()
	_ = o.w.Close()
}

// localPath returns the file of key in a local store.
func (s *store) localPath(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// size returns the size of the object key, or false when there is none.
func (s *store) size(ctx context.Context, key string) (int64, bool, error) {
	a, err := s.bucket.Attributes(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return a.Size, true, nil
}

// promote moves the object from to the key to, replacing any object there.
// On a local store it is an atomic rename followed by syncing both folders.
func (s *store) promote(ctx context.Context, from, to string) error {
	if s.dir == "" {
		if err := s.bucket.Copy(ctx, to, from, nil); err != nil {
			return err
		}
		return s.remove(ctx, from)
	}
	src, dst := s.localPath(from), s.localPath(to)
	if err := s.makeDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	return syncDir(filepath.Dir(src))
}

// remove deletes the object key; a missing object is not an error.
func (s *store) remove(ctx context.Context, key string) error {
	err := s.bucket.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// list returns the keys of every object under prefix.
func (s *store) list(ctx context.Context, prefix string) ([]string, error) {
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

// close releases the bucket.
func (s *store) close() error { return s.bucket.Close() }

// makeDir creates dir, a folder of a local store, with its missing
// parents, and makes their entries durable.
func (s *store) makeDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	for d := dir; d != s.dir && len(d) > len(s.dir); d = filepath.Dir(d) {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir makes the entries of a local folder durable.
func syncDir(dir string) error {
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
