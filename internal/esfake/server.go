// Package esfake is an in-process Elasticsearch double for tests: an HTTP
// server on 127.0.0.1 that answers the part of the Elasticsearch REST API
// sluice's `sink "elasticsearch"` uses, as Elasticsearch 8 answers it.
//
// It implements _bulk (NDJSON index, create, update with doc and
// doc_as_upsert, and delete actions, with per-item results, statuses and
// errors: 201 created, 200 updated or noop, 409 version conflict on create,
// 400 when a value does not fit the field's dynamic or explicit mapping,
// 404 for a missing document or, with DisableAutoCreate, a missing index),
// document GET, _count, _refresh, _search (match_all only), index creation
// with mappings, GET _mapping, the root endpoint with version information,
// and the X-Elastic-Product header the go-elasticsearch v8 client checks.
// Documents become searchable (_count, _search) at a refresh: an explicit
// one, ?refresh on _bulk, or every Options.RefreshInterval, as in
// Elasticsearch; a document GET sees them at once. Gzip request bodies,
// basic, API-key and bearer authentication, and TLS are supported.
//
// Faults are injected with FailRequests (whole bulk requests answered 429
// or 503), RejectItems (items answered 429, es_rejected_execution_exception),
// DropConnections (the connection closed in the middle of a bulk request,
// before or after it is applied) and SetLatency.
//
// What the double does not do is refused with an error, never ignored:
// queries other than match_all, field types it does not know.
package esfake

import (
	"compress/gzip"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Version is the Elasticsearch version the double reports.
const Version = "8.19.7"

// Options configure a Server.
type Options struct {
	// Addr is the address to listen on; "127.0.0.1:0" when empty.
	Addr string
	// TLS serves HTTPS with this configuration when not nil.
	TLS *tls.Config
	// Username and Password, APIKey (the base64 text sent after
	// "ApiKey ") and BearerToken are the credentials accepted. With none
	// set, requests need no authentication; with any set, every request
	// must carry one of them.
	Username, Password string
	APIKey             string
	BearerToken        string
	// OpenSearch makes the double answer as OpenSearch 2 does: the root
	// endpoint reports distribution "opensearch" and responses carry no
	// X-Elastic-Product header.
	OpenSearch bool
	// DisableAutoCreate refuses writes to an index that does not exist
	// (action.auto_create_index = false) with 404 index_not_found_exception.
	DisableAutoCreate bool
	// RefreshInterval is how often changes become searchable on their own:
	// 0 means Elasticsearch's 1s, a negative value never (only _refresh
	// and ?refresh do).
	RefreshInterval time.Duration
}

// Server is a running double. Its methods are safe for concurrent use.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	url      string
	stop     chan struct{}
	done     sync.WaitGroup

	mu      sync.Mutex
	indices map[string]*index
	faults  faults
	stats   Stats
}

// Stats count what the double received.
type Stats struct {
	Requests      int64 // every HTTP request
	BulkRequests  int64 // _bulk requests, answered or not
	Items         int64 // bulk items executed
	FailedBulks   int64 // bulk requests answered with an injected status
	RejectedItems int64 // items answered 429 by RejectItems
	Dropped       int64 // connections closed by DropConnections
	Unauthorized  int64 // requests answered 401
	Gzipped       int64 // requests with a gzip body
}

// Start starts a double.
func Start(opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, listener: l, indices: map[string]*index{}, stop: make(chan struct{})}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
		l = tls.NewListener(l, opts.TLS)
	}
	s.url = scheme + "://" + s.listener.Addr().String()
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		_ = s.http.Serve(l)
	}()
	if opts.RefreshInterval >= 0 {
		every := opts.RefreshInterval
		if every == 0 {
			every = time.Second
		}
		s.done.Add(1)
		go s.refreshLoop(every)
	}
	return s, nil
}

// URL is the double's base URL, such as http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// Addr is the address the double listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Close stops the double and closes every connection.
func (s *Server) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	err := s.http.Close()
	s.done.Wait()
	return err
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Server) refreshLoop(every time.Duration) {
	defer s.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			for _, ix := range s.indices {
				ix.refresh()
			}
			s.mu.Unlock()
		}
	}
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	latency := s.faults.latency
	s.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	if !s.opts.OpenSearch {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
	}
	if !s.authorized(r) {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="security" charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "security_exception",
			fmt.Sprintf("missing authentication credentials for REST request [%s]", r.URL.RequestURI()))
		return
	}
	if r.Header.Get("Content-Encoding") == "gzip" {
		s.mu.Lock()
		s.stats.Gzipped++
		s.mu.Unlock()
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] == "" {
		parts = nil
	}
	if n := len(parts); n >= 1 && n <= 2 && parts[n-1] == "_bulk" && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
		s.serveBulk(w, r, first(parts, 2))
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "parse_exception", err.Error())
		return
	}
	s.route(w, r, parts, body)
}

// readBody reads the request body, gunzipping it when it is compressed.
func readBody(r *http.Request) ([]byte, error) {
	var in io.Reader = r.Body
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("request body is not gzip: %v", err)
		}
		defer zr.Close()
		in = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	return io.ReadAll(in)
}

// authorized checks the request's credentials against the options.
func (s *Server) authorized(r *http.Request) bool {
	o := &s.opts
	if o.Username == "" && o.APIKey == "" && o.BearerToken == "" {
		return true
	}
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	eq := func(a, b string) bool { return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	switch strings.ToLower(scheme) {
	case "basic":
		u, p, ok := r.BasicAuth()
		return ok && o.Username != "" && eq(u, o.Username) && eq(p, o.Password)
	case "apikey":
		return eq(cred, o.APIKey)
	case "bearer":
		return eq(cred, o.BearerToken)
	}
	return false
}

// route dispatches on the path, split at slashes.
func (s *Server) route(w http.ResponseWriter, r *http.Request, parts []string, body []byte) {
	switch {
	case len(parts) == 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.root(w)
	case len(parts) <= 2 && len(parts) >= 1 && parts[len(parts)-1] == "_refresh":
		s.refresh(w, first(parts, 2))
	case len(parts) <= 2 && len(parts) >= 1 && parts[len(parts)-1] == "_count":
		s.count(w, first(parts, 2), body)
	case len(parts) <= 2 && len(parts) >= 1 && parts[len(parts)-1] == "_search":
		s.search(w, r, first(parts, 2), body)
	case len(parts) <= 2 && len(parts) >= 1 && parts[len(parts)-1] == "_mapping" && r.Method == http.MethodGet:
		s.getMapping(w, first(parts, 2))
	case len(parts) == 3 && parts[1] == "_doc" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.getDoc(w, parts[0], parts[2])
	case len(parts) == 1 && !strings.HasPrefix(parts[0], "_") && r.Method == http.MethodPut:
		s.createIndex(w, parts[0], body)
	case len(parts) == 1 && !strings.HasPrefix(parts[0], "_") && r.Method == http.MethodHead:
		s.headIndex(w, parts[0])
	case len(parts) == 1 && !strings.HasPrefix(parts[0], "_") && r.Method == http.MethodDelete:
		s.deleteIndex(w, parts[0])
	default:
		writeError(w, http.StatusBadRequest, "illegal_argument_exception",
			fmt.Sprintf("esfake does not implement %s %s", r.Method, r.URL.Path))
	}
}

// first returns the index expression of a path of at most n parts whose
// last part is the endpoint: "" for /_count, "a,b" for /a,b/_count.
func first(parts []string, n int) string {
	if len(parts) == n {
		return parts[0]
	}
	return ""
}

// errorBody is the "error" object of Elasticsearch's error responses and
// failed bulk items.
type errorBody struct {
	Type      string      `json:"type"`
	Reason    string      `json:"reason"`
	Index     string      `json:"index,omitempty"`
	IndexUUID string      `json:"index_uuid,omitempty"`
	Shard     string      `json:"shard,omitempty"`
	CausedBy  *errorBody  `json:"caused_by,omitempty"`
	RootCause []errorBody `json:"root_cause,omitempty"`
}

// writeError writes an Elasticsearch error response.
func writeError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, map[string]any{
		"error":  errorBody{Type: typ, Reason: reason, RootCause: []errorBody{{Type: typ, Reason: reason}}},
		"status": status,
	})
}

func indexNotFound(w http.ResponseWriter, name string) {
	writeJSON(w, http.StatusNotFound, map[string]any{
		"error": errorBody{Type: "index_not_found_exception", Reason: "no such index [" + name + "]", Index: name,
			RootCause: []errorBody{{Type: "index_not_found_exception", Reason: "no such index [" + name + "]", Index: name}}},
		"status": http.StatusNotFound,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"type":"esfake","reason":"encoding the response"},"status":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// root answers GET /.
func (s *Server) root(w http.ResponseWriter) {
	version := map[string]any{
		"number": Version, "build_flavor": "default", "build_type": "docker",
		"build_hash": "esfake", "build_date": "2025-01-01T00:00:00.000Z", "build_snapshot": false,
		"lucene_version": "9.12.2", "minimum_wire_compatibility_version": "7.17.0",
		"minimum_index_compatibility_version": "7.0.0",
	}
	tagline := "You Know, for Search"
	if s.opts.OpenSearch {
		version["distribution"], version["number"] = "opensearch", "2.17.0"
		tagline = "The OpenSearch Project: https://opensearch.org/"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": "esfake", "cluster_name": "esfake", "cluster_uuid": "esfake-cluster",
		"version": version, "tagline": tagline,
	})
}

// newUUID returns a random id in Elasticsearch's style (20 URL-safe
// base64 characters).
func newUUID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// errHijack is reported when a connection cannot be dropped.
var errHijack = errors.New("esfake: the connection cannot be hijacked")
