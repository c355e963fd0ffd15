package window

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/record"
)

// This file holds a deliberately naive model of docs/event-time.md and a
// property test comparing the operator with it on random inputs.

// modelAggregates is the aggregate block the model understands, in the
// order of its output columns.
const modelAggregates = `aggregate = {
    n       = "count()"
    users   = "count_distinct(user)"
    total   = "sum(v)"
    lo      = "min(v)"
    hi      = "max(f)"
    first_v = "first(v)"
    last_v  = "last(v)"
    m       = "sum(100 % w)"
    top     = "max_by(user, f)"
    low     = "min_by(v, user * 2)"
  }`

type modelKey struct {
	null bool
	key  string
	g2   int64
}

func compareKeys(a, b modelKey) int {
	if a.null != b.null {
		if a.null {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(a.g2, b.g2)
}

// modelWindow is a window with every record added to it, in state order.
type modelWindow struct {
	start, end int64 // sessions: end = last + gap
	last       int64
	key        modelKey
	recs       []ev
	dirty      bool
	closed     bool   // W passed its end: its row was emitted; kept for allowed lateness
	rows       int    // rows emitted for (start, key)
	sentEnd    int64  // the window_end of the last row emitted
	sentVals   string // the aggregates of the last row emitted
}

type modelPart struct{ max, last int64 }

// model is the reference: every held window in one slice, W recomputed from
// every partition for each record.
type model struct {
	kind                                 Kind
	size, slide, offset, gap, wm, idl, L int64
	every                                int64 // 0 for on_close
	grouped                              bool  // group_by = ["key", "g2"] or ["key"], else []
	keyOnly                              bool  // group_by = ["key"]: a raw probe of the recent groups
	nextTick                             int64
	parts                                []modelPart
	w                                    int64
	wins                                 []*modelWindow
	res                                  runResult
	merges, idleAdvances                 int                // coverage counters
	lateAdds, deletes, reopens           int                // coverage counters of allowed lateness
	onClose                              func(*modelWindow) // when set, called with every window that closes
}

func newModel(w *Window, partitions int, now int64) *model {
	m := &model{kind: w.Kind, size: w.Size.Milliseconds(), slide: w.Slide.Milliseconds(), offset: w.Offset.Milliseconds(),
		gap: w.Gap.Milliseconds(), wm: w.Watermark.Milliseconds(), idl: w.IdleTimeout.Milliseconds(), w: math.MinInt64,
		L: w.AllowedLateness.Milliseconds(), grouped: len(w.GroupBy) > 0, keyOnly: len(w.GroupBy) == 1}
	for range partitions {
		m.parts = append(m.parts, modelPart{max: math.MinInt64, last: now})
	}
	if !w.EmitOnClose {
		m.every = w.EmitEvery.Milliseconds()
		m.nextTick = (now/m.every + 1) * m.every
	}
	return m
}

// advance recomputes W at processing time now and closes windows.
func (m *model) advance(now int64) {
	lowest, any, idle := int64(math.MaxInt64), false, false
	for _, p := range m.parts {
		if now-p.last < m.idl {
			any = true
			lowest = min(lowest, p.max)
		} else {
			idle = true
		}
	}
	if any {
		c := lowest - m.wm
		if lowest == math.MinInt64 {
			c = math.MinInt64
		}
		if idle && c > m.w {
			m.idleAdvances++
		}
		m.w = max(m.w, c)
	}
	m.close(false)
}

// close emits every open window with end <= W (every one when all is
// set), then drops every window with end + L <= W; the others are kept,
// closed.
func (m *model) close(all bool) {
	var closing, held []*modelWindow
	for _, w := range m.wins {
		if !w.closed && (all || w.end <= m.w) {
			closing = append(closing, w)
		}
	}
	if m.onClose != nil {
		for _, w := range closing {
			m.onClose(w)
		}
	}
	m.emit(closing, true)
	for _, w := range m.wins {
		if w.end <= m.w || all {
			w.closed = true
		}
		if !all && w.end+m.L > m.w {
			held = append(held, w)
		}
	}
	m.wins = held
}

// emit appends the rows of ws, sorted by end, start and key: each an
// Insert when it is the first of its (start, key), else an Update.
func (m *model) emit(ws []*modelWindow, final bool) {
	slices.SortFunc(ws, func(a, b *modelWindow) int {
		if c := cmp.Compare(a.end, b.end); c != 0 {
			return c
		}
		if c := cmp.Compare(a.start, b.start); c != 0 {
			return c
		}
		return compareKeys(a.key, b.key)
	})
	for _, w := range ws {
		kind := record.Insert
		if w.rows > 0 {
			kind = record.Update
		}
		vals := m.values(w)
		m.res.rows = append(m.res.rows, kindPrefix[kind]+m.render(w.start, w.end, w.key, vals, w.rows, final))
		w.rows++
		w.sentEnd, w.sentVals = w.end, vals
		w.dirty = false
	}
}

// withdraw appends the Delete of the last row w emitted.
func (m *model) withdraw(w *modelWindow) {
	m.res.rows = append(m.res.rows, kindPrefix[record.Delete]+m.render(w.start, w.sentEnd, w.key, w.sentVals, w.rows, true))
	w.rows = 0
	m.deletes++
}

// render makes a row of the output: window, group, aggregates, then the
// revision with allowed lateness and final with emit = "every D".
func (m *model) render(start, end int64, k modelKey, vals string, rev int, final bool) string {
	key := "null"
	if !k.null {
		key = strconv.Quote(k.key)
	}
	s := fmt.Sprintf("%d|%d|%s|%d|%s", start, end, key, k.g2, vals)
	if m.keyOnly {
		s = fmt.Sprintf("%d|%d|%s|%s", start, end, key, vals)
	}
	if !m.grouped {
		s = fmt.Sprintf("%d|%d|%s", start, end, vals)
	}
	if m.L > 0 {
		s += "|" + strconv.Itoa(rev)
	}
	if m.every > 0 {
		s += "|" + strconv.FormatBool(final)
	}
	return s
}

// values computes the aggregates of w from its records.
func (m *model) values(w *modelWindow) string {
	users := map[int64]bool{}
	var total, mod int64
	var nv int
	var lo, first, last int64
	var firstTS, lastTS int64
	hi := math.Inf(-1)
	for _, r := range w.recs {
		users[r.user] = true
		hi = max(hi, r.f)
		mod += 100 % r.w
		if r.vNull {
			continue
		}
		total += r.v
		if nv == 0 || r.v < lo {
			lo = r.v
		}
		if nv == 0 || r.ts < firstTS {
			first, firstTS = r.v, r.ts
		}
		if nv == 0 || r.ts >= lastTS {
			last, lastTS = r.v, r.ts
		}
		nv++
	}
	vals := []string{strconv.FormatInt(total, 10), strconv.FormatInt(lo, 10), strconv.FormatFloat(hi, 'g', -1, 64),
		strconv.FormatInt(first, 10), strconv.FormatInt(last, 10)}
	if nv == 0 {
		vals = []string{"null", "null", strconv.FormatFloat(hi, 'g', -1, 64), "null", "null"}
	}
	return fmt.Sprintf("%d|%d|%s|%d|%s", len(w.recs), len(users), strings.Join(vals, "|"), mod, modelBy(w.recs))
}

// modelBy computes max_by(user, f) and min_by(v, user * 2) over recs: the
// x of the record with the largest (smallest) by, the smallest x on ties,
// skipping records whose x is null.
func modelBy(recs []ev) string {
	top, low := "null", "null"
	var topBy float64
	var topX, lowBy, lowX int64
	for i, r := range recs {
		if i == 0 || r.f > topBy || r.f == topBy && r.user < topX {
			topBy, topX = r.f, r.user
			top = strconv.FormatInt(topX, 10)
		}
		if r.vNull {
			continue
		}
		if low == "null" || r.user*2 < lowBy || r.user*2 == lowBy && r.v < lowX {
			lowBy, lowX = r.user*2, r.v
			low = strconv.FormatInt(lowX, 10)
		}
	}
	return top + "|" + low
}

// process handles one record, global index i, at processing time now.
func (m *model) process(e ev, i int, now int64) {
	if e.tsNull || e.w == 0 {
		m.res.bad = append(m.res.bad, i)
		return
	}
	for e.part >= len(m.parts) {
		m.parts = append(m.parts, modelPart{max: math.MinInt64, last: now})
	}
	k := modelKey{null: e.keyNull, key: e.key, g2: e.g2}
	if e.keyNull {
		k.key = ""
	}
	if m.keyOnly {
		k.g2 = 0
	}
	if !m.grouped {
		k = modelKey{}
	}
	late := false
	if m.kind == Session {
		late = m.addSession(e, k)
	} else {
		var updated []*modelWindow
		for s := e.ts - m.size - m.slide; s <= e.ts; s++ {
			if ((s-m.offset)%m.slide+m.slide)%m.slide != 0 || e.ts >= s+m.size {
				continue
			}
			if s+m.size+m.L <= m.w {
				late = true
				continue
			}
			var win *modelWindow
			for _, x := range m.wins {
				if x.start == s && x.key == k {
					win = x
				}
			}
			if win == nil {
				win = &modelWindow{start: s, end: s + m.size, key: k, closed: s+m.size <= m.w}
				m.wins = append(m.wins, win)
			}
			win.recs = append(win.recs, e)
			if win.closed {
				updated = append(updated, win)
				m.lateAdds++
			} else {
				win.dirty = true
			}
		}
		m.emit(updated, true)
	}
	if late {
		m.res.late = append(m.res.late, i)
	}
	p := &m.parts[e.part]
	p.max = max(p.max, e.ts)
	p.last = now
	m.advance(now)
}

// addSession adds e to the held sessions of k it overlaps, merged into
// one, or to a new session, and reports whether e was late instead.
func (m *model) addSession(e ev, k modelKey) (late bool) {
	var joined, rest []*modelWindow
	for _, x := range m.wins {
		if x.key == k && x.start < e.ts+m.gap && e.ts < x.last+m.gap {
			joined = append(joined, x)
		} else {
			rest = append(rest, x)
		}
	}
	s := &modelWindow{start: e.ts, last: e.ts, key: k}
	if len(joined) == 0 && e.ts+m.gap+m.L <= m.w {
		return true
	}
	if len(joined) > 1 {
		m.merges++
	}
	slices.SortFunc(joined, func(a, b *modelWindow) int { return cmp.Compare(a.start, b.start) })
	if len(joined) > 0 {
		s.start = min(joined[0].start, e.ts)
	}
	wasClosed := false
	for _, x := range joined {
		if x.rows > 0 && x.start != s.start {
			m.withdraw(x)
		}
		if x.start == s.start {
			s.rows, s.sentEnd, s.sentVals = x.rows, x.sentEnd, x.sentVals
		}
		s.recs = append(s.recs, x.recs...)
		s.last = max(s.last, x.last)
		wasClosed = wasClosed || x.closed
	}
	s.recs = append(s.recs, e)
	s.end = s.last + m.gap
	s.closed = s.end <= m.w
	if wasClosed && !s.closed {
		m.reopens++
	}
	m.wins = append(rest, s)
	if s.closed {
		m.lateAdds++
		m.emit([]*modelWindow{s}, true)
	} else {
		s.dirty = true
	}
	return false
}

func (m *model) tick(now int64) {
	m.advance(now)
	if m.every > 0 && now >= m.nextTick {
		m.nextTick = (now/m.every + 1) * m.every
		var dirty []*modelWindow
		for _, w := range m.wins {
			if w.dirty && !w.closed {
				dirty = append(dirty, w)
			}
		}
		m.emit(dirty, false)
	}
}

func (m *model) run(steps []step) runResult {
	i := 0
	for _, s := range steps {
		switch {
		case s.finish:
			m.w = math.MaxInt64
			m.close(true)
		case s.tick:
			m.tick(s.now)
		default:
			for _, e := range s.evs {
				m.process(e, i, s.now)
				i++
			}
		}
	}
	return m.res
}

// randomCase returns a window declaration, a partition count and steps.
func randomCase(r *rand.Rand, k Kind) (src string, partitions int, start int64, steps []step) {
	var shape string
	switch k {
	case Tumbling:
		size := 5 + r.Int64N(60)
		shape = fmt.Sprintf("size = \"%dms\"\n  offset = \"%dms\"", size, r.Int64N(size))
	case Sliding:
		size := 5 + r.Int64N(60)
		slide := 1 + r.Int64N(size)
		if r.IntN(4) == 0 {
			slide = size / (1 + r.Int64N(4))
		}
		shape = fmt.Sprintf("size = \"%dms\"\n  slide = \"%dms\"\n  offset = \"%dms\"", size, slide, r.Int64N(slide))
	case Session:
		shape = fmt.Sprintf("gap = \"%dms\"", 1+r.Int64N(40))
	}
	emit := "on_close"
	if r.IntN(2) == 0 {
		emit = fmt.Sprintf("every %dms", 10+r.IntN(90))
	}
	groupBy := `["key", "g2"]`
	switch r.IntN(5) {
	case 0:
		groupBy = "[]"
	case 1:
		groupBy = `["key"]`
	}
	if r.IntN(2) == 0 {
		shape += fmt.Sprintf("\n  allowed_lateness = \"%dms\"", 1+r.Int64N(80))
	}
	src = fmt.Sprintf("window %q {\n  event_time = \"ts\"\n  %s\n  watermark = \"%dms\"\n  idle_timeout = \"%dms\"\n  group_by = %s\n  %s\n  emit = %q\n}",
		k, shape, r.IntN(30), 50+r.IntN(300), groupBy, modelAggregates, emit)

	partitions = 1 + r.IntN(3)
	start = r.Int64N(1000)
	now := start
	keys := 1 + r.IntN(8)
	cursor := r.Int64N(200) - 100 // negative event times too
	disorder := r.Int64N(40)
	silent := -1 // a partition that stays quiet for a while
	n := r.IntN(250)
	for n > 0 {
		if r.IntN(6) == 0 {
			now += r.Int64N(200)
			steps = append(steps, step{now: now, tick: true})
			continue
		}
		if r.IntN(8) == 0 {
			silent = r.IntN(partitions+1) - 1
		}
		size := min(n, 1+r.IntN(30))
		n -= size
		now += r.Int64N(60)
		var evs []ev
		for range size {
			cursor += r.Int64N(6)
			e := ev{ts: cursor - r.Int64N(disorder+1), part: r.IntN(partitions), key: fmt.Sprintf("k%d", r.IntN(keys)),
				g2: r.Int64N(3) - 1, user: r.Int64N(20), v: r.Int64N(100) - 50, f: float64(r.IntN(1000)) / 8, w: 1 + r.Int64N(5)}
			if e.part == silent {
				e.part = (e.part + 1) % partitions
			}
			switch r.IntN(40) {
			case 0:
				e.tsNull = true
			case 1:
				e.w = 0
			case 2:
				e.keyNull = true
			case 3:
				e.vNull = true
			case 4:
				e.ts -= r.Int64N(200) // very late
			}
			if r.IntN(30) == 0 && e.key == "k0" {
				e.key = "k\x000" // an escaped byte in the key
			}
			if r.IntN(30) == 0 && e.key == "k1" {
				e.key = "" // as a raw probe, the same bytes as a null's
			}
			evs = append(evs, e)
		}
		steps = append(steps, step{now: now, evs: evs})
	}
	if r.IntN(5) != 0 {
		steps = append(steps, step{finish: true})
	}
	return src, partitions, start, steps
}

func TestOperatorMatchesModel(t *testing.T) {
	cases := 300
	if testing.Short() {
		cases = 100
	}
	for ki, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(ki)+1, 42))
			var rows, updates, notFinal, deletes, late, bad, merges, idle, lateAdds, reopens int
			defer func() {
				t.Logf("%d cases: %d rows (%d not final, %d updates, %d deletes), %d late, %d added to closed windows, %d bad, %d session merges, %d sessions opened again, %d advances by idleness",
					cases, rows, notFinal, updates, deletes, late, lateAdds, bad, merges, reopens, idle)
				if rows == 0 || late == 0 || bad == 0 || updates == 0 || notFinal == 0 || idle == 0 || lateAdds == 0 ||
					k == Session && (merges == 0 || deletes == 0 || reopens == 0) {
					t.Errorf("the random cases do not cover every path")
				}
			}()
			for c := range cases {
				src, partitions, start, steps := randomCase(r, k)
				w := buildWindow(t, k, src)
				o, err := w.NewOperator(partitions, start)
				if err != nil {
					t.Fatal(err)
				}
				got := run(t, o, steps, 0, 0)
				m := newModel(w, partitions, start)
				want := m.run(steps)
				merges += m.merges
				idle += m.idleAdvances
				lateAdds += m.lateAdds
				reopens += m.reopens
				if !slices.Equal(got.rows, want.rows) || !slices.Equal(got.late, want.late) || !slices.Equal(got.bad, want.bad) {
					t.Fatalf("case %d: %s\n%s\ngot %s\nwant %s\n%s", c, src, describe(steps), got, want, firstDiff(got.rows, want.rows))
				}
				rows += len(got.rows)
				late += len(got.late)
				bad += len(got.bad)
				for _, row := range got.rows {
					if strings.HasSuffix(row, "|false") {
						notFinal++
					}
					if strings.HasPrefix(row, kindPrefix[record.Update]) {
						updates++
					}
					if strings.HasPrefix(row, kindPrefix[record.Delete]) {
						deletes++
					}
				}
				if st := o.Stats(); st.Late != int64(len(want.late)) || st.Bad != int64(len(want.bad)) {
					t.Fatalf("case %d: stats %+v, want %d late, %d bad", c, st, len(want.late), len(want.bad))
				}
			}
		})
	}
}

func firstDiff(a, b []string) string {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return fmt.Sprintf("first difference at row %d", i)
		}
	}
	return "rows equal"
}

func describe(steps []step) string {
	var b strings.Builder
	for _, s := range steps {
		switch {
		case s.finish:
			b.WriteString("finish\n")
		case s.tick:
			fmt.Fprintf(&b, "tick %d\n", s.now)
		default:
			fmt.Fprintf(&b, "batch now=%d:", s.now)
			for _, e := range s.evs {
				fmt.Fprintf(&b, " %+v", e)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
