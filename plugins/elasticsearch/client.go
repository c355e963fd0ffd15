package elasticsearch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
)

// newClient returns a go-elasticsearch client with the sink's URLs,
// credentials, TLS settings and compression. It does not retry: the
// writer does, with its own backoff and accounting.
func (s *Sink) newClient(transport http.RoundTripper) (*es.Client, error) {
	cfg := es.Config{
		Addresses:           s.URLs,
		DisableRetry:        true,
		CompressRequestBody: s.Gzip,
		Transport:           transport,
	}
	if a := s.Auth; a != nil {
		cfg.Username, cfg.Password, cfg.APIKey = a.Username, a.Password, a.APIKey
		if a.BearerToken != "" {
			cfg.Header = http.Header{"Authorization": {"Bearer " + a.BearerToken}}
		}
	}
	c, err := es.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the client: %w", err)
	}
	return c, nil
}

// transport is the HTTP transport: the standard one with the tls block's
// settings, and for OpenSearch a wrapper that marks answers as the v8
// client expects them.
func (s *Sink) transport() (http.RoundTripper, error) {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
	}
	if c := s.TLS; c != nil {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.AllowInsecure} //nolint:gosec // documented as tests only
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("tls ca_file: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls ca_file %s holds no PEM certificate", c.CAFile)
			}
		}
		if c.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("tls cert_file and key_file: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		t.TLSClientConfig = cfg
	}
	if s.OpenSearch {
		return &openSearchTransport{next: t}, nil
	}
	return t, nil
}

// openSearchTransport adds the product header the go-elasticsearch v8
// client requires (it refuses any server whose successful answers lack
// "X-Elastic-Product: Elasticsearch") to the answers of a server the
// writer checked is OpenSearch.
type openSearchTransport struct{ next http.RoundTripper }

func (t *openSearchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err == nil && res.Header.Get("X-Elastic-Product") == "" {
		res.Header.Set("X-Elastic-Product", "Elasticsearch")
	}
	return res, err
}

// serverInfo is what the writer reads from the root endpoint.
type serverInfo struct {
	Version struct {
		Number       string `json:"number"`
		Distribution string `json:"distribution"`
	} `json:"version"`
}

// checkServer asks the cluster's root endpoint who it is: it fails when
// the cluster cannot be reached (retry true), refuses the credentials, or
// is not what the opensearch argument says.
func (w *writer) checkServer(ctx context.Context) (info serverInfo, retry bool, err error) {
	res, err := w.client.Info(w.client.Info.WithContext(ctx))
	if err != nil && strings.Contains(err.Error(), "not Elasticsearch") && !w.sink.OpenSearch {
		return info, false, fmt.Errorf("connecting to %s: the server is not Elasticsearch (no X-Elastic-Product header); for OpenSearch set opensearch = true", w.urls())
	}
	if err != nil {
		return info, true, fmt.Errorf("connecting to %s: %w", w.urls(), err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		st := statusError(res.StatusCode, body).(*statusErr)
		return info, st.retryable(), fmt.Errorf("connecting to %s: %w", w.urls(), st)
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return info, false, fmt.Errorf("connecting to %s: the root endpoint did not answer with JSON: %v", w.urls(), err)
	}
	switch {
	case w.sink.OpenSearch && info.Version.Distribution != "opensearch":
		return info, false, fmt.Errorf("connecting to %s: opensearch = true, but the server is not OpenSearch (version %s)", w.urls(), info.Version.Number)
	case !w.sink.OpenSearch && info.Version.Distribution == "opensearch":
		return info, false, fmt.Errorf("connecting to %s: the server is OpenSearch %s; set opensearch = true", w.urls(), info.Version.Number)
	}
	return info, false, nil
}
