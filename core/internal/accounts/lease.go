package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// Credit leases: a limited project's calls are reserved from slices of
// its balance that this replica holds in the store, instead of one store
// hold per call. A slice is an ordinary ledger hold, so every guarantee of
// holds carries over — the balance never goes negative, slices of all
// replicas together never exceed it, and a slice left by a replica that
// died expires and is reaped — while a call costs the request path no
// write. A slice is closed (settled with what its calls used) after
// sliceLife, once its last call has settled. The next slice is opened in
// the background while the current one runs low, so calls rarely wait for
// the store's durable write.
//
// What this trades: the visible balance lags by up to about sliceLife, a
// replica may hold up to two slices (2 × sliceCalls calls' worth) another replica
// cannot use meanwhile (so near exhaustion one replica may refuse a call
// the other could have taken — never the reverse), and a replica that dies
// without closing its slices charges nothing for their calls once the
// reaper releases them.
const (
	// sliceCalls is how many calls of the current size a slice covers.
	sliceCalls = 32
	// sliceLife is how long a slice takes new calls before it is closed.
	sliceLife = time.Second
)

// slice is one store hold being spent by this replica. Fields are guarded
// by the owning projectLease's mutex.
type slice struct {
	ledgerID    string
	size        int64 // what the store holds for it
	avail       int64 // not yet promised to a call
	consumed    int64 // charged by settled calls
	outstanding int   // calls reserved and not yet settled
	opened      time.Time
	closing     bool
}

// projectLease holds one project's open slices on this replica.
type projectLease struct {
	mu      sync.Mutex
	current *slice
	// next is opened in the background while current runs low, so that
	// the call which exhausts current does not wait for the store: a
	// slice opens with a durable ledger write (an fsync on SQLite), and
	// every call of the project waits on mu meanwhile. It takes calls
	// only once it becomes current.
	next     *slice
	fetching bool // a background open is under way
	// closing slices wait for their last call before they are settled.
	closing map[*slice]struct{}
}

type leases struct {
	mu sync.Mutex
	m  map[string]*projectLease
}

func (l *leases) get(project string) *projectLease {
	l.mu.Lock()
	defer l.mu.Unlock()
	pl := l.m[project]
	if pl == nil {
		pl = &projectLease{closing: map[*slice]struct{}{}}
		l.m[project] = pl
	}
	return pl
}

// reserveLeased promises maxMicroCredits of project to one call, opening a
// slice in the store when the current one cannot cover it.
func (s *Service) reserveLeased(ctx context.Context, project, requestID string, maxMicroCredits int64) (server.AccountHold, error) {
	pl := s.leases.get(project)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	now := s.clock()
	cur := pl.current
	if cur != nil && (now.Sub(cur.opened) >= sliceLife || cur.avail < maxMicroCredits) {
		s.retire(pl, cur)
		cur = nil
	}
	if cur == nil && pl.next != nil {
		nx := pl.next
		pl.next = nil
		if nx.avail >= maxMicroCredits {
			nx.opened = now
			pl.current, cur = nx, nx
		} else if err := s.st.Release(ctx, nx.ledgerID); err != nil && !errors.Is(err, store.ErrHoldNotFound) {
			// Too small for this call (the balance was nearly spent when it
			// opened, or this call is far larger): give it back before
			// opening one that fits, or its credits would refuse the call.
			// A failed release is left to the reaper.
			s.log.Error("releasing a prefetched credit slice failed; the reaper will return it",
				"ledger_id", nx.ledgerID, "err", err)
		}
	}
	if cur == nil {
		sl, err := s.openSlice(ctx, project, maxMicroCredits, now)
		if err != nil {
			return nil, err
		}
		pl.current, cur = sl, sl
	}
	cur.avail -= maxMicroCredits
	cur.outstanding++
	s.prefetch(pl, project, cur, maxMicroCredits, now)
	return &leaseHold{s: s, pl: pl, sl: cur, project: project, requestID: requestID, amount: maxMicroCredits, start: now}, nil
}

// prefetch opens pl's next slice in the background once cur is three
// quarters spent or three quarters through its life. The caller holds
// pl.mu.
func (s *Service) prefetch(pl *projectLease, project string, cur *slice, maxMicroCredits int64, now time.Time) {
	if pl.next != nil || pl.fetching || s.leasesClosing.Load() {
		return
	}
	if cur.avail >= cur.size/4 && now.Sub(cur.opened) < sliceLife*3/4 {
		return
	}
	pl.fetching = true
	s.slicesWG.Add(1)
	go func() {
		defer s.slicesWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// A failure is not an error here: the call that needs a slice
		// opens one itself and reports why it could not.
		sl, err := s.openSlice(ctx, project, maxMicroCredits, s.clock())
		pl.mu.Lock()
		defer pl.mu.Unlock()
		pl.fetching = false
		if err != nil {
			return
		}
		if pl.next != nil || s.leasesClosing.Load() {
			s.closeSlice(sl)
			return
		}
		pl.next = sl
	}()
}

// openSlice holds sliceCalls calls' worth in the store, or, when the
// balance cannot cover that, exactly one call's: the last credits of a
// project stay usable.
func (s *Service) openSlice(ctx context.Context, project string, maxMicroCredits int64, now time.Time) (*slice, error) {
	suffix, err := randomHex(s.rand, 8)
	if err != nil {
		return nil, classify(server.ErrBudgetUnavailable, err)
	}
	id := "lease~" + suffix
	size := maxMicroCredits * sliceCalls
	if maxMicroCredits == 0 || size/sliceCalls != maxMicroCredits {
		size = maxMicroCredits // zero-cost calls and overflow: no slack
	}
	err = s.st.Reserve(ctx, project, id, size, s.holdTTL)
	if errors.Is(err, store.ErrInsufficientCredits) && size != maxMicroCredits {
		size = maxMicroCredits
		err = s.st.Reserve(ctx, project, id, size, s.holdTTL)
	}
	switch {
	case err == nil:
		return &slice{ledgerID: id, size: size, avail: size, opened: now}, nil
	case errors.Is(err, store.ErrInsufficientCredits):
		return nil, classify(server.ErrInsufficientCredits, err)
	default:
		return nil, classify(server.ErrBudgetUnavailable, err)
	}
}

// retire stops sl taking calls; it is settled once its last call is.
// The caller holds pl.mu.
func (s *Service) retire(pl *projectLease, sl *slice) {
	if pl.current == sl {
		pl.current = nil
	}
	sl.closing = true
	if sl.outstanding == 0 {
		s.closeSlice(sl)
		return
	}
	pl.closing[sl] = struct{}{}
}

// closeSlice settles a slice's store hold with what its calls used. It
// runs off the request path; a failure leaves the hold to the reaper.
func (s *Service) closeSlice(sl *slice) {
	consumed, id := sl.consumed, sl.ledgerID
	s.slicesWG.Add(1)
	go func() {
		defer s.slicesWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		if consumed > 0 {
			var st store.Settlement
			st, err = s.st.Settle(ctx, id, consumed)
			if err == nil && st.WrittenOffMicroCredits > 0 {
				s.log.Warn("a credit slice was overspent beyond the balance; the rest is written off",
					"ledger_id", id, "written_off_micro_credits", st.WrittenOffMicroCredits)
			}
		} else {
			err = s.st.Release(ctx, id)
		}
		if err != nil && !errors.Is(err, store.ErrHoldNotFound) {
			s.log.Error("closing a credit slice failed; the reaper will return it", "ledger_id", id, "err", err)
		}
	}()
}

// rotateSlices retires slices older than sliceLife, so idle projects give
// their unused credits back promptly.
func (s *Service) rotateSlices(context.Context) {
	now := s.clock()
	s.leases.mu.Lock()
	pls := make([]*projectLease, 0, len(s.leases.m))
	for _, pl := range s.leases.m {
		pls = append(pls, pl)
	}
	s.leases.mu.Unlock()
	for _, pl := range pls {
		pl.mu.Lock()
		if cur := pl.current; cur != nil && now.Sub(cur.opened) >= sliceLife {
			s.retire(pl, cur)
		}
		if nx := pl.next; nx != nil && now.Sub(nx.opened) >= sliceLife {
			// Traffic stopped before it was needed.
			pl.next = nil
			s.retire(pl, nx)
		}
		pl.mu.Unlock()
	}
}

// closeAllSlices retires every slice at shutdown and waits for their
// settlements; calls still running keep theirs open until they settle.
func (s *Service) closeAllSlices(ctx context.Context) error {
	// A background open that finishes after this closes its own slice.
	s.leasesClosing.Store(true)
	s.leases.mu.Lock()
	for _, pl := range s.leases.m {
		pl.mu.Lock()
		if pl.current != nil {
			s.retire(pl, pl.current)
		}
		if pl.next != nil {
			s.retire(pl, pl.next)
			pl.next = nil
		}
		pl.mu.Unlock()
	}
	s.leases.mu.Unlock()
	done := make(chan struct{})
	go func() { s.slicesWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close credit slices: %w", ctx.Err())
	}
}

// leaseHold is one call's share of a slice.
type leaseHold struct {
	s         *Service
	pl        *projectLease
	sl        *slice
	project   string
	requestID string
	amount    int64
	start     time.Time

	once    sync.Once
	charged int64
}

// Settle records what the call used against its slice (0 returns its share
// whole) and writes its usage record; the store learns of it when the
// slice closes.
func (h *leaseHold) Settle(_ context.Context, microCredits int64, rec server.UsageRecord) (int64, error) {
	h.once.Do(func() {
		charged := max(microCredits, 0)
		pl, sl := h.pl, h.sl
		pl.mu.Lock()
		sl.outstanding--
		sl.consumed += charged
		if !sl.closing {
			// Unused promise goes back to the slice; usage beyond the
			// promise is taken from it (and may leave it short, which
			// closes it at the next reservation).
			sl.avail += h.amount - charged
		}
		if sl.closing && sl.outstanding == 0 {
			delete(pl.closing, sl)
			h.s.closeSlice(sl)
		}
		pl.mu.Unlock()
		h.charged = charged
		hh := hold{requestID: h.requestID, projectID: h.project, start: h.start}
		h.s.writeUsage(hh.usageRecord(rec, charged))
	})
	return h.charged, nil
}
