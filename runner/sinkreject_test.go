package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/ndjson"
	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/runner/config"
)

// rejectingSink refuses the rows whose JSON holds "click", as a search
// index refuses documents with a mapping conflict, and writes the others.
type rejectingSink struct {
	*collector
	refused []plugins.DeadRecord
}

func (s *rejectingSink) Open(context.Context, *plugins.Runtime) (plugins.Writer, error) {
	return s, nil
}

func (s *rejectingSink) Write(ctx context.Context, b *record.Batch) error {
	keep := record.NewBatch(b.Schema, b.Rows)
	for i := range b.Rows {
		row := string(ndjson.AppendRow(nil, b, i))
		if strings.Contains(row, "click") {
			s.refused = append(s.refused, plugins.DeadRecord{Reason: "mapping conflict", Payload: []byte(row)})
			continue
		}
		for c := range b.Columns {
			keep.Columns[c].AppendFrom(&b.Columns[c], i)
		}
		keep.Rows++
	}
	return s.collector.Write(ctx, keep)
}

func (s *rejectingSink) Rejected() []plugins.DeadRecord {
	r := s.refused
	s.refused = nil
	return r
}

func TestSinkRejectedRowsGoToTheDeadLetter(t *testing.T) {
	p := load(t, fmt.Sprintf(userEvents, ""))
	in := []string{
		`{"user_id":1,"action":"view","ts":1}`,
		`{"user_id":2,"action":"click","ts":2}`,
		`{"user_id":3,"action":"view","ts":3}`,
	}
	c := &collector{}
	sink := &rejectingSink{collector: c}
	opts := options(&lines{parts: [][]string{in}}, c)
	opts.Sink = func(*config.Stage) plugins.SinkOpener { return sink }
	st, err := Run(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSum(t, st)
	if st.SinkRejected != 1 || st.Emitted != 3 || len(c.rows()) != 2 {
		t.Errorf("stats %+v, rows %q: want 1 rejected of 3 emitted, 2 written", st, c.rows())
	}
	if len(c.dead) != 1 || c.dead[0].Stage != `sink "console" "out"` || c.dead[0].Reason != "mapping conflict" ||
		!strings.Contains(string(c.dead[0].Payload), `"click"`) || c.dead[0].Time.IsZero() {
		t.Errorf("dead letters = %+v, want the click row from the sink with its reason and a time", c.dead)
	}
}
