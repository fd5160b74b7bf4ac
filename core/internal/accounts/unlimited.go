package accounts

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// Unlimited projects (the built-in default one, and any an operator marks
// so) can never be refused for lack of credits, so a hold buys them
// nothing but two synchronous writes per call. Their calls skip the hold;
// the charge is queued and written in batches, like usage records.
//
// What a crash can lose: the charges queued since the last flush (at most
// chargeFlushEvery, or chargeBatch charges), and on a power loss the last
// batches written (their commits do not wait for the disk; see
// store.ChargeUnlimited). Their usage records are lost the same way; a
// limited project's money is never at risk from this.
const (
	chargeBatch      = 100
	chargeFlushEvery = 100 * time.Millisecond
	chargeQueue      = 10_000
	// limitsTTL bounds how long a change of a project's unlimited flag
	// takes to be seen.
	limitsTTL = 30 * time.Second
)

// charger batches unlimited projects' charges.
type charger struct {
	st    *store.Store
	queue chan store.Charge
	// flushReq asks the loop to flush now and reports when done.
	flushReq  chan chan error
	done      chan struct{}
	closeOnce sync.Once
	onDrop    func(int)
	log       func(msg string, args ...any)
	// failing is set while the last write failed: unlimited calls are then
	// refused like limited ones, so a store outage is not spent through.
	failing atomic.Bool
}

func newCharger(st *store.Store, onDrop func(int), log func(string, ...any)) *charger {
	c := &charger{st: st, queue: make(chan store.Charge, chargeQueue), flushReq: make(chan chan error),
		done: make(chan struct{}), onDrop: onDrop, log: log}
	go c.loop()
	return c
}

// add queues a charge without blocking; a full queue drops it (counted).
func (c *charger) add(ch store.Charge) {
	select {
	case c.queue <- ch:
	default:
		c.onDrop(1)
		c.log("charge queue full; an unlimited project's charge is dropped", "project", ch.ProjectID)
	}
}

func (c *charger) loop() {
	defer close(c.done)
	t := time.NewTicker(chargeFlushEvery)
	defer t.Stop()
	batch := make([]store.Charge, 0, chargeBatch)
	write := func() error {
		if len(batch) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.st.ChargeUnlimited(ctx, batch)
		c.failing.Store(err != nil)
		if err != nil {
			c.onDrop(len(batch))
			c.log("recording charges failed; they are dropped", "charges", len(batch), "err", err)
		}
		batch = batch[:0]
		return err
	}
	for {
		select {
		case ch, ok := <-c.queue:
			if !ok {
				_ = write()
				return
			}
			batch = append(batch, ch)
			if len(batch) >= chargeBatch {
				_ = write()
			}
		case <-t.C:
			_ = write()
		case reply := <-c.flushReq:
			// Drain what is queued now, then write it.
			for n := len(c.queue); n > 0; n-- {
				batch = append(batch, <-c.queue)
			}
			reply <- write()
		}
	}
}

// close writes everything queued and stops the loop.
func (c *charger) close() {
	c.closeOnce.Do(func() { close(c.queue) })
	<-c.done
}

// flush writes everything queued so far (tests, and readers that want the
// ledger current).
func (c *charger) flush() error {
	reply := make(chan error, 1)
	select {
	case c.flushReq <- reply:
		return <-reply
	case <-c.done:
		return nil
	}
}

// limits caches which projects are unlimited.
type limits struct {
	mu sync.Mutex
	m  map[string]limitEntry
}

type limitEntry struct {
	unlimited bool
	at        time.Time
}

// unlimited reports whether projectID is unlimited, reading the store at
// most once per limitsTTL per project.
func (s *Service) unlimited(ctx context.Context, projectID string) (bool, error) {
	if projectID == s.defaultProject {
		return true, nil
	}
	now := s.clock()
	s.limits.mu.Lock()
	e, ok := s.limits.m[projectID]
	s.limits.mu.Unlock()
	if ok && now.Sub(e.at) < limitsTTL {
		return e.unlimited, nil
	}
	p, err := s.st.GetProject(ctx, projectID)
	if err != nil {
		return false, err
	}
	s.limits.mu.Lock()
	s.limits.m[projectID] = limitEntry{unlimited: p.Unlimited, at: now}
	s.limits.mu.Unlock()
	return p.Unlimited, nil
}

// unlimitedHold settles a call of an unlimited project: the charge is
// queued, never refused.
type unlimitedHold struct {
	s         *Service
	requestID string
	projectID string
	start     time.Time

	once    sync.Once
	charged int64
}

func (h *unlimitedHold) Settle(_ context.Context, microCredits int64, rec server.UsageRecord) (int64, error) {
	h.once.Do(func() {
		if microCredits > 0 {
			id, err := randomHex(h.s.rand, 8)
			if err != nil {
				h.s.log.Error("cannot make a ledger id; the charge is dropped", "request_id", h.requestID, "err", err)
				h.s.onDropped(1)
			} else {
				h.s.charges.add(store.Charge{ProjectID: h.projectID, LedgerID: h.requestID + "~" + id, MicroCredits: microCredits})
				h.charged = microCredits
			}
		}
		hh := hold{requestID: h.requestID, projectID: h.projectID, start: h.start}
		h.s.writeUsage(hh.usageRecord(rec, h.charged))
	})
	return h.charged, nil
}
