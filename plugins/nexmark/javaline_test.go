package nexmark

import (
	"fmt"
	"io"
	"strings"

	"github.com/sluice-io/sluice/record"
)

// writeJavaLines writes events [0, n) in the line format of the JVM
// transcription that made testdata/java_events.txt: the kind's letter and
// every field, '|'-separated, timestamps as Unix ms.
func writeJavaLines(w io.Writer, g *Generator, n int64) {
	batches := map[Stream]*record.Batch{}
	for _, s := range Streams {
		batches[s] = record.NewBatch(record.Schema{Columns: Columns(s)}, 1)
	}
	var sb strings.Builder
	for id := range n {
		b := batches[Kind(id)]
		b.Reset()
		k := g.AppendEvent(b, id)
		sb.Reset()
		sb.WriteString(strings.ToUpper(string(k[:1])))
		for i := range b.Columns {
			v := &b.Columns[i]
			sb.WriteByte('|')
			if v.Type == record.ColumnString {
				sb.WriteString(v.String(0))
			} else {
				fmt.Fprint(&sb, v.Ints[0])
			}
		}
		sb.WriteByte('\n')
		io.WriteString(w, sb.String())
	}
}
