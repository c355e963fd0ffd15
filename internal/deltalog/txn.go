package deltalog

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxConflicts is how many times in a row CommitNext retries after
// another writer took the version it tried.
const MaxConflicts = 100

// CommitNext commits the actions build returns at the version after s,
// which it keeps up to date: when another writer took that version
// first, it applies the new commits to s and calls build again, up to
// MaxConflicts times. build sees the table as it is (s) and returns the
// actions to commit, nil when there is nothing left to do (the commit is
// then a no-op), or an error when the other writers' commits make its
// commit impossible (a schema or protocol change). conflict, if not nil,
// is called at each retry.
//
// After a commit whose version is a multiple of CheckpointInterval it
// writes a checkpoint of the new state; a failure to write it is
// returned with the version (the commit itself stands).
func (l *Log) CommitNext(ctx context.Context, s *Snapshot, build func(s *Snapshot) ([]Action, error), conflict func()) (version int64, err error) {
	for attempt := 0; ; attempt++ {
		actions, err := build(s)
		if err != nil || actions == nil {
			return -1, err
		}
		v := s.Version + 1
		err = l.Commit(ctx, v, actions)
		if errors.Is(err, ErrConflict) {
			if attempt >= MaxConflicts {
				return -1, fmt.Errorf("version %d: %d conflicts in a row with other writers", v, attempt+1)
			}
			if conflict != nil {
				conflict()
			}
			if err := l.Update(ctx, s); err != nil {
				return -1, err
			}
			continue
		}
		if err != nil {
			return -1, fmt.Errorf("version %d: %w", v, err)
		}
		s.Apply(v, actions)
		if v > 0 && v%CheckpointInterval == 0 {
			if err := l.WriteCheckpoint(ctx, s, time.Now()); err != nil {
				return v, fmt.Errorf("checkpoint of version %d: %w", v, err)
			}
		}
		return v, nil
	}
}
