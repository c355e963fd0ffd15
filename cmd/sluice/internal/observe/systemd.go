package observe

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/sluice-io/sluice/runner"
)

// readyPollEvery is how often Systemd looks whether the pipelines run yet.
const readyPollEvery = 100 * time.Millisecond

// Systemd notifies systemd of a service of Type=notify (NOTIFY_SOCKET
// set): READY=1 once every pipeline runs, WATCHDOG=1 at half the watchdog
// interval when WatchdogSec is set, STOPPING=1 on shutdown. Without
// NOTIFY_SOCKET every notification is a no-op.
type Systemd struct {
	logger   *slog.Logger
	stopping sync.Once
}

// StartSystemd watches m in the background until ctx ends: it sends
// READY=1 once m shows pipelines pipelines, none of them still starting,
// and watchdog pings from the start when systemd asks for them, each after
// reading m (a process whose pipelines' live view is stuck stops pinging).
func StartSystemd(ctx context.Context, m Snapshotter, pipelines int, logger *slog.Logger) *Systemd {
	s := &Systemd{logger: logger}
	if interval, err := daemon.SdWatchdogEnabled(false); err != nil {
		logger.Warn("systemd watchdog: ignoring WATCHDOG_USEC", "error", err.Error())
	} else if interval > 0 {
		go s.watchdog(ctx, m, interval/2)
	}
	go s.waitReady(ctx, m, pipelines)
	return s
}

func (s *Systemd) waitReady(ctx context.Context, m Snapshotter, pipelines int) {
	t := time.NewTicker(readyPollEvery)
	defer t.Stop()
	for {
		if started(m.Snapshot(time.Now()), pipelines) {
			s.notify(daemon.SdNotifyReady)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// started reports whether ps holds pipelines pipelines that all left the
// starting state.
func started(ps []runner.PipelineStatus, pipelines int) bool {
	if len(ps) < pipelines {
		return false
	}
	for i := range ps {
		if ps[i].State == runner.StateStarting {
			return false
		}
	}
	return true
}

func (s *Systemd) watchdog(ctx context.Context, m Snapshotter, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.Snapshot(time.Now())
		s.notify(daemon.SdNotifyWatchdog)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stopping tells systemd that the service is shutting down; only the
// first call notifies.
func (s *Systemd) Stopping() { s.stopping.Do(func() { s.notify(daemon.SdNotifyStopping) }) }

func (s *Systemd) notify(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		s.logger.Warn("systemd notification failed", "state", state, "error", err.Error())
	}
}
