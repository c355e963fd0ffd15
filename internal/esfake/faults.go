package esfake

import (
	"io"
	"net/http"
	"time"
)

// faults are the failures injected into the next bulk requests.
type faults struct {
	failStatus int // the status of FailRequests
	failLeft   int
	rejectLeft int // items left to reject with 429
	dropLeft   int
	dropAfter  bool // apply the request before dropping its connection
	latency    time.Duration
}

// FailRequests answers the next n _bulk requests with status as a whole,
// without applying them: 429 (es_rejected_execution_exception, as a node
// whose write queue is full answers), 503 (unavailable_shards_exception)
// or any other status (a generic error of that status).
func (s *Server) FailRequests(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failLeft, s.faults.failStatus = n, status
}

// RejectItems answers the next n bulk items with 429
// es_rejected_execution_exception, without applying them, while the other
// items of their requests succeed: a partial failure.
func (s *Server) RejectItems(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.rejectLeft = n
}

// DropConnections closes the connection of the next n _bulk requests
// without an answer: with afterApply false, once half of the body is read
// (nothing is applied); with afterApply true, after applying the request
// (the client cannot tell that it was).
func (s *Server) DropConnections(n int, afterApply bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.dropLeft, s.faults.dropAfter = n, afterApply
}

// SetLatency delays every answer by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.latency = d
}

// bulkFault is what happens to one bulk request.
type bulkFault struct {
	status     int  // answer with this status and apply nothing; 0: none
	drop       bool // close the connection
	dropAfter  bool // ... after applying the request
	rejectLeft *int // items to reject, shared with the server (under mu)
}

// takeBulkFault draws the fault of the next bulk request. s.mu is held.
func (s *Server) takeBulkFault() bulkFault {
	f := &s.faults
	s.stats.BulkRequests++
	switch {
	case f.dropLeft > 0:
		f.dropLeft--
		s.stats.Dropped++
		return bulkFault{drop: true, dropAfter: f.dropAfter}
	case f.failLeft > 0:
		f.failLeft--
		s.stats.FailedBulks++
		return bulkFault{status: f.failStatus}
	}
	return bulkFault{}
}

// writeFailure answers a bulk request failed by FailRequests.
func writeFailure(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusTooManyRequests:
		writeError(w, status, "es_rejected_execution_exception",
			"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]")
	case http.StatusServiceUnavailable:
		writeError(w, status, "unavailable_shards_exception", "[esfake][0] primary shard is not active Timeout: [1m]")
	default:
		writeError(w, status, "esfake_injected_exception", "injected failure")
	}
}

// drop closes the request's connection without an answer. It reads half
// of what is left of the body first, so that the client is cut off in the
// middle of sending it.
func drop(w http.ResponseWriter, r *http.Request, readHalf bool) {
	if readHalf && r.ContentLength > 0 {
		_, _ = io.CopyN(io.Discard, r.Body, r.ContentLength/2)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(errHijack)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(errHijack)
	}
	_ = conn.Close()
}
