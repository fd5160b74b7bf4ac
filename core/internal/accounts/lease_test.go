package accounts

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/server"
)

// TestLeasedCallsNeverOverdraw: with credit leases, 200 concurrent calls
// against a balance covering 50 never take more than 50, slices of two
// replicas never exceed the balance, and once the slices close the ledger
// balances and the project is charged exactly what its calls used.
func TestLeasedCallsNeverOverdraw(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		const (
			calls   = 200
			covered = 50
			perCall = int64(10_000)
			used    = int64(7_500) // each call uses less than it reserved
		)
		leased := func(c *Config) { c.CreditLeases = true }
		a, _ := newService(t, e, e.open(t), leased)
		st := a.st
		if e.name == "postgres" {
			st = e.open(t)
		}
		b, _ := newService(t, e, st, leased)
		replicas := []*Service{a, b}
		ctx := ctxT(t)
		p := mustProject(t, a, "leased", covered*perCall)
		k := mustKey(t, a, server.KeyRequest{ProjectID: p.ID, Role: "member"})

		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		var mu sync.Mutex
		var holds []server.AccountHold
		errs := make(chan error, calls)
		for i := range calls {
			svc := replicas[i%2]
			wg.Go(func() {
				pr, err := svc.Authenticate(ctx, k.Plaintext)
				if err != nil {
					errs <- err
					return
				}
				h, err := svc.Reserve(ctx, pr, fmt.Sprintf("lease-%03d", i), perCall)
				switch {
				case errors.Is(err, server.ErrInsufficientCredits):
					refused.Add(1)
					return
				case err != nil:
					errs <- err
					return
				}
				ok.Add(1)
				// Settle only after every call has reserved, so no refund
				// can admit a call beyond the balance.
				mu.Lock()
				holds = append(holds, h)
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if ok.Load() > covered || ok.Load()+refused.Load() != calls {
			t.Fatalf("%d calls reserved and %d were refused against a balance covering %d", ok.Load(), refused.Load(), covered)
		}
		if ok.Load() < covered-sliceCalls {
			t.Fatalf("only %d of %d calls reserved: slices hold back too much", ok.Load(), covered)
		}
		for _, h := range holds {
			if c, err := h.Settle(ctx, used, server.UsageRecord{Provider: "openai", Model: "m"}); err != nil || c != used {
				t.Fatalf("settle: %d, %v", c, err)
			}
		}
		for _, r := range replicas {
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := a.GetProject(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := covered*perCall - ok.Load()*used; got.BalanceMicroCredits != want {
			t.Fatalf("balance %d after %d calls using %d each, want %d", got.BalanceMicroCredits, ok.Load(), used, want)
		}
	})
}

// TestLeaseSliceRefundsUnused: a slice gives back what its calls did not
// use when it closes.
func TestLeaseSliceRefundsUnused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), func(c *Config) { c.CreditLeases = true })
		ctx := ctxT(t)
		p := mustProject(t, s, "refund", 1_000_000)
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, Role: "member"})
		pr, err := s.Authenticate(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Reserve(ctx, pr, "one", 1_000)
		if err != nil {
			t.Fatal(err)
		}
		// The slice holds 32 calls' worth while it is open.
		if got, _ := s.GetProject(ctx, p.ID); got.BalanceMicroCredits != 1_000_000-sliceCalls*1_000 {
			t.Fatalf("balance with an open slice %d", got.BalanceMicroCredits)
		}
		if _, err := h.Settle(ctx, 300, server.UsageRecord{Provider: "x", Model: "y"}); err != nil {
			t.Fatal(err)
		}
		if err := s.closeAllSlices(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetProject(ctx, p.ID); got.BalanceMicroCredits != 1_000_000-300 {
			t.Fatalf("balance after the slice closed %d, want %d", got.BalanceMicroCredits, 1_000_000-300)
		}
		if err := s.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLeasePrefetchesNextSlice: once a slice is three quarters spent the
// next one is opened in the background, and the call that exhausts the
// first takes the prefetched slice instead of waiting on the store. Unused,
// it is given back when the service closes.
func TestLeasePrefetchesNextSlice(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), func(c *Config) { c.CreditLeases = true })
		ctx := ctxT(t)
		const balance, perCall, used = int64(1_000_000), int64(1_000), int64(600)
		p := mustProject(t, s, "prefetch", balance)
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, Role: "member"})
		pr, err := s.Authenticate(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		var holds []server.AccountHold
		reserve := func(i int) *leaseHold {
			t.Helper()
			h, err := s.Reserve(ctx, pr, fmt.Sprintf("call-%02d", i), perCall)
			if err != nil {
				t.Fatal(err)
			}
			holds = append(holds, h)
			return h.(*leaseHold)
		}
		balanceNow := func() int64 {
			t.Helper()
			got, err := s.GetProject(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.BalanceMicroCredits
		}
		first := reserve(0).sl.ledgerID
		for i := 1; i < sliceCalls*3/4; i++ {
			reserve(i)
		}
		if got := balanceNow(); got != balance-sliceCalls*perCall {
			t.Fatalf("balance %d before the slice ran low, want one slice held", got)
		}
		reserve(sliceCalls * 3 / 4) // leaves less than a quarter: prefetch
		// The background open writes the ledger first and only then, under
		// the lease's lock, makes the slice next: wait for the latter.
		pl := s.leases.get(p.ID)
		waitingNext := func() *slice {
			pl.mu.Lock()
			defer pl.mu.Unlock()
			return pl.next
		}
		deadline := time.Now().Add(10 * time.Second)
		next := waitingNext()
		for next == nil {
			if time.Now().After(deadline) {
				t.Fatalf("no second slice is waiting as next (balance %d)", balanceNow())
			}
			time.Sleep(5 * time.Millisecond)
			next = waitingNext()
		}
		if got := balanceNow(); got != balance-2*sliceCalls*perCall {
			t.Fatalf("balance %d with the next slice waiting, want two slices held", got)
		}
		for i := sliceCalls*3/4 + 1; i < sliceCalls; i++ {
			if id := reserve(i).sl.ledgerID; id != first {
				t.Fatalf("call %d used slice %s before the first (%s) was spent", i, id, first)
			}
		}
		if id := reserve(sliceCalls).sl.ledgerID; id != next.ledgerID {
			t.Fatalf("the call that exhausted the first slice got %s, want the prefetched %s", id, next.ledgerID)
		}
		if got := balanceNow(); got != balance-2*sliceCalls*perCall {
			t.Fatalf("balance %d: a third slice was opened", got)
		}
		for _, h := range holds {
			if _, err := h.Settle(ctx, used, server.UsageRecord{Provider: "openai", Model: "m"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := balanceNow(), balance-int64(len(holds))*used; got != want {
			t.Fatalf("balance %d after close, want %d: every slice settled or given back", got, want)
		}
		if err := s.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
