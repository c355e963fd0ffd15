// Package observe serves what operators watch a running sluice with
// (docs/observability.md): Prometheus metrics converted from a
// runner.Monitor at scrape time, /healthz and /readyz probes, the JSON
// document of /api/v1/pipelines and the dashboard, on one HTTP listener;
// plus the progress logs of sluice run, systemd readiness notifications
// and the text of sluice status.
//
// Nothing here runs on the pipelines' hot path: the collector reads a
// Monitor snapshot only when Prometheus scrapes.
package observe
