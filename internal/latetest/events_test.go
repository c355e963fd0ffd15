package latetest

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
)

// The shape of the input: users active in bursts of events over three
// hours of event time, most events in order (up to jitter of disorder,
// below the watermark), some late within the allowed lateness and some
// far beyond it.
const (
	base        = int64(1_795_600_800_000) // 2026-11-25T10:00:00Z
	span        = 3 * hour                 // the event time the bursts cover
	users       = 400
	beyondUsers = 60 // events 70-85 minutes late, one each by users of their own
	jitter      = 20 * second
	second      = int64(1000)
	minute      = 60 * second
	hour        = 60 * minute

	// The windows' settings, as the pipelines declare them.
	tumbleSize = minute
	sessionGap = 2 * minute
	watermark  = 30 * second
	lateness   = 10 * minute

	// beyondUser is the first user id of the events beyond the lateness.
	beyondUser = 100_000
)

// actions are the actions of the events: the tumbling window's groups.
var actions = []string{"view", "click", "buy", "login"}

// event is one input event; emit orders the input file: its event time
// plus how late it arrives.
type event struct {
	User   int64
	Action string
	TS     int64
	Value  int64
	emit   int64
	beyond bool // late beyond the allowed lateness: the window drops it
}

// makeEvents returns the input in file order. Each user has bursts of 1
// to 5 events at most 15 s apart, separated by silences of 2.5 to 9
// minutes: longer than the session gap, so each burst is a session of its
// own unless a late event bridges two. Late events within the allowed
// lateness arrive 2 to 7 minutes after their event time: after their
// tumbling window closed (size 1m, watermark 30s), before it is freed;
// half of them fall in the middle of a silence short enough to be
// bridged, arriving once both sessions around it closed, which merges
// them (a delete of the later one). Events beyond the lateness arrive 70
// to 85 minutes late, each by a user with no other event, so no session
// can absorb it.
func makeEvents(rng *rand.Rand) []event {
	var out []event
	add := func(user, ts, delay int64, beyond bool) {
		out = append(out, event{User: user, Action: actions[rng.IntN(len(actions))], TS: ts, Value: 1 + rng.Int64N(100), emit: ts + delay, beyond: beyond})
	}
	for u := range int64(users) {
		var bursts [][2]int64 // first and last event time
		for t := base + rng.Int64N(10*minute); t < base+span; {
			first, last := t, t
			for i := range 1 + rng.IntN(5) {
				if i > 0 {
					last += rng.Int64N(15 * second)
				}
				add(u, last, rng.Int64N(jitter), false)
			}
			bursts = append(bursts, [2]int64{first, last})
			t = last + 150*second + rng.Int64N(390*second)
		}
		for i := 1; i < len(bursts); i++ {
			silence := bursts[i][0] - bursts[i-1][1]
			if silence < 2*sessionGap-10*second && rng.IntN(2) == 0 {
				add(u, bursts[i-1][1]+silence/2, 330*second+rng.Int64N(90*second), false)
			}
			if rng.IntN(3) == 0 {
				add(u, bursts[i-1][0]+rng.Int64N(bursts[i][1]-bursts[i-1][0]), 2*minute+rng.Int64N(5*minute), false)
			}
		}
	}
	for i := range int64(beyondUsers) {
		add(beyondUser+i, base+10*minute+rng.Int64N(span-100*minute), 70*minute+rng.Int64N(15*minute), true)
	}
	slices.SortStableFunc(out, func(a, b event) int { return cmp.Compare(a.emit, b.emit) })
	return out
}

// ndjson returns the events as the input file's lines.
func ndjson(events []event) []byte {
	var b bytes.Buffer
	for _, e := range events {
		fmt.Fprintf(&b, `{"user_id":%d,"action":%q,"ts":%d,"value":%d}`+"\n", e.User, e.Action, e.TS, e.Value)
	}
	return b.Bytes()
}

// result is one final window result: its key (window_start and the
// group), window_end and aggregates, printed the same way from the batch
// computation, PostgreSQL and Elasticsearch.
type result struct {
	Start, End int64
	Group      string
	Events     int64
	Total, Top int64
}

func (r result) String() string {
	return fmt.Sprintf("%d-%d %s events=%d total=%d top=%d", r.Start, r.End, r.Group, r.Events, r.Total, r.Top)
}

// lateBeyond checks, as the window judges each record against the
// watermark W before it (max event time so far minus the watermark), that
// the events beyond the lateness and only those are late for the tumbling
// window, and returns how many are late.
func lateBeyond(events []event) (int, error) {
	late, maxTS := 0, int64(-1<<62)
	for i, e := range events {
		w := maxTS - watermark
		isLate := i > 0 && e.TS-e.TS%tumbleSize+tumbleSize+lateness <= w
		if isLate != e.beyond {
			return 0, fmt.Errorf("event %d (%+v) late %v, made beyond the lateness %v", i, e, isLate, e.beyond)
		}
		if isLate {
			late++
		}
		// Within the lateness, no event may reach a session freed
		// before it (docs/event-time.md): its disorder stays below
		// watermark + allowed_lateness.
		if !e.beyond && maxTS-e.TS >= watermark+lateness {
			return 0, fmt.Errorf("event %d (%+v) is %d ms behind the largest event time", i, e, maxTS-e.TS)
		}
		maxTS = max(maxTS, e.TS)
	}
	return late, nil
}

// batchTumbling computes the one-minute windows by action over the events
// within the lateness: count, sum and max of value.
func batchTumbling(events []event) []string {
	type key struct {
		start  int64
		action string
	}
	rows := map[key]*result{}
	for _, e := range events {
		if e.beyond {
			continue
		}
		k := key{e.TS - e.TS%tumbleSize, e.Action}
		r := rows[k]
		if r == nil {
			r = &result{Start: k.start, End: k.start + tumbleSize, Group: k.action}
			rows[k] = r
		}
		r.Events++
		r.Total += e.Value
		r.Top = max(r.Top, e.Value)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

// batchSessions computes the sessions (gap 2m) of each user over the
// events within the lateness: [first, last + gap), count and sum of
// value.
func batchSessions(events []event) []string {
	byUser := map[int64][]event{}
	for _, e := range events {
		if !e.beyond {
			byUser[e.User] = append(byUser[e.User], e)
		}
	}
	var out []string
	for user, evs := range byUser {
		slices.SortFunc(evs, func(a, b event) int { return cmp.Compare(a.TS, b.TS) })
		var cur *result
		var last int64
		flush := func() {
			if cur != nil {
				cur.End = last + sessionGap
				out = append(out, cur.String())
			}
		}
		for _, e := range evs {
			if cur == nil || e.TS >= last+sessionGap {
				flush()
				cur = &result{Start: e.TS, Group: fmt.Sprint(user)}
			}
			cur.Events++
			cur.Total += e.Value
			last = e.TS
		}
		flush()
	}
	slices.Sort(out)
	return out
}
