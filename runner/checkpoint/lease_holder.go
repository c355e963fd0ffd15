package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Generation returns the generation of the lease object this process
// holds.
func (l *Lease) Generation() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// Owner returns this process's entry in the lease, as last written.
func (l *Lease) Owner() Owner {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owner
}

// Lost is closed when the lease is lost (Err then says why). The runner
// stops writing to the pipeline's folder and sinks as soon as it is.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err returns why the lease was lost, an error wrapping ErrLeaseLost, or
// nil while it is held.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostErr
}

// Run keeps the lease: it renews it every Timeout/3 until ctx ends or the
// lease is released (then it returns nil), or until the lease is lost
// (then it returns Err, wrapping ErrLeaseLost, and Lost is closed). A
// renewal that fails is logged and tried again at the next tick; when the
// last successful one is more than half the timeout old (two failures in
// a row), the lease is lost, so that this process stops before another
// can take over.
func (l *Lease) Run(ctx context.Context) error {
	t := time.NewTicker(max(l.timeout/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.lost:
			return l.Err()
		case <-t.C:
		}
		err := l.Renew(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrLeaseLost):
			return err
		case ctx.Err() != nil || l.isReleased():
			return nil
		default:
			l.log.Warn("could not renew the checkpoint store lease", "pipeline", l.pipeline, "error", err.Error())
		}
	}
}

// Renew checks that no other process took the lease over and writes a
// fresh heartbeat; Run calls it every Timeout/3. An error wrapping
// ErrLeaseLost means the lease is lost (and Lost is closed); another
// error is a failed renewal, to be tried again, unless the last
// successful one is more than half the timeout old: then the lease is
// lost.
// After Release it fails.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr != nil {
		return l.lostErr
	}
	if l.released {
		return l.errorf("the lease was released")
	}
	now := l.now()
	err := l.checkHeld(ctx)
	if err == nil {
		l.owner.Heartbeat = now
		err = l.write(ctx)
	}
	switch {
	case err == nil:
		l.renewed = now
		l.deleteOlder(ctx)
		return nil
	case errors.Is(err, ErrLeaseLost):
		return l.lose(l.errorf("%w", err))
	}
	if since := now.Sub(l.renewed); since > l.timeout/2 {
		return l.lose(l.errorf("%w: not renewed for %s, the last attempt failed: %w", ErrLeaseLost, round(since), err))
	}
	return l.errorf("renewing the lease: %w", err)
}

// Check reports, without writing, whether the lease is still held: an
// error wrapping ErrLeaseLost if another process took it over (Lost is
// then closed), another error if the store could not be read. The runner
// may call it right before committing a checkpoint.
func (l *Lease) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr != nil {
		return l.lostErr
	}
	err := l.checkHeld(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrLeaseLost):
		return l.lose(l.errorf("%w", err))
	}
	return l.errorf("%w", err)
}

// Release gives the lease up at a clean stop, so that the next process
// takes over at once instead of waiting for the timeout: it marks this
// process's lease object released, unless another process took the lease
// over. Renew fails afterwards; Release again does nothing.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	if err := l.checkHeld(ctx); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			l.released = true
			return nil // taken over: the lease is not ours to release
		}
		return l.errorf("releasing the lease: %w", err)
	}
	l.owner.Released = true
	if err := l.write(ctx); err != nil {
		l.owner.Released = false
		return l.errorf("releasing the lease: %w", err)
	}
	l.released = true
	return nil
}

// isReleased reports whether Release gave the lease up.
func (l *Lease) isReleased() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released
}

// checkHeld returns an error wrapping ErrLeaseLost if a higher generation
// exists or the held generation's object is gone; another error if the
// store cannot be read.
func (l *Lease) checkHeld(ctx context.Context) error {
	objects, _, err := l.generations(ctx)
	if err != nil {
		return err
	}
	top := int64(0)
	for _, g := range objects {
		top = max(top, g)
	}
	switch {
	case top > l.gen:
		if o, err := l.read(ctx, top); err == nil {
			return fmt.Errorf("%w: taken over by %s", ErrLeaseLost, o)
		}
		return fmt.Errorf("%w: taken over by another process (generation %d)", ErrLeaseLost, top)
	case top < l.gen:
		return fmt.Errorf("%w: its lease object %s was deleted", ErrLeaseLost, l.key(l.gen))
	}
	return nil
}

// write stores this process's lease object.
func (l *Lease) write(ctx context.Context) error {
	data, err := json.Marshal(l.owner)
	if err != nil {
		return err
	}
	return l.storage.Put(ctx, l.key(l.gen), data)
}

// lose records err, which wraps ErrLeaseLost and names the store and the
// pipeline, as the reason the lease was lost, closes Lost, and returns
// err.
func (l *Lease) lose(err error) error {
	l.lostErr = err
	close(l.lost)
	return err
}
