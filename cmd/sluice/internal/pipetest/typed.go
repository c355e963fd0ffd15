package pipetest

import (
	"context"
	"fmt"

	"github.com/sluice-io/sluice/record"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/plugins/file"
	"github.com/sluice-io/sluice/plugins/parse"
)

// typedInput reads a test input for a source that yields typed records:
// each line is a JSON object with the source's fields (all optional;
// timestamps as Unix milliseconds). A line that does not decode fails the
// test, naming the line's byte offset.
type typedInput struct {
	file *file.Source
	out  record.Schema
}

func (t *typedInput) Output() record.Schema { return t.out }

func (t *typedInput) Open(ctx context.Context, rt *plugins.Runtime) (plugins.Reader, error) {
	r, err := t.file.Open(ctx, rt)
	if err != nil {
		return nil, err
	}
	p := &parse.JSON{OnError: parse.OnErrorFail}
	for _, c := range t.out.Columns {
		f := parse.Field{Name: c.Name, Type: c.Type, Path: []string{c.Name}}
		if c.Type == record.ColumnTimestamp {
			f.Unit = "ms"
		}
		p.Fields = append(p.Fields, f)
	}
	return &typedReader{raw: r, parser: p}, nil
}

type typedReader struct {
	raw    plugins.Reader
	parser *parse.JSON
	buf    *record.Batch
}

func (r *typedReader) Partitions() int { return r.raw.Partitions() }
func (r *typedReader) Close() error    { return r.raw.Close() }

func (r *typedReader) Read(ctx context.Context, b *record.Batch, max int) error {
	if r.buf == nil {
		r.buf = record.NewBatch(record.RawSchema(), max)
	}
	r.buf.Reset()
	err := r.raw.Read(ctx, r.buf, max)
	var bad error
	r.parser.Parse(r.buf, b, func(row int, reason string) {
		if bad == nil {
			bad = fmt.Errorf("test input line at byte %d: %s", r.buf.Origins[row].Offset, reason)
		}
	})
	if bad != nil {
		return bad
	}
	return err
}
