package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-io/sluice/plugins"
)

// statusErr is an error answer of the cluster to a whole request.
type statusErr struct {
	status      int
	typ, reason string
}

func (e *statusErr) Error() string {
	if e.typ == "" {
		return fmt.Sprintf("status %d", e.status)
	}
	return fmt.Sprintf("status %d, %s: %s", e.status, e.typ, e.reason)
}

// retryable reports whether the request may succeed later: the cluster
// is busy (429) or a node or shard is unavailable (502, 503, 504).
func (e *statusErr) retryable() bool {
	switch e.status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// statusError reads an Elasticsearch error answer.
func statusError(status int, body []byte) error {
	var resp struct {
		Error json.RawMessage `json:"error"`
	}
	e := &statusErr{status: status}
	if json.Unmarshal(body, &resp) == nil && len(resp.Error) > 0 {
		var eb itemError
		if json.Unmarshal(resp.Error, &eb) == nil {
			e.typ, e.reason = eb.Type, oneLine(eb.Reason)
		} else {
			e.typ, e.reason = "error", oneLine(string(resp.Error))
		}
	}
	if status == http.StatusRequestEntityTooLarge {
		e.reason += " (lower flush_bytes)"
	}
	return e
}

// oneLine keeps the first line of s.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// retrying runs try until it succeeds, fails for good (retry false) or
// has been retried max_retries times, waiting with exponential backoff in
// between. It gives up when ctx ends.
func (w *writer) retrying(ctx context.Context, what string, try func() (retry bool, err error)) error {
	backoff := w.sink.Retry.InitialBackoff
	for attempt := 0; ; attempt++ {
		retry, err := try()
		if err == nil || !retry {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("stopped while %s: %w", what, err)
		}
		if attempt >= w.sink.Retry.MaxRetries {
			return fmt.Errorf("%w (given up after %d retries)", err, attempt)
		}
		w.retries.Add(1)
		w.log.Debug("retrying", "what", what, "attempt", attempt+1, "backoff", backoff.String(), "error", err.Error())
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("stopped while %s: %w", what, err)
		}
		backoff = min(2*backoff, w.sink.Retry.MaxBackoff)
	}
}

// send sends one bulk request and checks the result of every document:
// refused documents go to the dead letter; the request, or the documents
// the cluster was too busy for, are sent again. It fails when the retries
// run out or the cluster refuses the request as a whole.
func (w *writer) send(buf *bulkBuffer) error {
	body, entries := buf.body, buf.entries
	return w.retrying(w.ctx, "sending documents", func() (bool, error) {
		status, resp, err := w.post(body)
		if err != nil {
			return true, fmt.Errorf("writing to %s: %w", w.urls(), err)
		}
		if status != http.StatusOK {
			st := statusError(status, resp).(*statusErr)
			return st.retryable(), fmt.Errorf("writing to %s: %w", w.urls(), st)
		}
		if resp == nil {
			return false, nil // "errors":false
		}
		again, err := w.results(resp, body, entries)
		if err != nil || len(again) == 0 {
			return false, err
		}
		body, entries = rebuild(body, again)
		return true, fmt.Errorf("writing to %s: %d documents refused as the cluster is busy (429)", w.urls(), len(again))
	})
}

// post sends a bulk body. It returns the status and, unless every item
// succeeded ("errors":false), the response body.
func (w *writer) post(body []byte) (int, []byte, error) {
	res, err := w.client.Bulk(bytes.NewReader(body), w.client.Bulk.WithContext(w.ctx))
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK {
		head := make([]byte, 64)
		n, err := io.ReadFull(res.Body, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("reading the answer: %w", err)
		}
		if bytes.Contains(head[:n], []byte(`"errors":false`)) {
			if _, err := io.Copy(io.Discard, res.Body); err != nil {
				return 0, nil, fmt.Errorf("reading the answer: %w", err)
			}
			return res.StatusCode, nil, nil
		}
		rest, err := io.ReadAll(res.Body)
		if err != nil {
			return 0, nil, fmt.Errorf("reading the answer: %w", err)
		}
		return res.StatusCode, append(head[:n], rest...), nil
	}
	resp, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return res.StatusCode, resp, nil
}

// itemError is the error of a failed bulk item.
type itemError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *itemError `json:"caused_by"`
}

// bulkResult is one item of a bulk answer.
type bulkResult struct {
	Index  string     `json:"_index"`
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *itemError `json:"error"`
}

// results checks the items of a bulk answer with errors: refused documents
// become dead records, documents the cluster was too busy for are returned
// to be sent again.
func (w *writer) results(resp, body []byte, entries []bulkEntry) ([]bulkEntry, error) {
	var answer struct {
		Errors bool                    `json:"errors"`
		Items  []map[string]bulkResult `json:"items"`
	}
	if err := json.Unmarshal(resp, &answer); err != nil {
		return nil, fmt.Errorf("writing to %s: the bulk answer is not JSON: %v", w.urls(), err)
	}
	if len(answer.Items) != len(entries) {
		return nil, fmt.Errorf("writing to %s: the bulk answer holds %d results for %d documents", w.urls(), len(answer.Items), len(entries))
	}
	var again []bulkEntry
	for i, item := range answer.Items {
		for _, r := range item {
			switch {
			case r.Status < 300:
			case r.Status == http.StatusNotFound && entries[i].del:
				// The document (or its index) is gone already: deleted
				// before a replay, or never written.
			case r.Status == http.StatusConflict && w.sink.Action == ActionCreate:
				w.conflicts.Add(1) // the document exists: written before a replay
			case r.Status == http.StatusTooManyRequests || r.Status >= 500:
				again = append(again, entries[i])
			default:
				e := entries[i]
				w.addReject(plugins.DeadRecord{
					Time: time.Now(), Stage: w.sink.Title, Reason: itemReason(r),
					Payload: bytes.Clone(body[e.recStart:e.recEnd]), Origin: e.origin,
				})
			}
		}
	}
	return again, nil
}

// itemReason says why the cluster refused a document, in one line.
func itemReason(r bulkResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "elasticsearch refused the document %q of index %q: status %d", r.ID, r.Index, r.Status)
	for e, sep := r.Error, ", "; e != nil; e, sep = e.CausedBy, ", caused by " {
		fmt.Fprintf(&b, "%s%s: %s", sep, e.Type, oneLine(e.Reason))
	}
	return b.String()
}

// rebuild makes a bulk body of some entries of body.
func rebuild(body []byte, entries []bulkEntry) ([]byte, []bulkEntry) {
	var out []byte
	moved := make([]bulkEntry, len(entries))
	for i, e := range entries {
		shift := len(out) - e.start
		out = append(out, body[e.start:e.end]...)
		moved[i] = bulkEntry{start: e.start + shift, recStart: e.recStart + shift, recEnd: e.recEnd + shift, end: e.end + shift, origin: e.origin, del: e.del}
	}
	return out, moved
}

// refresh refreshes indices.
func (w *writer) refresh(ctx context.Context, indices []string) error {
	res, err := w.client.Indices.Refresh(w.client.Indices.Refresh.WithContext(ctx), w.client.Indices.Refresh.WithIndex(indices...))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return statusError(res.StatusCode, body)
	}
	return nil
}
