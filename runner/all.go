package runner

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/sluice-io/sluice/runner/config"
)

// Result is how one pipeline of RunAll ended.
type Result struct {
	Pipeline string
	Stats    Stats
	Err      error
	Duration time.Duration
}

// RunAll runs every pipeline at once, each as Run does, and returns when all
// have ended. When one fails, the others are stopped cleanly (as by
// canceling ctx). Each pipeline's end is logged with its counters; the
// returned error joins the failures.
func RunAll(ctx context.Context, pipelines []*config.Pipeline, opts Options) ([]Result, error) {
	opts.withDefaults()
	opts.stores = newStoreSet()
	defer opts.stores.close()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	results := make([]Result, len(pipelines))
	var wg sync.WaitGroup
	for i, p := range pipelines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			st, err := Run(ctx, p, opts)
			results[i] = Result{Pipeline: p.Name, Stats: st, Err: err, Duration: time.Since(start)}
			if err != nil {
				stop()
			}
		}()
	}
	wg.Wait()
	var errs []error
	for _, r := range results {
		logResult(&opts, r)
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	opts.Logger.Info("run finished", "pipelines", len(pipelines),
		"alloc_bytes", ms.TotalAlloc, "mallocs", ms.Mallocs, "heap_sys_bytes", ms.HeapSys)
	return results, errors.Join(errs...)
}

func logResult(opts *Options, r Result) {
	s := r.Stats
	attrs := []any{"pipeline", r.Pipeline, "records_in", s.In, "records_out", s.Out,
		"filtered", s.Filtered, "late", s.Late, "dead", s.Dead, "emitted", s.Emitted,
		"duration_ms", r.Duration.Milliseconds()}
	if s.ResultsDropped > 0 || s.ResultsDead > 0 {
		attrs = append(attrs, "results_dropped", s.ResultsDropped, "results_dead", s.ResultsDead)
	}
	if s.OpenWindows > 0 {
		attrs = append(attrs, "open_windows", s.OpenWindows)
	}
	if r.Err != nil {
		opts.Logger.Error("pipeline failed", append(attrs, "error", r.Err.Error())...)
		return
	}
	opts.Logger.Info("pipeline finished", attrs...)
}
