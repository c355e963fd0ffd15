package pulsar

import (
	pulsarapi "github.com/apache/pulsar-client-go/pulsar"

	"github.com/sluice-io/sluice/record"
)

// appendMeta appends the metadata columns of msg (see sourceRecord).
func appendMeta(b *record.Batch, msg pulsarapi.Message) {
	m := b.Columns[1:6]
	m[0].AppendText(msg.Topic())
	if k := msg.Key(); k != "" {
		m[1].AppendText(k)
	} else {
		m[1].AppendNull()
	}
	m[2].AppendStringMap(msg.Properties())
	m[3].AppendInt(msg.PublishTime().UnixMilli())
	if et := msg.EventTime(); !et.IsZero() {
		m[4].AppendInt(et.UnixMilli())
	} else {
		m[4].AppendNull()
	}
}
