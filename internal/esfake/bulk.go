package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"time"
)

// bulkAction is one parsed action of a _bulk body.
type bulkAction struct {
	op     string // index, create, update or delete
	index  string
	id     string
	source []byte // the line after the action; nil for delete
	line   int    // the action's line, from 1
}

// bulkItem is one entry of a _bulk response's items.
type bulkItem struct {
	Index       string     `json:"_index"`
	ID          string     `json:"_id"`
	Version     int64      `json:"_version,omitempty"`
	Result      string     `json:"result,omitempty"`
	Shards      *shards    `json:"_shards,omitempty"`
	SeqNo       *int64     `json:"_seq_no,omitempty"`
	PrimaryTerm int64      `json:"_primary_term,omitempty"`
	Status      int        `json:"status"`
	Error       *errorBody `json:"error,omitempty"`
}

type shards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

// requestError is a _bulk request refused as a whole.
type requestError struct {
	status      int
	typ, reason string
}

// parseBulk splits a _bulk body into actions.
func parseBulk(body []byte, defaultIndex string) ([]bulkAction, *requestError) {
	if len(body) == 0 {
		return nil, &requestError{400, "action_request_validation_exception", "Validation Failed: 1: no requests added;"}
	}
	if body[len(body)-1] != '\n' {
		return nil, &requestError{400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"}
	}
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	var (
		out        []bulkAction
		validation []string
	)
	for i := 0; i < len(lines); i++ {
		line := bytes.TrimSpace(lines[i])
		if len(line) == 0 {
			continue
		}
		var meta map[string]map[string]any
		if err := json.Unmarshal(line, &meta); err != nil || len(meta) != 1 {
			return nil, &requestError{400, "illegal_argument_exception",
				fmt.Sprintf("Malformed action/metadata line [%d], expected a simple value for field [_index] but found an object or no single action", i+1)}
		}
		a := bulkAction{line: i + 1, index: defaultIndex}
		var params map[string]any
		for op, p := range meta {
			a.op, params = op, p
		}
		switch a.op {
		case "index", "create", "update", "delete":
		default:
			return nil, &requestError{400, "illegal_argument_exception",
				fmt.Sprintf("Malformed action/metadata line [%d], expected one of [create, delete, index, update] but found [%s]", i+1, a.op)}
		}
		if v, ok := params["_index"].(string); ok {
			a.index = v
		}
		if v, ok := params["_id"].(string); ok {
			a.id = v
		}
		if a.op != "delete" {
			if i+1 >= len(lines) {
				return nil, &requestError{400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"}
			}
			i++
			a.source = lines[i]
		}
		n := len(out) + 1
		switch {
		case a.index == "":
			validation = append(validation, fmt.Sprintf("%d: index is missing;", n))
		case a.id == "" && (a.op == "update" || a.op == "delete"):
			validation = append(validation, fmt.Sprintf("%d: id is missing;", n))
		case len(a.id) > 512:
			validation = append(validation, fmt.Sprintf("%d: id [%s] is too long, must be no longer than 512 bytes but was: %d;", n, a.id, len(a.id)))
		}
		out = append(out, a)
	}
	if len(validation) > 0 {
		msg := "Validation Failed:"
		for _, v := range validation {
			msg += " " + v
		}
		return nil, &requestError{400, "action_request_validation_exception", msg}
	}
	return out, nil
}

// serveBulk answers POST /_bulk and POST /{index}/_bulk, with the faults
// injected into it.
func (s *Server) serveBulk(w http.ResponseWriter, r *http.Request, defaultIndex string) {
	s.mu.Lock()
	fault := s.takeBulkFault()
	s.mu.Unlock()
	if fault.drop && !fault.dropAfter {
		drop(w, r, true)
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	if fault.status != 0 {
		writeFailure(w, fault.status)
		return
	}
	start := time.Now()
	actions, rerr := parseBulk(body, defaultIndex)
	if rerr != nil {
		writeError(w, rerr.status, rerr.typ, rerr.reason)
		return
	}
	s.mu.Lock()
	items := make([]map[string]bulkItem, len(actions))
	anyError := false
	touched := map[string]bool{}
	for i, a := range actions {
		it := s.execute(a)
		touched[a.index] = true
		anyError = anyError || it.Error != nil
		items[i] = map[string]bulkItem{a.op: it}
	}
	if refresh := r.URL.Query().Get("refresh"); refresh == "true" || refresh == "wait_for" || (refresh == "" && r.URL.Query().Has("refresh")) {
		for name := range touched {
			if ix := s.indices[name]; ix != nil {
				ix.refresh()
			}
		}
	}
	s.mu.Unlock()
	if fault.dropAfter {
		drop(w, r, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"took": time.Since(start).Milliseconds(), "errors": anyError, "items": items})
}

// execute applies one action. s.mu is held.
func (s *Server) execute(a bulkAction) bulkItem {
	s.stats.Items++
	it := bulkItem{Index: a.index, ID: a.id}
	fail := func(status int, e errorBody) bulkItem {
		it.Status, it.Error = status, &e
		return it
	}
	if s.faults.rejectLeft > 0 {
		s.faults.rejectLeft--
		s.stats.RejectedItems++
		return fail(http.StatusTooManyRequests, errorBody{Type: "es_rejected_execution_exception",
			Reason: "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]"})
	}
	if why := validIndexName(a.index); why != "" {
		return fail(http.StatusBadRequest, errorBody{Type: "invalid_index_name_exception",
			Reason: fmt.Sprintf("Invalid index name [%s], %s", a.index, why), Index: a.index})
	}
	ix := s.indices[a.index]
	if ix == nil {
		if a.op == "delete" || s.opts.DisableAutoCreate {
			return fail(http.StatusNotFound, errorBody{Type: "index_not_found_exception",
				Reason: "no such index [" + a.index + "]", Index: a.index})
		}
		ix = newIndex(a.index, newUUID(), newMapping())
		s.indices[a.index] = ix
	}
	if a.id == "" {
		a.id = newUUID()
		it.ID = a.id
	}
	var (
		status int
		result string
		e      *errorBody
		doc    *document
	)
	switch a.op {
	case "index", "create":
		status, result, doc, e = s.write(ix, a)
	case "update":
		status, result, doc, e = s.update(ix, a)
	case "delete":
		version, seq := ix.remove(a.id)
		if version == 0 {
			it.Status, it.Result, it.Version = http.StatusNotFound, "not_found", 1
			it.Shards, it.SeqNo, it.PrimaryTerm = &shards{2, 1, 0}, ptr(ix.seqNo), 1
			return it
		}
		it.Status, it.Result, it.Version = http.StatusOK, "deleted", version
		it.Shards, it.SeqNo, it.PrimaryTerm = &shards{2, 1, 0}, ptr(seq), 1
		return it
	}
	if e != nil {
		e.Index, e.IndexUUID, e.Shard = ix.name, ix.uuid, "0"
		return fail(status, *e)
	}
	it.Status, it.Result, it.Version = status, result, doc.version
	it.Shards, it.SeqNo, it.PrimaryTerm = &shards{2, 1, 0}, ptr(doc.seqNo), 1
	return it
}

func ptr(v int64) *int64 { return &v }

// write applies an index or create action.
func (s *Server) write(ix *index, a bulkAction) (int, string, *document, *errorBody) {
	existing := ix.docs[a.id]
	if a.op == "create" && existing != nil {
		return http.StatusConflict, "", nil, &errorBody{Type: "version_conflict_engine_exception",
			Reason: fmt.Sprintf("[%s]: version conflict, document already exists (current version [%d])", a.id, existing.version)}
	}
	src, e := decodeObject(a.source, a.id)
	if e != nil {
		return http.StatusBadRequest, "", nil, e
	}
	if e := s.fit(ix, a.id, src); e != nil {
		return http.StatusBadRequest, "", nil, e
	}
	doc := ix.put(a.id, append(json.RawMessage(nil), a.source...))
	if existing != nil {
		return http.StatusOK, "updated", doc, nil
	}
	return http.StatusCreated, "created", doc, nil
}

// update applies an update action: a partial doc merged into the
// document, with doc_as_upsert or upsert for a missing one.
func (s *Server) update(ix *index, a bulkAction) (int, string, *document, *errorBody) {
	body, e := decodeObject(a.source, a.id)
	if e != nil {
		return http.StatusBadRequest, "", nil, e
	}
	if _, ok := body["script"]; ok {
		return http.StatusBadRequest, "", nil, &errorBody{Type: "illegal_argument_exception", Reason: "esfake does not run scripts"}
	}
	partial, _ := body["doc"].(map[string]any)
	if partial == nil {
		return http.StatusBadRequest, "", nil, &errorBody{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: script or doc is missing;"}
	}
	existing := ix.docs[a.id]
	var merged map[string]any
	status, result := http.StatusOK, "updated"
	switch {
	case existing != nil:
		merged, _ = decodeObject(existing.source, a.id)
		before, _ := decodeObject(existing.source, a.id)
		mergeInto(merged, partial)
		if reflect.DeepEqual(before, merged) {
			return http.StatusOK, "noop", existing, nil
		}
	case body["doc_as_upsert"] == true:
		merged, status, result = partial, http.StatusCreated, "created"
	case body["upsert"] != nil:
		up, ok := body["upsert"].(map[string]any)
		if !ok {
			return http.StatusBadRequest, "", nil, &errorBody{Type: "illegal_argument_exception", Reason: "upsert must be an object"}
		}
		merged, status, result = up, http.StatusCreated, "created"
	default:
		return http.StatusNotFound, "", nil, &errorBody{Type: "document_missing_exception", Reason: fmt.Sprintf("[%s]: document missing", a.id)}
	}
	if e := s.fit(ix, a.id, merged); e != nil {
		return http.StatusBadRequest, "", nil, e
	}
	src, err := json.Marshal(merged)
	if err != nil {
		return http.StatusBadRequest, "", nil, &errorBody{Type: "illegal_argument_exception", Reason: err.Error()}
	}
	return status, result, ix.put(a.id, src), nil
}

// fit checks src against the index's mapping and adds the fields dynamic
// mapping finds.
func (s *Server) fit(ix *index, id string, src map[string]any) *errorBody {
	added, merr := ix.mapping.check(id, src)
	if merr != nil {
		return &errorBody{Type: merr.typ, Reason: merr.reason, CausedBy: merr.causedBy}
	}
	ix.mapping.apply(added)
	return nil
}

// decodeObject decodes a document source, numbers kept as json.Number.
func decodeObject(src []byte, id string) (map[string]any, *errorBody) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &errorBody{Type: "document_parsing_exception", Reason: fmt.Sprintf("[1:1] failed to parse: %v", err)}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &errorBody{Type: "document_parsing_exception",
			Reason: fmt.Sprintf("[1:1] failed to parse: document with id '%s' is not a JSON object", id)}
	}
	return obj, nil
}

// mergeInto merges partial into dst as a partial update does: objects
// merge recursively, other values replace.
func mergeInto(dst, partial map[string]any) {
	for k, v := range partial {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				mergeInto(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}
