package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Statuses of a program in the report.
const (
	statusOK      = "ok"
	statusFailed  = "failed"
	statusSkipped = "skipped"
)

// Targets of the issue, checked against sluice's best run.
const (
	targetRatio       = 4.0   // sluice events/s ≥ 4 × naive events/s
	targetVsCeiling   = 0.4   // sluice events/s ≥ 40% of the ceiling's
	targetVsDuckDB    = 1.5   // sluice events/s ≥ 1.5 × DuckDB's
	targetBytesPerEvt = 50.0  // bytes allocated per event, strictly less
	targetPeakRSSMiB  = 150.0 // peak RSS, strictly less
)

// report is everything the bench prints, as a table or as JSON.
type report struct {
	Started   time.Time `json:"started"`
	Machine   string    `json:"machine"`
	Events    int64     `json:"events"`
	DataFile  string    `json:"data_file"`
	DataBytes int64     `json:"data_bytes"`
	Runs      int       `json:"runs"`
	Results   []*result `json:"results"`
	Targets   []target  `json:"targets"`
	// CeilingEqualsNaive says whether the ceiling baseline wrote exactly the
	// naive baseline's rows; nil when either did not run.
	CeilingEqualsNaive *bool `json:"ceiling_equals_naive,omitempty"`
}

// result is one program's best run.
type result struct {
	Name            string           `json:"name"`
	Status          string           `json:"status"`
	Version         string           `json:"version,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	WallSeconds     float64          `json:"wall_seconds,omitempty"`
	RunsWallSeconds []float64        `json:"runs_wall_seconds,omitempty"`
	CPUSeconds      float64          `json:"cpu_seconds,omitempty"`
	EventsPerSecond float64          `json:"events_per_second,omitempty"`
	RatioVsNaive    *float64         `json:"ratio_vs_naive,omitempty"`
	RatioVsCeiling  *float64         `json:"ratio_vs_ceiling,omitempty"`
	PeakRSSMiB      float64          `json:"peak_rss_mib,omitempty"`
	OutputRows      *int64           `json:"output_rows,omitempty"`
	OutputEvents    *int64           `json:"output_events,omitempty"`
	BytesPerEvent   *float64         `json:"bytes_per_event,omitempty"`
	AllocsPerEvent  *float64         `json:"allocs_per_event,omitempty"`
	Counters        map[string]int64 `json:"counters,omitempty"`
	Allocs          map[string]int64 `json:"allocs,omitempty"`

	best *sample
}

// target is one goal of the issue and whether sluice meets it.
type target struct {
	Goal   string `json:"goal"`
	Got    string `json:"got"`
	Status string `json:"status"` // PASS, FAIL or n/a
}

func newReport(opts options, df dataFile) *report {
	r := &report{
		Started:   time.Now().UTC().Truncate(time.Second),
		Machine:   goInfo(),
		Events:    opts.events,
		DataFile:  df.Path,
		DataBytes: df.Size,
		Runs:      opts.runs,
	}
	for _, name := range []string{progNaive, progCeiling, progDuckDB, progSluice} {
		r.Results = append(r.Results, &result{Name: name})
	}
	return r
}

// result returns the result of the named program.
func (r *report) result(name string) *result {
	for _, res := range r.Results {
		if res.Name == name {
			return res
		}
	}
	return nil
}

func (r *report) skip(name, reason string) {
	res := r.result(name)
	res.Status, res.Reason = statusSkipped, firstLine(reason)
}

func (r *report) fail(name, reason string) {
	res := r.result(name)
	res.Status, res.Reason = statusFailed, firstLine(reason)
}

// add records one successful run, keeping the fastest.
func (r *report) add(name string, s sample) {
	res := r.result(name)
	res.RunsWallSeconds = append(res.RunsWallSeconds, round(s.wall.Seconds(), 3))
	if res.best == nil || s.wall < res.best.wall {
		res.best = &s
	}
	if res.Status == "" {
		res.Status = statusOK
	}
}

// finish computes the derived figures and the targets.
func (r *report) finish() {
	for _, res := range r.Results {
		s := res.best
		if res.Status != statusOK || s == nil {
			continue
		}
		res.WallSeconds = round(s.wall.Seconds(), 3)
		res.CPUSeconds = round(s.cpu.Seconds(), 3)
		res.EventsPerSecond = round(float64(r.Events)/s.wall.Seconds(), 0)
		res.PeakRSSMiB = round(float64(s.maxRSS)/(1<<20), 1)
		if s.rows >= 0 {
			res.OutputRows = &s.rows
		}
		if s.events >= 0 {
			res.OutputEvents = &s.events
		}
		res.Counters, res.Allocs, res.Version = s.counters, s.allocs, s.version
		if v, ok := s.allocs["alloc_bytes"]; ok {
			res.BytesPerEvent = ptr(round(float64(v)/float64(r.Events), 2))
		}
		if v, ok := s.allocs["mallocs"]; ok {
			res.AllocsPerEvent = ptr(round(float64(v)/float64(r.Events), 3))
		}
	}
	naive, ceiling := r.result(progNaive), r.result(progCeiling)
	for _, res := range r.Results {
		if res.Status == statusOK && naive.Status == statusOK {
			res.RatioVsNaive = ptr(round(res.EventsPerSecond/naive.EventsPerSecond, 2))
		}
		if res.Status == statusOK && ceiling.Status == statusOK {
			res.RatioVsCeiling = ptr(round(res.EventsPerSecond/ceiling.EventsPerSecond, 2))
		}
	}
	r.Targets = targets(r.result(progSluice), naive)
	r.Targets = append(r.Targets,
		speedTarget(r.result(progSluice), ceiling, fmt.Sprintf("sluice events/s ≥ %g%% of the ceiling", 100*targetVsCeiling), targetVsCeiling),
		speedTarget(r.result(progSluice), r.result(progDuckDB), fmt.Sprintf("sluice events/s ≥ %g× DuckDB", targetVsDuckDB), targetVsDuckDB))
}

// speedTarget checks that sluice's events per second are at least factor
// times those of the baseline base, measured in the same run.
func speedTarget(sl, base *result, goal string, factor float64) target {
	switch {
	case sl.Status != statusOK:
		return target{Goal: goal, Got: "sluice " + sl.Status, Status: "n/a"}
	case base.Status != statusOK || base.EventsPerSecond <= 0:
		return target{Goal: goal, Got: base.Name + " " + base.Status, Status: "n/a"}
	}
	ratio := sl.EventsPerSecond / base.EventsPerSecond
	return target{goal, fmt.Sprintf("%.2f×", ratio), passFail(ratio >= factor)}
}

// targets checks the goals against sluice's result.
func targets(sl, naive *result) []target {
	na := func(goal, why string) target { return target{Goal: goal, Got: why, Status: "n/a"} }
	why := "sluice " + sl.Status
	if sl.Status == statusOK {
		why = ""
	}
	var out []target

	goal := fmt.Sprintf("sluice events/s ≥ %g× naive", targetRatio)
	switch {
	case why != "":
		out = append(out, na(goal, why))
	case sl.RatioVsNaive == nil:
		out = append(out, na(goal, "naive "+naive.Status))
	default:
		out = append(out, target{goal, fmt.Sprintf("%.2f×", *sl.RatioVsNaive), passFail(*sl.RatioVsNaive >= targetRatio)})
	}

	goal = fmt.Sprintf("bytes allocated per event < %g", targetBytesPerEvt)
	switch {
	case why != "":
		out = append(out, na(goal, why))
	case sl.BytesPerEvent == nil:
		out = append(out, na(goal, `no alloc_bytes in the "run finished" log line`))
	default:
		out = append(out, target{goal, fmt.Sprintf("%.1f B/event", *sl.BytesPerEvent), passFail(*sl.BytesPerEvent < targetBytesPerEvt)})
	}

	goal = fmt.Sprintf("peak RSS < %g MiB", targetPeakRSSMiB)
	if why != "" {
		out = append(out, na(goal, why))
	} else {
		out = append(out, target{goal, fmt.Sprintf("%.1f MiB", sl.PeakRSSMiB), passFail(sl.PeakRSSMiB < targetPeakRSSMiB)})
	}
	return out
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// writeTable prints the report for people.
func writeTable(w io.Writer, r *report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nsluice benchmark, %s\n", r.Started.Format(time.RFC3339))
	fmt.Fprintf(&b, "workload: %d events, %s, %s\n", r.Events, mib(r.DataBytes), r.DataFile)
	fmt.Fprintf(&b, "machine:  %s; each program one process, wall clock, best of %d run(s)\n\n", r.Machine, r.Runs)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-8s\twall s\tcpu s\tevents/s\tvs naive\tvs ceiling\tpeak RSS MiB\tB/event\tallocs/event\toutput rows\t\n", "program")
	for _, res := range r.Results {
		if res.Status != statusOK {
			fmt.Fprintf(tw, "%-8s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t\n", res.Name, res.Status)
			continue
		}
		fmt.Fprintf(tw, "%-8s\t%.2f\t%.2f\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t\n",
			res.Name, res.WallSeconds, res.CPUSeconds, thousands(int64(res.EventsPerSecond)),
			optf(res.RatioVsNaive, "%.2f×"), optf(res.RatioVsCeiling, "%.2f×"), res.PeakRSSMiB,
			optf(res.BytesPerEvent, "%.1f"), optf(res.AllocsPerEvent, "%.3f"), opti(res.OutputRows))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if res.Status != statusOK {
			fmt.Fprintf(&b, "%s %s: %s\n", res.Name, res.Status, res.Reason)
		}
	}
	b.WriteString("\ntargets (sluice):\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Status, t.Goal, t.Got)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d := r.result(progDuckDB); d.Version != "" {
		fmt.Fprintf(&b, "\nduckdb version: %s (@duckdb/node-api, SET threads = 2)", d.Version)
	}
	if sl := r.result(progSluice); sl.Status == statusOK {
		b.WriteString("\nsluice counters: " + counters(sl.Counters, pipelineKeys, `"pipeline finished"`))
		b.WriteString("\nsluice memory:   " + counters(sl.Allocs, runKeys, `"run finished"`) + "\n")
	}
	b.WriteString("\n" + sanity(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// sanity compares the events counted in each output: the ceiling's rows must
// be the naive ones; naive and DuckDB have
// no watermark and count late events, sluice drops events behind its 2m
// watermark, so naive − sluice should equal sluice's late counter.
func sanity(r *report) string {
	var parts []string
	for _, res := range r.Results {
		if res.OutputEvents != nil {
			parts = append(parts, fmt.Sprintf("%s %d", res.Name, *res.OutputEvents))
		}
	}
	if len(parts) == 0 {
		return "output events: n/a"
	}
	out := "output events (sum of the rows' events): " + strings.Join(parts, ", ")
	n, d, sl := r.result(progNaive), r.result(progDuckDB), r.result(progSluice)
	if r.CeilingEqualsNaive != nil {
		out += fmt.Sprintf("\n  ceiling rows = naive rows (byte for byte): %s", yesNo(*r.CeilingEqualsNaive))
	}
	if n.OutputEvents != nil && d.OutputEvents != nil {
		out += fmt.Sprintf("\n  naive = duckdb: %s", yesNo(*n.OutputEvents == *d.OutputEvents))
	}
	if late, ok := sl.Counters["late"]; ok && n.OutputEvents != nil && sl.OutputEvents != nil {
		diff := *n.OutputEvents - *sl.OutputEvents
		out += fmt.Sprintf("\n  naive − sluice = %d, sluice late = %d: %s", diff, late, yesNo(diff == late))
	}
	return out + "\n  (naive, ceiling and duckdb have no watermark and keep late events; sluice drops those behind its 2m watermark)"
}

func yesNo(ok bool) string {
	if ok {
		return "match"
	}
	return "MISMATCH"
}

// writeJSON prints the report as one indented JSON object.
func writeJSON(w io.Writer, r *report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// counters formats the given keys of m, or says the log line was missing.
func counters(m map[string]int64, keys []string, line string) string {
	if m == nil {
		return "n/a (no " + line + " log line)"
	}
	var parts []string
	for _, k := range keys {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		} else {
			parts = append(parts, k+"=n/a")
		}
	}
	return strings.Join(parts, " ")
}

func optf(v *float64, format string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf(format, *v)
}

func opti(v *int64) string {
	if v == nil {
		return "n/a"
	}
	return strconv.FormatInt(*v, 10)
}

// thousands formats n with commas: 1234567 → "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func round(v float64, digits int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	return f
}

func ptr[T any](v T) *T { return &v }
