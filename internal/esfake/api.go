package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
)

// shardsOf is the _shards object of a request over n indices (one primary
// and one unassigned replica each, as a one-node cluster has).
func shardsOf(n int) shards { return shards{Total: 2 * n, Successful: n, Failed: 0} }

// refresh answers POST /_refresh and POST /{index}/_refresh.
func (s *Server) refresh(w http.ResponseWriter, expr string) {
	s.mu.Lock()
	names, missing := s.resolve(expr)
	if missing == "" {
		for _, n := range names {
			s.indices[n].refresh()
		}
	}
	s.mu.Unlock()
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"_shards": shardsOf(len(names))})
}

// checkQuery refuses a query other than match_all: the double does not
// search.
func checkQuery(body []byte) (from, size int, err error) {
	size = 10
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, size, nil
	}
	var req struct {
		Query map[string]json.RawMessage `json:"query"`
		From  *int                       `json:"from"`
		Size  *int                       `json:"size"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, 0, fmt.Errorf("request body is not valid JSON: %v", err)
	}
	for q := range req.Query {
		if q != "match_all" {
			return 0, 0, fmt.Errorf("esfake supports the match_all query only, not [%s]", q)
		}
	}
	if req.From != nil {
		from = *req.From
	}
	if req.Size != nil {
		size = *req.Size
	}
	return from, size, nil
}

// count answers GET|POST /_count and /{index}/_count over the refreshed
// documents.
func (s *Server) count(w http.ResponseWriter, expr string, body []byte) {
	if _, _, err := checkQuery(body); err != nil {
		writeError(w, http.StatusBadRequest, "parsing_exception", err.Error())
		return
	}
	s.mu.Lock()
	names, missing := s.resolve(expr)
	n := 0
	for _, name := range names {
		n += len(s.indices[name].searchable)
	}
	s.mu.Unlock()
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "_shards": shardsOf(len(names))})
}

// search answers a match_all _search over the refreshed documents, ordered
// by index and id, with from and size (in the body or the query string).
func (s *Server) search(w http.ResponseWriter, r *http.Request, expr string, body []byte) {
	from, size, err := checkQuery(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parsing_exception", err.Error())
		return
	}
	if q := r.URL.Query(); q.Has("size") || q.Has("from") {
		if v, err := strconv.Atoi(q.Get("size")); err == nil {
			size = v
		}
		if v, err := strconv.Atoi(q.Get("from")); err == nil {
			from = v
		}
	}
	type hit struct {
		Index  string          `json:"_index"`
		ID     string          `json:"_id"`
		Score  float64         `json:"_score"`
		Source json.RawMessage `json:"_source"`
	}
	var hits []hit
	s.mu.Lock()
	names, missing := s.resolve(expr)
	for _, name := range names {
		ix := s.indices[name]
		ids := make([]string, 0, len(ix.searchable))
		for id := range ix.searchable {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			hits = append(hits, hit{Index: name, ID: id, Score: 1, Source: ix.searchable[id]})
		}
	}
	s.mu.Unlock()
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	total := len(hits)
	hits = hits[min(from, total):min(from+max(size, 0), total)]
	if hits == nil {
		hits = []hit{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"took": 1, "timed_out": false, "_shards": shardsOf(len(names)),
		"hits": map[string]any{"total": map[string]any{"value": total, "relation": "eq"}, "max_score": 1.0, "hits": hits},
	})
}

// getDoc answers GET /{index}/_doc/{id}, which sees every write at once.
func (s *Server) getDoc(w http.ResponseWriter, name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		indexNotFound(w, name)
		return
	}
	d := ix.docs[id]
	if d == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"_index": name, "_id": id, "found": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"_index": name, "_id": id, "_version": d.version,
		"_seq_no": d.seqNo, "_primary_term": 1, "found": true, "_source": d.source})
}

// createIndex answers PUT /{index} with optional settings and mappings.
func (s *Server) createIndex(w http.ResponseWriter, name string, body []byte) {
	if why := validIndexName(name); why != "" {
		writeError(w, http.StatusBadRequest, "invalid_index_name_exception", fmt.Sprintf("Invalid index name [%s], %s", name, why))
		return
	}
	var req struct {
		Mappings map[string]any `json:"mappings"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "parse_exception", "request body is not valid JSON: "+err.Error())
			return
		}
	}
	m, err := parseMappings(req.Mappings)
	if err != nil {
		writeError(w, http.StatusBadRequest, "mapper_parsing_exception", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix := s.indices[name]; ix != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": errorBody{Type: "resource_already_exists_exception",
			Reason: fmt.Sprintf("index [%s/%s] already exists", name, ix.uuid), Index: name, IndexUUID: ix.uuid}, "status": 400})
		return
	}
	s.indices[name] = newIndex(name, newUUID(), m)
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

// headIndex answers HEAD /{index}: 200 when it exists, else 404.
func (s *Server) headIndex(w http.ResponseWriter, name string) {
	s.mu.Lock()
	ok := s.indices[name] != nil
	s.mu.Unlock()
	if ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

// deleteIndex answers DELETE /{index}.
func (s *Server) deleteIndex(w http.ResponseWriter, expr string) {
	s.mu.Lock()
	names, missing := s.resolve(expr)
	if missing == "" {
		for _, n := range names {
			delete(s.indices, n)
		}
	}
	s.mu.Unlock()
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

// getMapping answers GET /_mapping and /{index}/_mapping.
func (s *Server) getMapping(w http.ResponseWriter, expr string) {
	s.mu.Lock()
	names, missing := s.resolve(expr)
	out := map[string]any{}
	for _, n := range names {
		m := s.indices[n].mapping
		out[n] = map[string]any{"mappings": map[string]any{"properties": m.properties()}}
	}
	s.mu.Unlock()
	if missing != "" {
		indexNotFound(w, missing)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// Indices returns the names of the indices, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.indexNames()
}

// Docs returns every document of the index by id (as GET sees them, not
// waiting for a refresh); nil when the index does not exist.
func (s *Server) Docs(name string) map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(ix.docs))
	for id, d := range ix.docs {
		out[id] = append(json.RawMessage(nil), d.source...)
	}
	return out
}

// MappingType returns the type a field of an index is mapped to ("" when
// it is not mapped), such as "long" or "date"; path is dotted for the
// fields of objects.
func (s *Server) MappingType(name, path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix := s.indices[name]; ix != nil {
		return ix.mapping.fields[path]
	}
	return ""
}
