package delta

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// fileNames names the data files of one writer:
//
//	part-OWNER-RUN-SEQ.c000.CODEC.parquet
//
// OWNER is "PIPELINE-SINK" (Hive-escaped) for a sink, "optimize" for
// compaction; RUN is 16 hex digits, the writer's start time in Unix ms
// (12) and a random part (4), so that names never repeat and vacuum can
// tell a file's age from its name; SEQ counts the writer's files.
type fileNames struct {
	owner  string // "part-" + OWNER + "-"
	run    string
	suffix string // e.g. ".zstd.parquet"
}

// newFileNames returns the names of a writer started at now.
func newFileNames(owner, suffix string, now time.Time) fileNames {
	var r [2]byte
	_, _ = rand.Read(r[:])
	return fileNames{
		owner:  "part-" + owner + "-",
		run:    fmt.Sprintf("%012x%s", now.UnixMilli()&(1<<48-1), hex.EncodeToString(r[:])),
		suffix: suffix,
	}
}

// name returns the base name of file seq.
func (n fileNames) name(seq int) string {
	return fmt.Sprintf("%s%s-%05d.c000%s", n.owner, n.run, seq, n.suffix)
}

// owns reports whether key names a data file of this owner, written by
// any run: the name is exactly the owner's prefix then RUN-SEQ.c000.
func (n fileNames) owns(key string) bool {
	rest, ok := strings.CutPrefix(path.Base(key), n.owner)
	if !ok {
		return false
	}
	_, ok = parseRun(rest)
	return ok
}

// parseRun reads "RUN-SEQ.c000…" and returns the run's start time (Unix ms).
func parseRun(rest string) (int64, bool) {
	if len(rest) < 16+1+5 || rest[16] != '-' {
		return 0, false
	}
	seq, tail, ok := strings.Cut(rest[17:], ".")
	if !ok || len(seq) < 5 || !strings.HasPrefix(tail, "c000") {
		return 0, false
	}
	if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
		return 0, false
	}
	ms, err := strconv.ParseUint(rest[:12], 16, 64)
	if err != nil {
		return 0, false
	}
	if _, err := strconv.ParseUint(rest[12:16], 16, 16); err != nil {
		return 0, false
	}
	return int64(ms), true
}

// createdAt returns when a data file written by sluice (a sink or
// optimize) was created, from its name: the start of the run that wrote
// it, which is no later. ok is false for other names.
func createdAt(key string) (time.Time, bool) {
	base := path.Base(key)
	if !strings.HasPrefix(base, "part-") {
		return time.Time{}, false
	}
	// RUN-SEQ.c000 follows the owner, which may hold "-": try each "-".
	for i := len("part-"); i < len(base); i++ {
		if base[i] != '-' {
			continue
		}
		if ms, ok := parseRun(base[i+1:]); ok {
			return time.UnixMilli(ms), true
		}
	}
	return time.Time{}, false
}
