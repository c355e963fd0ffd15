package deltalog

import (
	"maps"
	"net/url"
)

// Snapshot is the state of a table at one version: the result of
// replaying its log (Action Reconciliation).
type Snapshot struct {
	// Version is the table version; -1 when the table does not exist.
	Version  int64
	Protocol *Protocol
	Metadata *Metadata
	// Files are the live data files by path (as written in the log).
	Files map[string]*Add
	// Tombstones are the removed files by path, for vacuum.
	Tombstones map[string]*Remove
	// Txns is the latest version of every application id.
	Txns map[string]int64
}

// NewSnapshot returns the state before version 0: no table.
func NewSnapshot() *Snapshot {
	return &Snapshot{Version: -1, Files: map[string]*Add{}, Tombstones: map[string]*Remove{}, Txns: map[string]int64{}}
}

// Exists reports whether the table has been created.
func (s *Snapshot) Exists() bool { return s.Version >= 0 }

// Apply applies the actions of the commit of version (the next one) to s.
func (s *Snapshot) Apply(version int64, actions []Action) {
	for _, a := range actions {
		switch {
		case a.Protocol != nil:
			s.Protocol = a.Protocol
		case a.MetaData != nil:
			s.Metadata = a.MetaData
		case a.Txn != nil:
			s.Txns[a.Txn.AppID] = a.Txn.Version
		case a.Add != nil:
			delete(s.Tombstones, a.Add.Path)
			s.Files[a.Add.Path] = a.Add
		case a.Remove != nil:
			delete(s.Files, a.Remove.Path)
			s.Tombstones[a.Remove.Path] = a.Remove
		}
	}
	s.Version = version
}

// Clone returns a copy of s that Apply can change without changing s.
func (s *Snapshot) Clone() *Snapshot {
	return &Snapshot{
		Version:    s.Version,
		Protocol:   s.Protocol,
		Metadata:   s.Metadata,
		Files:      maps.Clone(s.Files),
		Tombstones: maps.Clone(s.Tombstones),
		Txns:       maps.Clone(s.Txns),
	}
}

// Rows returns the number of records of the live files, from their stats;
// ok is false when a file has none.
func (s *Snapshot) Rows() (rows int64, ok bool) {
	ok = true
	for _, f := range s.Files {
		st, err := ParseStats(f.Stats)
		if err != nil || st.NumRecords == nil {
			ok = false
			continue
		}
		rows += *st.NumRecords
	}
	return rows, ok
}

// EncodePath URI-encodes key, a data file's object key relative to the
// table, for the path of an add or remove action: every byte but ASCII
// letters, digits, "-", ".", "_", "~", "=" and "/" is written %XX.
func EncodePath(key string) string {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(key)+8)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '=', c == '/':
			out = append(out, c)
		default:
			out = append(out, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(out)
}

// DecodePath returns the object key of path, an action's relative path.
func DecodePath(path string) (string, error) { return url.PathUnescape(path) }
