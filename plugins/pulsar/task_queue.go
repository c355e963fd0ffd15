package pulsar

import (
	"sync"

	pulsarapi "github.com/apache/pulsar-client-go/pulsar"
)

// taskQueue holds the messages of one task between the demux and the
// task's reader, without bound: the demux never waits for a task, so
// that every message the client received before this process lost a
// partition is taken off the client (and tagged with its period) at once,
// and a message received in an earlier ownership can never pass for one of
// a later ownership. While a task has no reader (it waits for the previous
// owner's lease) its messages accumulate here: the memory they take is
// bounded by the messages the broker sends in that time.
//
// out is buffered, so that the pump runs ahead of the reader and a Read
// takes every message already queued, not one per hand-over.
type taskQueue struct {
	out chan pulsarapi.ConsumerMessage // what the reader receives

	mu   sync.Mutex
	buf  []pulsarapi.ConsumerMessage
	wake chan struct{} // capacity 1: buf gained a message
}

// newTaskQueue returns a queue whose out channel holds up to size messages.
func newTaskQueue(size int) *taskQueue {
	return &taskQueue{out: make(chan pulsarapi.ConsumerMessage, size), wake: make(chan struct{}, 1)}
}

// push appends cm; it never blocks.
func (q *taskQueue) push(cm pulsarapi.ConsumerMessage) {
	q.mu.Lock()
	q.buf = append(q.buf, cm)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pump hands the messages to out in order until done is closed.
func (q *taskQueue) pump(done <-chan struct{}) {
	for {
		q.mu.Lock()
		if len(q.buf) == 0 {
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-done:
				return
			}
		}
		cm := q.buf[0]
		q.buf[0] = pulsarapi.ConsumerMessage{}
		q.buf = q.buf[1:]
		if len(q.buf) == 0 {
			q.buf = nil // let a large backlog's array go
		}
		q.mu.Unlock()
		select {
		case q.out <- cm:
		case <-done:
			return
		}
	}
}
