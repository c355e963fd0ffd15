package pulsartest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file serves the few admin REST calls sluice makes (a repartition
// block creates its topic and asks for deduplication), on a listener of
// its own, as a Pulsar broker serves its admin API on its web port:
//
//	PUT  /admin/v2/{domain}/{tenant}/{namespace}/{topic}/partitions    body N
//	GET  /admin/v2/{domain}/{tenant}/{namespace}/{topic}/partitions
//	POST /admin/v2/{domain}/{tenant}/{namespace}/{topic}/deduplication body true|false
//
// PUT creates a partitioned topic (204; 409 when the topic exists in any
// form, 400 for a body that is not a count above zero); GET answers
// {"partitions":N} (0 for a non-partitioned topic, 404 when it does not
// exist); POST answers 204 for a topic that exists and 404 otherwise: this
// broker always deduplicates, so the setting changes nothing. With
// Options.Authenticate, a request's "Authorization: Bearer TOKEN" header
// is judged as a CONNECT with method "token" would be (401 when refused);
// with Options.TLSConfig the API speaks HTTPS.

// AdminURL returns the base URL of the broker's admin API,
// "http://127.0.0.1:port", or "https://…" with TLS.
func (b *Broker) AdminURL() string { return b.adminURL }

// startAdmin listens for the admin API on a free port of the host the
// broker listens on and serves it until Close.
func (b *Broker) startAdmin(host string, tls bool) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("pulsartest: admin listen: %w", err)
	}
	b.adminURL = "http://" + ln.Addr().String()
	if tls {
		b.adminURL = "https://" + ln.Addr().String()
	}
	b.admin = &http.Server{Handler: http.HandlerFunc(b.serveAdmin), ReadHeaderTimeout: 10 * time.Second, TLSConfig: b.tlsConfig}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if tls {
			_ = b.admin.ServeTLS(ln, "", "")
			return
		}
		_ = b.admin.Serve(ln)
	}()
	return nil
}

// serveAdmin routes one admin request.
func (b *Broker) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if !b.adminAllowed(r) {
		adminError(w, http.StatusUnauthorized, "Authentication required")
		return
	}
	topic, op, ok := adminTopic(r.URL.EscapedPath())
	if !ok {
		adminError(w, http.StatusNotFound, "Not found")
		return
	}
	switch {
	case op == "partitions" && r.Method == http.MethodPut:
		b.adminCreatePartitioned(w, r, topic)
	case op == "partitions" && r.Method == http.MethodGet:
		n, exists := b.partitionsOf(topic)
		if !exists {
			adminError(w, http.StatusNotFound, "Topic not found")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"partitions":%d}`, n)
	case op == "deduplication" && r.Method == http.MethodPost:
		var on bool
		if err := json.NewDecoder(io.LimitReader(r.Body, 64)).Decode(&on); err != nil {
			adminError(w, http.StatusBadRequest, "the body must be true or false")
			return
		}
		if _, exists := b.partitionsOf(topic); !exists {
			adminError(w, http.StatusNotFound, "Topic not found")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case op == "partitions" || op == "deduplication":
		adminError(w, http.StatusMethodNotAllowed, "Method not allowed")
	default:
		adminError(w, http.StatusNotFound, "Not found")
	}
}

// adminAllowed judges the request's credentials with Options.Authenticate.
func (b *Broker) adminAllowed(r *http.Request) bool {
	if b.authenticate == nil {
		return true
	}
	req := AuthRequest{TLS: r.TLS}
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		req.Method, req.Data = "token", []byte(strings.TrimSpace(token))
	} else if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		req.Method = "tls"
	}
	return b.authenticate(req) == nil
}

// adminTopic parses "/admin/v2/{domain}/{tenant}/{namespace}/{topic}/{op}"
// into the topic's full name and op.
func adminTopic(path string) (topic, op string, ok bool) {
	rest, found := strings.CutPrefix(path, "/admin/v2/")
	parts := strings.Split(rest, "/")
	if !found || len(parts) != 5 {
		return "", "", false
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil || u == "" {
			return "", "", false
		}
		parts[i] = u
	}
	if parts[0] != "persistent" && parts[0] != "non-persistent" {
		return "", "", false
	}
	return parts[0] + "://" + parts[1] + "/" + parts[2] + "/" + parts[3], parts[4], true
}

// adminCreatePartitioned handles PUT …/partitions.
func (b *Broker) adminCreatePartitioned(w http.ResponseWriter, r *http.Request, topic string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64))
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(body)))
	if err != nil || n <= 0 {
		adminError(w, http.StatusBadRequest, fmt.Sprintf("the body must be a number of partitions above 0, got %q", body))
		return
	}
	created, err := b.createPartitioned(topic, n)
	switch {
	case err != nil:
		adminError(w, http.StatusInternalServerError, err.Error())
	case !created:
		adminError(w, http.StatusConflict, "This topic already exists")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// createPartitioned creates topic with n partitions unless a topic of that
// name exists, partitioned or not: then it reports false.
func (b *Broker) createPartitioned(topic string, n int) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return false, errors.New("pulsartest: broker closed")
	}
	_, isPart := b.partitioned[topic]
	_, isPlain := b.topics[topic]
	if isPart || isPlain {
		return false, nil
	}
	if b.dataDir != "" {
		if err := b.savePartitioned(topic, n); err != nil {
			return false, fmt.Errorf("pulsartest: saving topic %s: %w", topic, err)
		}
	}
	b.partitioned[topic] = n
	for i := 0; i < n; i++ {
		if _, err := b.topicLocked(partitionName(topic, i)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// partitionsOf returns topic's partition count (0 when not partitioned)
// and whether it exists.
func (b *Broker) partitionsOf(topic string) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n, ok := b.partitioned[topic]; ok {
		return n, true
	}
	_, ok := b.topics[topic]
	return 0, ok
}

// adminError answers with status and Pulsar's error body, {"reason": …}.
func adminError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"reason": reason})
}
