package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/sluice-io/sluice/runner"
)

// Options configure a Server.
type Options struct {
	// Addr is the host:port to listen on.
	Addr string
	// WebConfigFile, when set, is an exporter-toolkit web configuration
	// file (TLS and basic auth, docs/observability.md); "" serves plain
	// HTTP without authentication.
	WebConfigFile string
	// Monitor is the live view of the pipelines; nil serves a process
	// without pipelines (sluice broker): no pipeline metrics, no
	// /api/v1/pipelines, /readyz ready while serving.
	Monitor Snapshotter
	// Collectors are more collectors to serve on /metrics (the broker's).
	Collectors []prometheus.Collector
	// Dashboard serves "/" and its assets; nil serves a plain text page
	// naming the endpoints.
	Dashboard http.Handler
	// Build labels sluice_build_info.
	Build BuildInfo
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// NewRegistry returns the registry /metrics serves: the collector of
// monitor's pipelines (only sluice_build_info when monitor is nil), extra,
// and the Go runtime and process collectors.
func NewRegistry(monitor Snapshotter, build BuildInfo, extra ...prometheus.Collector) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	all := append([]prometheus.Collector{
		NewCollector(monitor, build),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}, extra...)
	for _, c := range all {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// NewHandler returns the handler of every endpoint: /metrics, /healthz,
// /readyz, /api/v1/pipelines and /.
func NewHandler(opts Options) (http.Handler, error) {
	reg, err := NewRegistry(opts.Monitor, opts.Build, opts.Collectors...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		serveReadiness(w, opts.Monitor)
	})
	if opts.Monitor != nil {
		mux.HandleFunc("GET /api/v1/pipelines", func(w http.ResponseWriter, _ *http.Request) {
			servePipelines(w, opts.Monitor)
		})
	}
	if opts.Dashboard != nil {
		mux.Handle("/", opts.Dashboard)
	} else {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { serveIndex(w, opts.Monitor != nil) })
	}
	return mux, nil
}

// PipelinesDocument is the JSON document of /api/v1/pipelines.
type PipelinesDocument struct {
	Pipelines []runner.PipelineStatus `json:"pipelines"`
	// Time is the processing time of the snapshot.
	Time time.Time `json:"time"`
}

func servePipelines(w http.ResponseWriter, m Snapshotter) {
	now := time.Now().UTC()
	doc := PipelinesDocument{Pipelines: m.Snapshot(now), Time: now}
	if doc.Pipelines == nil {
		doc.Pipelines = []runner.PipelineStatus{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
}

// NotReady returns why the pipelines of m are not ready, one reason per
// pipeline; none when all are (a nil m is always ready).
func NotReady(m Snapshotter) []string {
	if m == nil {
		return nil
	}
	ps := m.Snapshot(time.Now())
	if len(ps) == 0 {
		return []string{"no pipeline has started yet"}
	}
	var reasons []string
	for i := range ps {
		if ok, why := ps[i].Ready(); !ok {
			reasons = append(reasons, why)
		}
	}
	return reasons
}

func serveReadiness(w http.ResponseWriter, m Snapshotter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	reasons := NotReady(m)
	if len(reasons) == 0 {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, strings.Join(reasons, "\n"))
}

func serveIndex(w http.ResponseWriter, pipelines bool) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "sluice")
	fmt.Fprintln(w, "  /metrics           Prometheus metrics")
	fmt.Fprintln(w, "  /healthz           200 while the process runs")
	fmt.Fprintln(w, "  /readyz            200 when every pipeline is ready, else 503 with the reasons")
	if pipelines {
		fmt.Fprintln(w, "  /api/v1/pipelines  the pipelines' live status as JSON")
	}
}

// Server is the HTTP listener of the endpoints.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	served chan error
}

// Start listens on opts.Addr and serves the endpoints in the background
// until Shutdown. It fails when the address cannot be bound or the web
// configuration file is invalid.
func Start(opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.WebConfigFile != "" {
		if err := web.Validate(opts.WebConfigFile); err != nil {
			return nil, fmt.Errorf("web config file %s: %w", opts.WebConfigFile, err)
		}
	}
	handler, err := NewHandler(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint: %w", err)
	}
	s := &Server{
		srv:    &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
		ln:     ln,
		served: make(chan error, 1),
	}
	go func() {
		var err error
		if opts.WebConfigFile == "" {
			err = s.srv.Serve(ln)
		} else {
			file, addrs, systemd := opts.WebConfigFile, []string{opts.Addr}, false
			flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &file}
			err = web.Serve(ln, s.srv, flags, logger)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting connections, waits for those in progress (until
// ctx ends) and returns the error that stopped serving, if any.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.served; err == nil {
		err = serr
	}
	return err
}
