package delta

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/internal/deltalog"
)

// MinVacuumRetention is the shortest retention Vacuum accepts: files a
// streaming writer has staged but not committed yet are younger.
const MinVacuumRetention = time.Hour

// VacuumResult says what Vacuum did.
type VacuumResult struct {
	// Deleted lists the keys of the files deleted (or, on a dry run,
	// that would be).
	Deleted []string
	// Bytes is their total size when known.
	Bytes int64
	// UnknownAge counts unreferenced files left alone because their age is
	// unknown: not written by sluice, on S3, where object times are not
	// read.
	UnknownAge int
}

// Vacuum deletes the data files of the table that its current version
// does not reference and that are older than retain at now: removed files
// by their remove's deletionTimestamp, never-committed ones by the time in
// their name (files sluice writes) or on a local folder by their
// modification time. The log (_delta_log) and other folders starting with
// "_" or "." are never touched. dryRun only lists.
func Vacuum(ctx context.Context, log *deltalog.Log, retain time.Duration, now time.Time, dryRun bool) (VacuumResult, error) {
	var res VacuumResult
	if retain < MinVacuumRetention {
		return res, fmt.Errorf("retention %v is below the minimum of %v: files a writer staged but has not committed yet would be deleted", retain, MinVacuumRetention)
	}
	snap, err := log.Snapshot(ctx)
	if err != nil || !snap.Exists() {
		return res, err
	}
	store := log.Store()
	keys, err := store.List(ctx, "")
	if err != nil {
		return res, err
	}
	live := map[string]bool{}
	for p := range snap.Files {
		live[mustDecode(p)] = true
	}
	removed := map[string]int64{}
	for p, r := range snap.Tombstones {
		removed[mustDecode(p)] = r.DeletionTimestamp
	}
	cutoff := now.Add(-retain)
	for _, k := range keys {
		if live[k] || hidden(k) || !strings.HasSuffix(k, ".parquet") {
			continue
		}
		var at time.Time
		if ms, ok := removed[k]; ok {
			at = time.UnixMilli(ms)
		} else if t, ok := createdAt(k); ok {
			at = t
		} else if store.Local() {
			t, err := localModTime(store.String(), k)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return res, err
			}
			at = t
		} else {
			res.UnknownAge++
			continue
		}
		if !at.Before(cutoff) {
			continue
		}
		if size, ok, err := store.Size(ctx, k); err == nil && ok {
			res.Bytes += size
		}
		if !dryRun {
			if err := store.Delete(ctx, k); err != nil {
				return res, fmt.Errorf("delete %s: %w", k, err)
			}
		}
		res.Deleted = append(res.Deleted, k)
	}
	return res, nil
}

// hidden reports whether key is under a folder (or is a file) whose name
// starts with "_" or ".": the log and what other tools keep there.
func hidden(key string) bool {
	for _, seg := range strings.Split(key, "/") {
		if strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}

// localModTime returns the modification time of key in the local folder
// root ("file:///…").
func localModTime(root, key string) (time.Time, error) {
	dir := strings.TrimPrefix(root, "file://")
	fi, err := os.Stat(filepath.Join(filepath.FromSlash(dir), filepath.FromSlash(key)))
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// Commit is one table version as History lists it.
type Commit struct {
	Version   int64
	Timestamp time.Time
	Operation string
	// AppID and Epoch are those of the commit's txn action; Epoch is -1
	// without one.
	AppID string
	Epoch int64
	// Added and Removed count add and remove actions; Rows is the sum of
	// the numRecords of the files added with dataChange (new rows, not
	// rows optimize rearranged).
	Added, Removed int
	Rows           int64
}

// History lists the table's commits, oldest first, from the JSON commit
// files of the log.
func History(ctx context.Context, log *deltalog.Log) ([]Commit, error) {
	versions, err := log.Versions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Commit, 0, len(versions))
	for _, v := range versions {
		actions, err := log.ReadCommit(ctx, v)
		if err != nil {
			return nil, err
		}
		c := Commit{Version: v, Epoch: -1}
		for _, a := range actions {
			switch {
			case a.CommitInfo != nil:
				c.Timestamp = time.UnixMilli(a.CommitInfo.Timestamp).UTC()
				c.Operation = a.CommitInfo.Operation
			case a.Txn != nil:
				c.AppID, c.Epoch = a.Txn.AppID, a.Txn.Version
			case a.Add != nil:
				c.Added++
				if !a.Add.DataChange {
					continue // rearranged rows (optimize), not new ones
				}
				if st, err := deltalog.ParseStats(a.Add.Stats); err == nil && st.NumRecords != nil {
					c.Rows += *st.NumRecords
				}
			case a.Remove != nil:
				c.Removed++
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// FormatEpoch renders an epoch for listings: "-" when there is none.
func FormatEpoch(epoch int64) string {
	if epoch < 0 {
		return "-"
	}
	return strconv.FormatInt(epoch, 10)
}
