package nexmark

import (
	"fmt"
	"math"
	"testing"

	"github.com/sluice-io/sluice/record"
)

const base2024 = 1704067200000 // DefaultBaseTime in Unix ms

// generated holds one event of every kind's batch, read back by name.
type generated struct {
	kind    Stream
	batches map[Stream]*record.Batch
}

func newGenerated() *generated {
	g := &generated{batches: map[Stream]*record.Batch{}}
	for _, s := range Streams {
		g.batches[s] = record.NewBatch(record.Schema{Columns: Columns(s)}, 1)
	}
	return g
}

func (e *generated) make(gen *Generator, id int64) {
	e.kind = Kind(id)
	b := e.batches[e.kind]
	b.Reset()
	gen.AppendEvent(b, id)
}

func (e *generated) column(name string) *record.Vector {
	b := e.batches[e.kind]
	for i, c := range b.Schema.Columns {
		if c.Name == name {
			return &b.Columns[i]
		}
	}
	panic("no column " + name)
}

func (e *generated) int(name string) int64  { return e.column(name).Ints[0] }
func (e *generated) str(name string) string { return e.column(name).String(0) }

// TestFormulas checks the first 10,000 events against the specification,
// computed by counting the people and auctions generated so far rather
// than with the generator's id formulas.
func TestFormulas(t *testing.T) {
	for _, rate := range []int64{10_000, 1_000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			gen := NewGenerator(rate, base2024)
			e := newGenerated()
			people, auctions := int64(0), int64(0)
			usPerEvent := 1_000_000 / rate // both rates divide a second exactly
			for id := range int64(10_000) {
				e.make(gen, id)
				wantKind := map[bool]Stream{true: StreamBid}[id%50 >= 4]
				if id%50 == 0 {
					wantKind = StreamPerson
				} else if id%50 < 4 {
					wantKind = StreamAuction
				}
				if e.kind != wantKind {
					t.Fatalf("event %d is a %s, want a %s", id, e.kind, wantKind)
				}
				ts := base2024 + id*usPerEvent/1000
				if got := e.int("date_time"); got != ts {
					t.Fatalf("event %d at %d, want %d", id, got, ts)
				}
				lastPerson, lastAuction := people-1, auctions-1
				switch e.kind {
				case StreamPerson:
					checkEq(t, id, "person id", e.int("id"), 1000+people)
					people++
				case StreamAuction:
					checkEq(t, id, "auction id", e.int("id"), 1000+auctions)
					auctions++
					checkSeller(t, id, e.int("seller")-1000, lastPerson)
					checkIn(t, id, "category", e.int("category"), 10, 14)
					horizon := (id+1666)*usPerEvent/1000 - id*usPerEvent/1000
					checkIn(t, id, "expires", e.int("expires"), ts+1, ts+2*horizon)
					checkIn(t, id, "reserve", e.int("reserve"), e.int("initial_bid")+100, e.int("initial_bid")+100_000_000)
				default:
					checkBid(t, id, e, lastPerson, lastAuction)
				}
			}
		})
	}
}

func checkEq(t *testing.T, id int64, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Fatalf("event %d: %s = %d, want %d", id, what, got, want)
	}
}

func checkIn(t *testing.T, id int64, what string, got, lo, hi int64) {
	t.Helper()
	if got < lo || got > hi {
		t.Fatalf("event %d: %s = %d, want it in [%d, %d]", id, what, got, lo, hi)
	}
}

// checkSeller: the hot seller (the first of the last hundred people) or
// one of the active people or the 10 ids ahead of them.
func checkSeller(t *testing.T, id, seller, lastPerson int64) {
	t.Helper()
	if seller == lastPerson/100*100 {
		return
	}
	checkIn(t, id, "seller (not hot)", seller, max(0, lastPerson+1-1000), lastPerson+10)
}

func checkBid(t *testing.T, id int64, e *generated, lastPerson, lastAuction int64) {
	t.Helper()
	auction, bidder := e.int("auction")-1000, e.int("bidder")-1000
	if auction != lastAuction/100*100 {
		checkIn(t, id, "auction (not hot)", auction, max(0, lastAuction-100), lastAuction+10)
	}
	if bidder != lastPerson/100*100+1 {
		checkIn(t, id, "bidder (not hot)", bidder, max(0, lastPerson+1-1000), lastPerson+10)
	}
	checkIn(t, id, "price", e.int("price"), 100, 100_000_000)
	if l := int64(len(e.str("extra"))); l < 54 || l >= 54+28 {
		t.Fatalf("event %d: extra has %d bytes, want 54 to 81 (68 ± 20%%)", id, l)
	}
}

// TestDistributions checks the shares the specification implies, over 1M
// events, within 1 percentage point. It needs that many: java.util.Random
// seeded with consecutive ids draws a first value (a bid's hot-auction
// choice) that changes only every few thousand ids, so the shares only
// settle over hundreds of thousands of events. It is skipped with -short
// and under the race detector (it checks numbers, not concurrency).
func TestDistributions(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("1M events: run without -short and -race")
	}
	n := int64(1_000_000)
	gen := NewGenerator(10_000, base2024)
	e := newGenerated()
	var bids, hotAuction, hotBidder, hotChannel, auctions, hotSeller, extraBytes float64
	// The expected hot shares, summed per event: the hot branch, plus the
	// chance that a random pick lands on the hot id anyway.
	var wantHotAuction, wantHotPerson, wantHotSeller float64
	var below [6]float64 // below[k]: prices below 100·10^k
	categories := map[int64]float64{}
	people, nAuctions := int64(0), int64(0)
	for id := range n {
		e.make(gen, id)
		lastPerson, lastAuction := people-1, nAuctions-1
		switch e.kind {
		case StreamPerson:
			people++
		case StreamAuction:
			nAuctions++
			auctions++
			categories[e.int("category")]++
			if e.int("seller")-1000 == lastPerson/100*100 {
				hotSeller++
			}
			wantHotSeller += 0.75 + 0.25*pickChance(lastPerson/100*100, lastPerson+1-1000, lastPerson+10)
		default:
			bids++
			if e.int("auction")-1000 == lastAuction/100*100 {
				hotAuction++
			}
			if e.int("bidder")-1000 == lastPerson/100*100+1 {
				hotBidder++
			}
			wantHotAuction += 0.5 + 0.5*pickChance(lastAuction/100*100, lastAuction-100, lastAuction+10)
			wantHotPerson += 0.75 + 0.25*pickChance(lastPerson/100*100+1, lastPerson+1-1000, lastPerson+10)
			switch e.str("channel") {
			case "Google", "Facebook", "Baidu", "Apple":
				hotChannel++
			}
			extraBytes += float64(len(e.str("extra")))
			for k := range below {
				if e.int("price") < 100*int64(math.Pow10(k)) {
					below[k]++
				}
			}
		}
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		// Once 100 auctions and 1000 people exist, these are 0.5 + 0.5/111
		// and 0.75 + 0.25/1010.
		{"bids on a hot auction", hotAuction / bids, wantHotAuction / bids},
		{"bids by a hot bidder", hotBidder / bids, wantHotPerson / bids},
		{"auctions by a hot seller", hotSeller / auctions, wantHotSeller / auctions},
		{"bids through a hot channel", hotChannel / bids, 0.5},
		{"bid extra bytes / 68", extraBytes / bids / 68, 67.5 / 68},
		{"auctions in category 10", categories[10] / auctions, 0.2},
		{"auctions in category 14", categories[14] / auctions, 0.2},
	}
	for k := 1; k < 6; k++ {
		checks = append(checks, struct {
			name      string
			got, want float64
		}{fmt.Sprintf("prices below %d cents", 100*int64(math.Pow10(k))), below[k] / bids, float64(k) / 6})
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 0.01 {
			t.Errorf("%s: %.4f, want %.4f ± 0.01", c.name, c.got, c.want)
		}
	}
	if below[0] != 0 {
		t.Errorf("%v prices below 1.00", below[0])
	}
}

// pickChance is the chance that a uniform pick in [max(lo, 0), hi] is hot.
func pickChance(hot, lo, hi int64) float64 {
	lo = max(lo, 0)
	if hot < lo || hot > hi {
		return 0
	}
	return 1 / float64(hi-lo+1)
}

func TestEmptyPartitions(t *testing.T) {
	tests := []struct {
		stream     Stream
		partitions int
		want       []int
	}{
		{StreamBid, 1, nil},
		{StreamPerson, 7, nil},
		{StreamPerson, 2, []int{1}},
		{StreamAuction, 2, nil},
		{StreamAuction, 5, []int{0, 4}},
		{StreamBid, 25, nil},
		{StreamBid, 50, []int{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		if got := EmptyPartitions(tt.stream, tt.partitions); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("EmptyPartitions(%s, %d) = %v, want %v", tt.stream, tt.partitions, got, tt.want)
		}
	}
}

func TestChannelURL(t *testing.T) {
	// Java's Math.abs(Integer.reverse(1)) is Integer.MIN_VALUE.
	if got := string(appendChannelURL(nil, 1)); !endsWith(got, "&channel_id=-2147483648") && !endsWith(got, "query=1") {
		t.Fatalf("channel 1 URL = %s", got)
	}
	if got := reverseBits32(6); got != 0x60000000 {
		t.Fatalf("reverse(6) = %#x, want 0x60000000", got)
	}
}

func endsWith(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}
