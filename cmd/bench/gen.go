package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sluice-io/sluice/pipelines"
)

// genParams describes one reference data file. Every field except Size
// influences the bytes written; Size is recorded after generation so that a
// truncated or edited file is not silently reused.
type genParams struct {
	// Version changes whenever the generator's output changes for the same
	// parameters, so that old cached files are regenerated.
	Version      int     `json:"version"`
	Events       int64   `json:"events"`
	Seed         uint64  `json:"seed"`
	Users        int64   `json:"users"`
	Rate         int64   `json:"rate"`     // events per second of event time
	StartMs      int64   `json:"start_ms"` // nominal time of the first event
	DisorderMs   int64   `json:"disorder_ms"`
	LateFraction float64 `json:"late_fraction"`
	LateMinMs    int64   `json:"late_min_ms"`
	LateMaxMs    int64   `json:"late_max_ms"`
	Size         int64   `json:"size"`
}

// referenceParams returns the parameters of the reference workload with n
// events.
func referenceParams(n int64) genParams {
	return genParams{
		Version:      1,
		Events:       n,
		Seed:         20240501,
		Users:        500,
		Rate:         2000,
		StartMs:      1714564800000, // 2024-05-01T12:00:00Z
		DisorderMs:   5000,
		LateFraction: 0.01,
		LateMinMs:    3 * 60 * 1000,
		LateMaxMs:    10 * 60 * 1000,
	}
}

// action is one value of the "action" field and its weight out of 100.
type action struct {
	name   string
	weight int
}

// actions is the skewed action distribution of the reference workload; the
// weights add up to 100.
var actions = []action{
	{"view", 40},
	{"click", 20},
	{"scroll", 12},
	{"heartbeat", 15},
	{"login", 5},
	{"logout", 5},
	{"purchase", 3},
}

// devices is the distribution of the "device" field; weights add up to 100.
var devices = []action{
	{"ios", 40},
	{"android", 40},
	{"web", 20},
}

// pickTable expands a weighted list into a 100-entry lookup table of the
// pre-rendered JSON fragments `"name"`.
func pickTable(list []action) [100][]byte {
	var t [100][]byte
	i := 0
	for _, a := range list {
		frag := []byte(strconv.Quote(a.name))
		for range a.weight {
			t[i] = frag
			i++
		}
	}
	if i != 100 {
		panic(fmt.Sprintf("weights add up to %d, not 100", i))
	}
	return t
}

// nominalMs returns the nominal event time of the i-th event (0-based).
func (p genParams) nominalMs(i int64) int64 {
	return p.StartMs + i*1000/p.Rate
}

// generate writes p.Events NDJSON events to w, deterministically from p.Seed,
// and returns the number of bytes written.
func generate(w io.Writer, p genParams) (int64, error) {
	if p.Events < 0 || p.Users <= 0 || p.Rate <= 0 || p.LateMaxMs < p.LateMinMs {
		return 0, fmt.Errorf("invalid generator parameters %+v", p)
	}
	r := rand.New(rand.NewPCG(p.Seed, p.Seed^0x5eed5eed5eed5eed))
	actionTab := pickTable(actions)
	deviceTab := pickTable(devices)
	bw := bufio.NewWriterSize(w, 1<<20)
	line := make([]byte, 0, 128)
	var n int64
	for i := range p.Events {
		nominal := p.nominalMs(i)
		var ts int64
		if r.Float64() < p.LateFraction {
			ts = nominal - p.LateMinMs - r.Int64N(p.LateMaxMs-p.LateMinMs+1)
		} else {
			ts = nominal - r.Int64N(p.DisorderMs+1)
		}
		line = line[:0]
		line = append(line, `{"user_id":`...)
		line = strconv.AppendInt(line, 1+r.Int64N(p.Users), 10)
		line = append(line, `,"action":`...)
		line = append(line, actionTab[r.IntN(100)]...)
		line = append(line, `,"ts":`...)
		line = strconv.AppendInt(line, ts, 10)
		line = append(line, `,"device":`...)
		line = append(line, deviceTab[r.IntN(100)]...)
		line = append(line, "}\n"...)
		m, err := bw.Write(line)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// dataFile is a generated data file and whether it was reused from the cache.
type dataFile struct {
	Path   string
	Size   int64
	Reused bool
}

// ensureData returns the data file for p in dir, generating it unless a file
// with the same parameters and size is already there. The sidecar
// FILE.params.json holds the parameters and the size; it is written last, so
// an interrupted generation is redone.
func ensureData(dir string, p genParams) (dataFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return dataFile{}, err
	}
	path := filepath.Join(dir, fmt.Sprintf("events-%d.ndjson", p.Events))
	sidecar := path + ".params.json"
	if size, ok := cached(path, sidecar, p); ok {
		return dataFile{Path: path, Size: size, Reused: true}, nil
	}
	_ = os.Remove(sidecar)
	tmp, err := os.CreateTemp(dir, "events-*.tmp")
	if err != nil {
		return dataFile{}, err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	size, err := generate(tmp, p)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return dataFile{}, fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return dataFile{}, err
	}
	p.Size = size
	meta, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return dataFile{}, err
	}
	if err := os.WriteFile(sidecar, append(meta, '\n'), 0o644); err != nil {
		return dataFile{}, err
	}
	return dataFile{Path: path, Size: size}, nil
}

// cached reports whether path holds the data for p according to its sidecar,
// and its size.
func cached(path, sidecar string, p genParams) (int64, bool) {
	raw, err := os.ReadFile(sidecar)
	if err != nil {
		return 0, false
	}
	var got genParams
	if err := json.Unmarshal(raw, &got); err != nil {
		return 0, false
	}
	size := got.Size
	got.Size = 0
	if got != p {
		return 0, false
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != size {
		return 0, false
	}
	return size, true
}

// warmCache reads the file once so that every measured program starts with
// the same (warm) page cache.
func warmCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(io.Discard, onlyReader{f}, make([]byte, 1<<20))
	return err
}

// onlyReader hides io.WriterTo so that io.CopyBuffer uses the given buffer.
type onlyReader struct{ io.Reader }

// pipelineHCL returns the reference pipeline reading dataPath and writing
// outPath.
func pipelineHCL(dataPath, outPath string) string {
	return "# Reference pipeline of the sluice benchmark, written by go run ./cmd/bench.\n" +
		pipelines.Reference(`source "file" { path = `+pipelines.Quote(dataPath)+` }`, outPath)
}

// outputSummary returns the number of lines of an NDJSON output file and the
// sum of its "events" fields (-1 when a line has none).
func outputSummary(path string) (rows, events int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		rows++
		var r struct {
			Events *int64 `json:"events"`
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.Events == nil || events < 0 {
			events = -1
			continue
		}
		events += *r.Events
	}
	return rows, events, sc.Err()
}
