// Package nexmark declares `source "nexmark"`: the events of the Nexmark
// streaming benchmark (people, auctions and bids of an online auction
// site), generated deterministically as Apache Beam's and the
// nexmark/nexmark Flink generators do, so that sluice and other engines
// can run the Nexmark queries on the same input (docs/nexmark.md).
package nexmark

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluice-io/sluice/plugins"
	"github.com/sluice-io/sluice/record"
	"github.com/sluice-io/sluice/schema"
)

// DefaultBaseTime is the event time of event 0 unless base_time says
// otherwise: a fixed instant, so that every run yields the same events.
const DefaultBaseTime = "2024-01-01T00:00:00Z"

// DefaultEventRate is the default number of events per second of event
// time, the Java generators' default first event rate.
const DefaultEventRate = 10_000

// Source is the configuration of a `source "nexmark"` block.
type Source struct {
	// Stream selects the kind of events the source yields.
	Stream Stream
	// Events is the number of Nexmark events (of every kind) after which
	// the stream ends: the source yields those of Stream among event ids
	// 0 to Events-1. 0 means unbounded.
	Events int64
	// EventRate is the number of events (of every kind) per second of
	// event time (> 0).
	EventRate int64
	// BaseTime is the event time of event 0, in Unix ms.
	BaseTime int64
	// Partitions splits the stream by event id: partition p yields the
	// events whose id % Partitions == p (> 0).
	Partitions int
	// Rate paces the source to this many records per second of processing
	// time; 0 yields them as fast as the pipeline takes them.
	Rate int64
}

// Output returns the columns of the selected stream's events.
func (s *Source) Output() record.Schema { return record.Schema{Columns: Columns(s.Stream)} }

var _ plugins.Resumable = (*Source)(nil)

// CheckResumable reports nothing: every configuration resumes from the
// next event id of each partition.
func (s *Source) CheckResumable() hcl.Diagnostics { return nil }

// ParseBaseTime parses a base time written in RFC 3339 into Unix ms.
func ParseBaseTime(s string) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("base time %q is not an RFC 3339 time such as %s", s, DefaultBaseTime)
	}
	return t.UnixMilli(), nil
}

// EmptyPartitions returns the partitions, among partitions stride
// partitions, that never hold an event of stream: events are typed by id
// mod 50, so a partition count sharing factors with 50 can leave some
// partitions without any event of a kind.
func EmptyPartitions(stream Stream, partitions int) []int {
	var empty []int
	for p := 0; p < partitions; p++ {
		found := false
		for id := int64(p); id < int64(p)+int64(partitions)*totalProportion && !found; id += int64(partitions) {
			found = Kind(id) == stream
		}
		if !found {
			empty = append(empty, p)
		}
	}
	return empty
}

// Plugin declares `source "nexmark"`.
var Plugin = &plugins.Plugin{
	Kind:    plugins.KindSource,
	Block:   "source",
	Name:    "nexmark",
	Summary: "Generates the Nexmark benchmark's bids, auctions or people, deterministically, as typed records.",
	Description: "Events are numbered from 0; event id mod 50 makes one person, then three auctions, then 46 bids. " +
		"Every field is drawn from java.util.Random seeded with the event id, following Apache Beam's Nexmark " +
		"generator, so people and auctions match its events value for value (bids too, in auction, bidder and price; " +
		"`channel` and `url` follow the nexmark/nexmark Flink generator). Event i is at `base_time` plus i × 1s/`event_rate`. " +
		"`stream` selects which kind the source yields; `events` counts events of every kind. With `partitions = P`, " +
		"partition p yields the events whose id mod P is p, each an event-time partition; the union is the same stream. " +
		"Checkpoints record the next event id of each partition. docs/nexmark.md has the fields and the formulas.",
	Spec: schema.NewSpec(
		schema.Enum("stream", "Which events the source yields: \"bid\", \"auction\" or \"person\".",
			string(StreamBid), string(StreamAuction), string(StreamPerson)).Example(`"bid"`),
		schema.Int("events", "Number of Nexmark events of every kind (ids 0 to events-1) after which the source ends; 0 means unbounded.").
			WithDefault(0).Example("10000000"),
		schema.Int("event_rate", "Events of every kind per second of event time: event i is at base_time + i/event_rate seconds.").
			WithDefault(DefaultEventRate),
		schema.String("base_time", "Event time of event 0, in RFC 3339.").WithDefault(DefaultBaseTime),
		schema.Int("partitions", "Event-time partitions: partition p yields the events whose id mod partitions is p.").
			WithDefault(1).Example("4"),
		schema.Int("rate", "Records per second of processing time; 0 yields them as fast as the pipeline takes them.").
			WithDefault(0).Example("100000"),
	),
	Examples: []plugins.Example{
		{Title: "Ten million events' bids, as fast as possible", Config: `source "nexmark" {
  stream = "bid"
  events = 10000000
}`},
		{Title: "An unbounded auction stream in four partitions, paced", Config: `source "nexmark" {
  stream     = "auction"
  partitions = 4
  rate       = 1000
}`},
	},
	Build: build,
}

func build(b *plugins.Build) (plugins.Component, hcl.Diagnostics) {
	args := b.Args
	if args.Invalid("stream") {
		return nil, nil // the output schema depends on the stream: unknown
	}
	s := &Source{
		Stream:     Stream(args.String("stream")),
		Events:     args.Int("events"),
		EventRate:  args.Int("event_rate"),
		Partitions: int(args.Int("partitions")),
		Rate:       args.Int("rate"),
	}
	var diags hcl.Diagnostics
	check := func(name string, ok bool, detail string) {
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid value for argument %q", name),
				Detail:   detail,
				Subject:  args.Range(name).Ptr(),
			})
		}
	}
	check("events", s.Events >= 0, fmt.Sprintf("The number of events must be zero (unbounded) or more, not %d.", s.Events))
	check("event_rate", s.EventRate > 0, fmt.Sprintf("The event rate must be more than zero events per second, not %d.", s.EventRate))
	check("rate", s.Rate >= 0, fmt.Sprintf("The rate must be zero (as fast as possible) or more, not %d.", s.Rate))
	baseTime, err := ParseBaseTime(args.String("base_time"))
	check("base_time", err == nil, fmt.Sprintf("The %v.", err))
	s.BaseTime = baseTime
	partitions := args.Int("partitions")
	switch {
	case partitions < 1 || partitions > 1<<16:
		check("partitions", false, fmt.Sprintf("The number of partitions must be between 1 and 65536, not %d.", partitions))
	default:
		empty := EmptyPartitions(s.Stream, s.Partitions)
		check("partitions", len(empty) == 0, fmt.Sprintf("With %d partitions, %s would never yield a %s: events are typed by id mod 50. "+
			"A number of partitions with no common factor with 50 (3, 7, 9, 11, ...) suits every stream.",
			partitions, partitionList(empty), s.Stream))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, nil
}

// partitionList names a few partitions for a message.
func partitionList(ps []int) string {
	var names []string
	for i, p := range ps {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(ps)-5))
			break
		}
		names = append(names, fmt.Sprint(p))
	}
	if len(ps) == 1 {
		return "partition " + names[0]
	}
	return "partitions " + strings.Join(names, ", ")
}

func init() { plugins.Register(Plugin) }
