package store

import (
	"fmt"
	"os"
	"sync"
)

// netYield lets a long, CPU-bound task on the writer goroutine step aside
// for the network between two of its steps.
//
// With one CPU (GOMAXPROCS=1, which is how the core runs when pinned)
// Go's scheduler has no priorities and no cheap way to say "let waiting
// connections in": runtime.Gosched requeues the caller ahead of the
// network poller, which the scheduler polls only when its run queues are
// empty, and a short time.Sleep becomes a 1 ms poll when nothing else is
// runnable. Yield instead parks the caller on a pipe that a helper
// goroutine writes to: the caller is runnable again only once the
// scheduler has polled the network, so every connection that became
// ready before it (and every goroutine already queued) is served first,
// and on an idle process it returns within microseconds.
type netYield struct {
	r, w      *os.File
	poke      chan struct{}
	buf       [64]byte
	closeOnce sync.Once
}

func newNetYield() (*netYield, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("usage writer: create yield pipe: %w", err)
	}
	y := &netYield{r: r, w: w, poke: make(chan struct{})}
	go y.helper()
	return y, nil
}

func (y *netYield) helper() {
	one := []byte{0}
	broken := false
	for range y.poke {
		if broken {
			continue
		}
		if _, err := y.w.Write(one); err != nil {
			// Closing the write end makes every later Read return at
			// once (end of file): Yield degrades to a no-op, never a hang.
			_ = y.w.Close()
			broken = true
		}
	}
}

// Yield returns after the scheduler has polled the network at least once.
// Only one goroutine may call it at a time.
func (y *netYield) Yield() {
	y.poke <- struct{}{}
	_, _ = y.r.Read(y.buf[:])
}

// yieldFunc returns Yield, or nil for a nil netYield.
func (y *netYield) yieldFunc() func() {
	if y == nil {
		return nil
	}
	return y.Yield
}

// Close stops the helper. Yield must not be called after it.
func (y *netYield) Close() {
	y.closeOnce.Do(func() {
		close(y.poke)
		_ = y.w.Close()
		_ = y.r.Close()
	})
}
