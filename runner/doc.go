// Package runner runs a validated pipeline: it turns the chain of configured
// plugins into stages connected by bounded queues of batches and drives them
// to the end of the input or until it is told to stop.
//
// The shape of a run:
//
//   - One reader goroutine asks the source for batches of up to BatchSize
//     rows. It can only take a batch from a fixed pool of envelopes, so when
//     the stages fall behind the source waits: backpressure reaches it.
//     A source of lines that can (plugins.SplitReader) hands over whole
//     lines as bytes, and a worker cuts them into rows.
//   - The stateless stages before the first window (parse, filter, map) run
//     on Workers goroutines, one batch at a time each, in parallel. A
//     Sequential stage (a CSV parser with a header) makes that one worker.
//   - One scheduler goroutine takes the batches back in stream order and
//     owns everything that must see them in order: the dead letter, the
//     windows (their watermarks and timers) and whatever follows them, and
//     the sinks. It alone reads processing time, from Options.Clock, once
//     per batch and per wake-up; the windows never run tickers of their own
//     but tell it when to wake them next (Operator.NextWake).
//
// Records that cannot be processed never stop a pipeline: each goes to the
// dead letter with its original bytes, its source position and the reason,
// or, without a dead_letter block, is logged and counted. Counters add up
// (see Stats).
//
// Run ends in one of three ways: the bounded input ends (every window
// closes, is emitted and the sinks are closed: the output depends only on
// the input, never on timing, batch sizes or the number of workers); the
// context is canceled (intake stops, what is in flight reaches the sinks,
// windows still open are not emitted); or a fatal error (a sink or source
// failure, a parse error with on_error = "fail") stops everything and is
// returned.
package runner
