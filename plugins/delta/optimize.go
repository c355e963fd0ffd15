package delta

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"time"

	pq "github.com/parquet-go/parquet-go"

	"github.com/sluice-io/sluice/internal/deltalog"
	"github.com/sluice-io/sluice/plugins/parquet"
)

// OptimizeOptions are the settings of Optimize.
type OptimizeOptions struct {
	// TargetSize is the size the small files of a partition are
	// bin-packed into; files of at least this size are left alone.
	TargetSize int64
	// Compression is the codec of the files written ("zstd" when empty).
	Compression string
	// Now reads the clock (time.Now when nil).
	Now func() time.Time
	// OnConflict is called each time another writer took the version the
	// commit tried (may be nil).
	OnConflict func()

	// beforeCommit, when set by a test, runs after the files are written
	// and before the commit: another writer can commit then.
	beforeCommit func()
}

// OptimizeResult says what Optimize did.
type OptimizeResult struct {
	// Version is the table version of the compaction, -1 without one.
	Version int64
	// Removed and Added count the data files the commit removed and added.
	Removed, Added int
	// BytesRemoved and BytesAdded are their sizes.
	BytesRemoved, BytesAdded int64
}

// Optimize compacts the table: in each partition it bin-packs the live
// files smaller than opts.TargetSize into files of about that size, and
// commits in one version a remove (dataChange=false) of each file packed
// and an add (dataChange=false) of each new one. Rows are copied as they
// are (row groups of the new files hold the old files' rows in order), so
// the table's rows do not change. Files whose Parquet schema differs from
// the others' of their bin (written before a column was added) are left
// alone.
//
// snap, if not nil, is the table as the caller knows it and is brought up
// to date. A writer committing at the same time loses nothing: on a
// conflict the commit is retried at the next version as long as every
// file it removes is still live; when another compaction removed one
// first, nothing is committed, the new files are deleted and the result
// says Version -1.
func Optimize(ctx context.Context, log *deltalog.Log, snap *deltalog.Snapshot, opts OptimizeOptions) (OptimizeResult, error) {
	res := OptimizeResult{Version: -1}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Compression == "" {
		opts.Compression = "zstd"
	}
	codec, suffix, ok := parquet.Codec(opts.Compression)
	if !ok {
		return res, fmt.Errorf("unknown compression %q", opts.Compression)
	}
	if opts.TargetSize <= 0 {
		return res, fmt.Errorf("target size %d: must be greater than zero", opts.TargetSize)
	}
	var err error
	if snap == nil {
		snap, err = log.Snapshot(ctx)
	} else {
		err = log.Update(ctx, snap)
	}
	if err != nil || !snap.Exists() {
		return res, err
	}
	names := newFileNames("optimize", suffix, opts.Now())
	c := &compactor{ctx: ctx, log: log, names: names, options: []pq.WriterOption{pq.Compression(codec), pq.DataPageVersion(1)}, now: opts.Now().UnixMilli()}
	for _, bin := range bins(snap, opts.TargetSize) {
		if err := c.compact(bin); err != nil {
			c.discard()
			return res, err
		}
	}
	if len(c.removes) == 0 {
		return res, nil
	}
	if opts.beforeCommit != nil {
		opts.beforeCommit()
	}
	stale := false
	build := func(s *deltalog.Snapshot) ([]deltalog.Action, error) {
		for _, r := range c.removes {
			if _, live := s.Files[r.Path]; !live {
				stale = true
				return nil, nil
			}
		}
		return c.actions(s), nil
	}
	v, err := log.CommitNext(ctx, snap, build, opts.OnConflict)
	if v < 0 {
		c.discard()
		if err == nil && !stale {
			err = fmt.Errorf("nothing committed")
		}
		return res, err
	}
	res.Version, res.Removed, res.Added = v, len(c.removes), len(c.adds)
	for _, r := range c.removes {
		res.BytesRemoved += r.Size
	}
	for _, a := range c.adds {
		res.BytesAdded += a.Size
	}
	return res, err
}

// bins groups the live files smaller than target by partition and packs
// each group, in path order, into bins of at most target bytes; only bins
// of two files or more are returned.
func bins(s *deltalog.Snapshot, target int64) [][]*deltalog.Add {
	groups := map[string][]*deltalog.Add{}
	for _, a := range s.Files {
		if a.Size >= target {
			continue
		}
		k := path.Dir(a.Path) + "\x00" + partitionKey(a.PartitionValues)
		groups[k] = append(groups[k], a)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out [][]*deltalog.Add
	for _, k := range keys {
		files := groups[k]
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		var cur []*deltalog.Add
		var size int64
		for _, f := range files {
			if len(cur) > 0 && size+f.Size > target {
				if len(cur) > 1 {
					out = append(out, cur)
				}
				cur, size = nil, 0
			}
			cur = append(cur, f)
			size += f.Size
		}
		if len(cur) > 1 {
			out = append(out, cur)
		}
	}
	return out
}

// partitionKey renders partition values in key order.
func partitionKey(values map[string]string) string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = strconv.AppendQuote(b, k)
		b = strconv.AppendQuote(b, values[k])
	}
	return string(b)
}

// compactor writes the compacted files of one Optimize.
type compactor struct {
	ctx     context.Context
	log     *deltalog.Log
	names   fileNames
	options []pq.WriterOption
	now     int64
	seq     int
	removes []*deltalog.Add // the files packed
	adds    []*deltalog.Add // the files written
}

// compact writes one file with the rows of the files of bin that share
// the first file's schema.
func (c *compactor) compact(bin []*deltalog.Add) error {
	store := c.log.Store()
	var (
		schema *pq.Schema
		files  []*pq.File
		used   []*deltalog.Add
		stats  []*deltalog.Stats
	)
	for _, a := range bin {
		key, err := deltalog.DecodePath(a.Path)
		if err != nil {
			return fmt.Errorf("path %q: %w", a.Path, err)
		}
		data, err := store.Get(c.ctx, key)
		if err != nil {
			return err
		}
		f, err := pq.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if schema == nil {
			schema = f.Schema()
		} else if !pq.EqualNodes(schema, f.Schema()) {
			continue
		}
		st, err := deltalog.ParseStats(a.Stats)
		if err != nil {
			st = &deltalog.Stats{}
		}
		files, used, stats = append(files, f), append(used, a), append(stats, st)
	}
	if len(files) < 2 {
		return nil
	}
	dir := path.Dir(mustDecode(used[0].Path))
	key := c.names.name(c.seq + 1)
	if dir != "." {
		key = dir + "/" + key
	}
	c.seq++
	obj, err := store.Create(c.ctx, key, contentType)
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	w := pq.NewWriter(obj, append([]pq.WriterOption{schema}, c.options...)...)
	for _, f := range files {
		for _, rg := range f.RowGroups() {
			rows := rg.Rows()
			_, err := pq.CopyRows(w, rows)
			_ = rows.Close()
			if err != nil {
				obj.Abort()
				return fmt.Errorf("write %s: %w", key, err)
			}
		}
		if err := w.Flush(); err != nil {
			obj.Abort()
			return fmt.Errorf("write %s: %w", key, err)
		}
	}
	if err := w.Close(); err != nil {
		obj.Abort()
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := obj.Finish(); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	add := &deltalog.Add{Path: deltalog.EncodePath(key), PartitionValues: used[0].PartitionValues, Size: obj.Written(), ModificationTime: c.now}
	if st := deltalog.MergeStats(stats); st != nil {
		add.Stats = st.Encode()
	}
	c.removes = append(c.removes, used...)
	c.adds = append(c.adds, add)
	return nil
}

// actions returns the compaction's commit on top of table s.
func (c *compactor) actions(s *deltalog.Snapshot) []deltalog.Action {
	readVersion := s.Version
	blind := false
	actions := []deltalog.Action{{CommitInfo: &deltalog.CommitInfo{
		Timestamp: c.now, Operation: "OPTIMIZE", ReadVersion: &readVersion, IsBlindAppend: &blind, EngineInfo: "sluice",
		OperationParameters: map[string]string{"predicate": "[]", "zOrderBy": "[]"},
		OperationMetrics:    map[string]string{"numRemovedFiles": strconv.Itoa(len(c.removes)), "numAddedFiles": strconv.Itoa(len(c.adds))},
	}}}
	for _, r := range c.removes {
		actions = append(actions, deltalog.Action{Remove: &deltalog.Remove{
			Path: r.Path, DeletionTimestamp: c.now, DataChange: false,
			ExtendedFileMetadata: true, PartitionValues: r.PartitionValues, Size: r.Size,
		}})
	}
	for _, a := range c.adds {
		actions = append(actions, deltalog.Action{Add: a})
	}
	return actions
}

// discard deletes the files written, which no commit references.
func (c *compactor) discard() {
	for _, a := range c.adds {
		_ = c.log.Store().Delete(context.WithoutCancel(c.ctx), mustDecode(a.Path))
	}
}

// mustDecode decodes a path this package encoded.
func mustDecode(p string) string {
	k, err := deltalog.DecodePath(p)
	if err != nil {
		return p
	}
	return k
}
