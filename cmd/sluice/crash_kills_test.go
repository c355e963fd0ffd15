package main

// The kill schedule of the crash test (crash_test.go): what each kill
// waits for, measured by what the processes report, never by the clock.

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/objstore"
	"github.com/sluice-io/sluice/runner/checkpoint"
)

// crashKill is one planned kill: when it is sent after the process starts.
type crashKill struct {
	// kind is "startup" (a random instant in the first two checkpoint
	// intervals, before the process could take one), "subscribed" (just
	// after the consumer is attached to every partition), "progress"
	// (once the process took a checkpoint covering a share of the
	// messages, drawn when the process starts so that the kills left
	// spread over the input left), "committing" (as progress, then as
	// soon as the next checkpoint is in the store: the process is
	// committing the Parquet files it names or acknowledging the
	// messages it covers) or "end" (once the broker dispatched all the
	// messages left but at most a receiver queue per partition: the
	// process reads the last ones, closes every window and takes its
	// last checkpoint; it may finish first, and then the kill does not
	// count).
	kind string
}

// crashProgressLimit is the share of the messages the progress kills
// spread over: the rest is for the end kills and the last run.
const crashProgressLimit = 0.8

// crashPlan returns the kill schedule: ten progress kills (three of them
// committing), two startup kills and one right after subscribing at
// random places among them, and two kills at the end of the input.
func crashPlan(rng *rand.Rand) []crashKill {
	var plan []crashKill
	for i := range 10 {
		kind := "progress"
		if i%3 == 1 {
			kind = "committing"
		}
		plan = append(plan, crashKill{kind: kind})
	}
	for _, kind := range []string{"startup", "startup", "subscribed"} {
		i := rng.IntN(len(plan) + 1)
		plan = slices.Insert(plan, i, crashKill{kind: kind})
	}
	return append(plan, crashKill{kind: "end"}, crashKill{kind: "end"})
}

// progressTarget draws the share of the messages a checkpoint must cover
// for a progress kill to be sent: about an even share of what is left
// before crashProgressLimit per progress kill left (this one included).
func progressTarget(rng *rand.Rand, covered float64, left int) float64 {
	step := (crashProgressLimit - covered) / float64(left)
	return min(covered+step*(0.5+rng.Float64()), crashProgressLimit)
}

// crashKillRecord is what a kill interrupted.
type crashKillRecord struct {
	kind        string
	after       time.Duration // since the process started
	checkpoints bool          // the process had taken a checkpoint
	uncommitted int           // files the last checkpoint names still temporary
	covered     float64       // share of the messages the last checkpoint covers
	acked       float64       // share of the messages acknowledged then
	committed   int           // committed Parquet files then
}

func (k crashKillRecord) phase() string {
	switch {
	case !k.checkpoints:
		return "before its first checkpoint"
	case k.uncommitted > 0:
		return "committing a checkpoint's files"
	case k.acked >= 1:
		return "after acknowledging the whole input"
	default:
		return "between checkpoints"
	}
}

// crashKiller runs the killed processes of one subtest.
type crashKiller struct {
	cs          *crashSetup
	t           *testing.T
	rng         *rand.Rand
	sub, file   string
	stores      crashStores
	ckpts, lake *objstore.Store

	kills                            []crashKillRecord
	notCounted                       int
	restartedUnder, restartedBetween bool
}

// killAll runs the plan, one process per kill, until a process finishes
// the input before its kill. The broker restarts twice: under a running
// process (which reconnects), and between two processes. Either way the
// topic, its messages and the subscription's acknowledgements must come
// back from its directory.
func (k *crashKiller) killAll() {
	t := k.t
	plan := crashPlan(k.rng)
	for i, kill := range plan {
		if !k.restartedBetween && len(k.kills) >= 10 {
			k.cs.cb.restart(t)
			k.restartedBetween = true
			t.Logf("broker restarted after kill %d", len(k.kills))
		}
		progressLeft := 0
		for _, later := range plan[i:] {
			if later.kind == "progress" || later.kind == "committing" {
				progressLeft++
			}
		}
		rec, counted := k.runOne(i, kill.kind, progressLeft)
		if !counted {
			k.notCounted++
			return // the input is done: nothing is left to interrupt
		}
		k.kills = append(k.kills, rec)
		t.Logf("kill %2d %-10s after %6v: %s, %5.1f%% covered by a checkpoint, %5.1f%% acknowledged, %d files committed",
			len(k.kills), rec.kind, rec.after.Round(time.Millisecond), rec.phase(), rec.covered*100, rec.acked*100, rec.committed)
	}
}

// runOne starts a process, kills it at the point kind names and reports
// what the kill interrupted; false when the process had finished first.
func (k *crashKiller) runOne(i int, kind string, progressLeft int) (crashKillRecord, bool) {
	t := k.t
	_, epoch0 := k.coverage()
	p := startCrashProc(t, k.file, k.stores.env)
	reached, delay := k.killPoint(p, i, kind, epoch0, progressLeft)
	if reached {
		select {
		case <-p.exited:
		case <-time.After(delay):
		}
	}
	killedAt := time.Since(p.started)
	if !p.kill() {
		if !p.state.Success() {
			t.Fatalf("kill %d (%s): sluice failed before it: %v; log:\n%s", i+1, kind, p.state, p.log.String())
		}
		t.Logf("kill %d (%s): the run had already finished (exit 0 after %v): not counted", i+1, kind, killedAt.Round(time.Millisecond))
		return crashKillRecord{}, false
	}
	covered, epoch := k.coverage()
	acked, _ := k.cs.cb.progress(k.sub)
	return crashKillRecord{kind: kind, after: killedAt, checkpoints: epoch > epoch0,
		uncommitted: uncommittedFiles(t, k.ckpts, k.lake), covered: covered,
		acked: float64(acked) / float64(len(k.cs.events)), committed: committedFiles(t, k.lake)}, true
}

// killPoint waits until process p reaches the point kind names and
// returns whether it did (false: it exited first) and the random delay
// before the kill, a fraction of the checkpoint interval.
func (k *crashKiller) killPoint(p *crashProc, i int, kind string, epoch0 int64, progressLeft int) (bool, time.Duration) {
	every := k.cs.every
	poll := func(what string, cond func() bool) bool { return k.poll(p, i, kind, what, cond) }
	switch kind {
	case "startup":
		return true, k.delay(2 * every)
	case "subscribed":
		return poll("the consumer to attach", func() bool { return k.cs.cb.subscribed(k.sub) }), k.delay(3 * every / 2)
	case "end":
		return poll("the last messages to be dispatched", func() bool { return k.cs.cb.nearEnd(k.sub) }), k.delay(3 * every / 10)
	}
	covered, _ := k.coverage()
	target := progressTarget(k.rng, covered, progressLeft)
	progressed := func(share float64) func() bool {
		return func() bool {
			c, epoch := k.coverage()
			return epoch > epoch0 && c >= share
		}
	}
	if !k.restartedUnder && len(k.kills) >= 5 {
		half := (covered + target) / 2
		if poll(fmt.Sprintf("a checkpoint covering %.0f%% of the messages", half*100), progressed(half)) {
			k.cs.cb.restart(k.t)
			k.restartedUnder = true
			k.t.Logf("broker restarted under the running process at %.1f%% covered", half*100)
		}
	}
	reached := poll(fmt.Sprintf("a checkpoint covering %.0f%% of the messages", target*100), progressed(target))
	if kind == "progress" || !reached {
		return reached, k.delay(every)
	}
	_, epoch := k.coverage()
	return poll("the next checkpoint", func() bool { _, e := k.coverage(); return e > epoch }), 0
}

// delay draws a random delay below d.
func (k *crashKiller) delay(d time.Duration) time.Duration {
	return time.Duration(k.rng.Int64N(int64(max(d, time.Millisecond))))
}

// poll waits until cond holds and reports true, or false once p exited;
// it fails the test when p makes no progress for minutes.
func (k *crashKiller) poll(p *crashProc, i int, kind, what string, cond func() bool) bool {
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if p.done() {
			return false
		}
		if time.Now().After(deadline) {
			covered, _ := k.coverage()
			k.t.Fatalf("kill %d (%s): waited 2 min for %s; %.1f%% of the messages covered; log:\n%s", i+1, kind, what, covered*100, p.log.String())
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// coverage returns the share of the messages the newest checkpoint
// covers and its epoch (0 and 0 without one).
func (k *crashKiller) coverage() (float64, int64) {
	t := k.t
	store := checkpoint.NewStore(k.ckpts)
	for try := 0; ; try++ {
		cp, err := store.Latest(context.Background(), crashPipeName)
		if err == nil {
			if cp == nil {
				return 0, 0
			}
			n, err := k.cs.positions.covered(cp.Positions)
			must(t, err)
			return float64(n) / float64(len(k.cs.events)), cp.Epoch
		}
		// On a local folder, listing fails when a file it found is
		// renamed before it is examined (see listKeys).
		if try == 100 {
			t.Fatalf("reading the newest checkpoint: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// runAfterTheEnd runs the pipeline once more, as after a crash right after
// the last checkpoint: the run resumes after the end of the input and its
// windows are all emitted, so it writes nothing (it waits 5 s for messages
// first).
func (k *crashKiller) runAfterTheEnd() {
	t := k.t
	again := startCrashProc(t, k.file, k.stores.env)
	again.wait(t, time.Minute)
	if !again.state.Success() {
		t.Fatalf("run after the end: %v; log:\n%s", again.state, again.log.String())
	}
	if sum := again.finished(t); sum["records_in"] != float64(0) || sum["emitted"] != float64(0) {
		t.Errorf("the run after the end read %v records and emitted %v rows, want 0", sum["records_in"], sum["emitted"])
	}
	t.Logf("run after the end: %v", time.Since(again.started).Round(time.Millisecond))
}

// crashPosition is where a message is in its partition: the broker's
// ledger and entry, and its index in a batch entry (-1 outside batches).
type crashPosition struct{ ledger, entry, batch int64 }

func (a crashPosition) compare(b crashPosition) int {
	if c := cmp.Compare(a.ledger, b.ledger); c != 0 {
		return c
	}
	if c := cmp.Compare(a.entry, b.entry); c != 0 {
		return c
	}
	return cmp.Compare(a.batch, b.batch)
}

// crashPositions are the positions of the messages produced, in order, by
// partition topic name.
type crashPositions map[string][]crashPosition

// covered counts the messages at or before the positions of a checkpoint,
// which source "pulsar" writes as the varints of the last message's
// ledger, entry and batch index, by partition topic name.
func (ps crashPositions) covered(positions map[string][]byte) (int, error) {
	n := 0
	for topic, b := range positions {
		var v [3]int64
		for i := range v {
			x, k := binary.Varint(b)
			if k <= 0 {
				return 0, fmt.Errorf("checkpoint position %x of %s is not three varints", positions[topic], topic)
			}
			v[i], b = x, b[k:]
		}
		pos := crashPosition{v[0], v[1], v[2]}
		list, ok := ps[topic]
		if !ok {
			return 0, fmt.Errorf("checkpoint position for %s, where no message was produced", topic)
		}
		n += sort.Search(len(list), func(i int) bool { return list[i].compare(pos) > 0 })
	}
	return n, nil
}
