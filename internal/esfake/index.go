package esfake

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// index is one index: its documents, the view searches see (as of the last
// refresh) and its mapping.
type index struct {
	name, uuid string
	mapping    *mapping
	docs       map[string]*document
	searchable map[string]json.RawMessage // as of the last refresh
	changed    map[string]bool            // ids changed since the last refresh
	seqNo      int64
}

// document is one stored document.
type document struct {
	source  json.RawMessage
	version int64
	seqNo   int64
}

func newIndex(name, uuid string, m *mapping) *index {
	return &index{name: name, uuid: uuid, mapping: m, docs: map[string]*document{},
		searchable: map[string]json.RawMessage{}, changed: map[string]bool{}, seqNo: -1}
}

// put stores source under id and returns the document.
func (ix *index) put(id string, source json.RawMessage) *document {
	ix.seqNo++
	d := ix.docs[id]
	if d == nil {
		d = &document{}
		ix.docs[id] = d
	}
	d.source, d.seqNo = source, ix.seqNo
	d.version++
	ix.changed[id] = true
	return d
}

// remove deletes id and returns its last version, 0 when it did not exist.
func (ix *index) remove(id string) (version, seqNo int64) {
	d := ix.docs[id]
	if d == nil {
		return 0, 0
	}
	ix.seqNo++
	delete(ix.docs, id)
	ix.changed[id] = true
	return d.version + 1, ix.seqNo
}

// refresh makes every change visible to searches.
func (ix *index) refresh() {
	for id := range ix.changed {
		if d := ix.docs[id]; d != nil {
			ix.searchable[id] = d.source
		} else {
			delete(ix.searchable, id)
		}
	}
	clear(ix.changed)
}

// validIndexName reports why name cannot name an index, as Elasticsearch's
// MetadataCreateIndexService checks it; "" when it can.
func validIndexName(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case name == "." || name == "..":
		return "must not be '.' or '..'"
	case strings.ToLower(name) != name:
		return "must be lowercase"
	case strings.ContainsAny(name, "\\/*?\"<>| ,#:"):
		return `must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?, #, :]`
	case strings.IndexAny(name[:1], "-_+") == 0:
		return "must not start with '_', '-', or '+'"
	case len(name) > 255:
		return "index name is too long, (" + fmt.Sprint(len(name)) + " > 255)"
	}
	return ""
}

// resolve expands an index expression of a path (comma-separated names and
// wildcard patterns) to the names of existing indices, sorted. A concrete
// name that does not exist is an error naming it; a pattern matching
// nothing matches nothing.
func (s *Server) resolve(expr string) ([]string, string) {
	if expr == "" || expr == "_all" || expr == "*" {
		return s.indexNames(), ""
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(expr, ",") {
		if !strings.Contains(part, "*") {
			if s.indices[part] == nil {
				return nil, part
			}
			seen[part] = true
			continue
		}
		for name := range s.indices {
			if wildcardMatch(part, name) {
				seen[name] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, ""
}

func (s *Server) indexNames() []string {
	out := make([]string, 0, len(s.indices))
	for n := range s.indices {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// wildcardMatch matches name against a pattern where * stands for any run
// of characters.
func wildcardMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(name, p)
		}
		j := strings.Index(name, p)
		if j < 0 {
			return false
		}
		name = name[j+len(p):]
	}
	return true
}
