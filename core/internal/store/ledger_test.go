package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newFundedProject creates a limited project holding balance micro-credits.
func newFundedProject(t *testing.T, s *Store, name string, balance int64) Project {
	t.Helper()
	ctx := ctxT(t)
	p, err := s.CreateProject(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		got, err := s.TopUp(ctx, p.ID, balance, "fund-"+p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != balance {
			t.Fatalf("balance after top-up = %d, want %d", got, balance)
		}
	}
	return p
}

func mustVerify(t *testing.T, s *Store) {
	t.Helper()
	if err := s.VerifyLedger(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerConcurrentReserveSettle(t *testing.T) {
	// THE ledger test: a balance that covers exactly 50 holds, 200
	// concurrent Reserves, then all 50 settled concurrently with random
	// actual <= hold. Exactly 50 must win, the balance must never be seen
	// negative, and the books must balance. "replicas" > 1 splits the calls
	// across independent Store handles (PostgreSQL: two connection pools,
	// like two gateway replicas; SQLite: two writers on one file).
	const (
		calls   = 200
		winners = 50
		hold    = int64(1_000_003)
		initial = winners * hold
	)
	cases := []struct {
		backend  string
		replicas int
	}{
		{"sqlite", 1},
		{"postgres", 1},
		{"postgres", 2},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/replicas=%d", tc.backend, tc.replicas), func(t *testing.T) {
			var open func(*testing.T, Options) *Store
			if tc.backend == "sqlite" {
				open = sqliteOpener(t)
			} else {
				open = postgresOpener(t)
			}
			stores := make([]*Store, tc.replicas)
			for i := range stores {
				stores[i] = open(t, Options{})
			}
			ctx := ctxT(t)
			p := newFundedProject(t, stores[0], "contended", initial)

			// Watch the balance from another pool the whole time.
			var minSeen atomic.Int64
			minSeen.Store(initial)
			stop := make(chan struct{})
			watched := make(chan struct{})
			go func() {
				defer close(watched)
				for {
					select {
					case <-stop:
						return
					default:
					}
					b, err := stores[len(stores)-1].Balance(ctx, p.ID)
					if err == nil && b < minSeen.Load() {
						minSeen.Store(b)
					}
					time.Sleep(200 * time.Microsecond)
				}
			}()

			var ok, insufficient atomic.Int64
			var other sync.Map
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := stores[i%len(stores)].Reserve(ctx, p.ID, fmt.Sprintf("req-%03d", i), hold, time.Minute)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrInsufficientCredits):
						insufficient.Add(1)
					default:
						other.Store(i, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			other.Range(func(k, v any) bool { t.Errorf("reserve %v: %v", k, v); return true })
			if ok.Load() != winners || insufficient.Load() != calls-winners {
				t.Fatalf("reserved %d, refused %d; want %d and %d", ok.Load(), insufficient.Load(), winners, calls-winners)
			}
			if b, _ := stores[0].Balance(ctx, p.ID); b != 0 {
				t.Fatalf("balance after reservations = %d, want 0", b)
			}
			mustVerify(t, stores[0])

			// Settle every hold concurrently with a random actual <= hold.
			rng := rand.New(rand.NewPCG(1, 2))
			var ids []string
			for i := range calls {
				if _, err := stores[0].GetHold(ctx, fmt.Sprintf("req-%03d", i)); err == nil {
					ids = append(ids, fmt.Sprintf("req-%03d", i))
				}
			}
			if len(ids) != winners {
				t.Fatalf("%d open holds, want %d", len(ids), winners)
			}
			actuals := make([]int64, len(ids))
			var sum int64
			for i := range actuals {
				actuals[i] = rng.Int64N(hold + 1)
				sum += actuals[i]
			}
			errs := make(chan error, len(ids))
			for i, id := range ids {
				go func() {
					st, err := stores[i%len(stores)].Settle(ctx, id, actuals[i])
					if err == nil && (st.ChargedMicroCredits != actuals[i] || st.RefundedMicroCredits != hold-actuals[i] || st.WrittenOffMicroCredits != 0) {
						err = fmt.Errorf("settlement %+v for actual %d", st, actuals[i])
					}
					errs <- err
				}()
			}
			for range ids {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			close(stop)
			<-watched
			if minSeen.Load() < 0 {
				t.Fatalf("balance seen at %d", minSeen.Load())
			}
			got, err := stores[0].Balance(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := initial - sum; got != want {
				t.Fatalf("final balance %d, want initial %d - charged %d = %d", got, initial, sum, want)
			}
			mustVerify(t, stores[0])
		})
	}
}

func TestSettleRules(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		def, err := s.EnsureDefaultProject(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name        string
			unlimited   bool
			balance     int64 // before the reservation
			hold        int64
			actual      int64
			wantCharged int64
			wantRefund  int64
			wantWrite   int64
			wantBalance int64
		}{
			{"under the hold refunds the rest", false, 1000, 400, 150, 150, 250, 0, 850},
			{"exactly the hold", false, 1000, 400, 400, 400, 0, 0, 600},
			{"zero usage refunds all", false, 1000, 400, 0, 0, 400, 0, 1000},
			{"overshoot covered by the balance", false, 1000, 400, 700, 700, 0, 0, 300},
			{"overshoot beyond the balance is written off", false, 500, 400, 900, 500, 0, 400, 0},
			{"overshoot with nothing left", false, 400, 400, 450, 400, 0, 50, 0},
			{"unlimited is charged in full", true, 0, 400, 900, 900, 0, 0, -900},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				pid := def.ID
				startBal, _ := s.Balance(ctx, pid)
				if !tc.unlimited {
					pid = newFundedProject(t, s, fmt.Sprintf("rules-%d", i), tc.balance).ID
					startBal = 0
				}
				rid := fmt.Sprintf("rules-req-%d", i)
				if err := s.Reserve(ctx, pid, rid, tc.hold, time.Minute); err != nil {
					t.Fatal(err)
				}
				st, err := s.Settle(ctx, rid, tc.actual)
				if err != nil {
					t.Fatal(err)
				}
				if st.ChargedMicroCredits != tc.wantCharged || st.RefundedMicroCredits != tc.wantRefund ||
					st.WrittenOffMicroCredits != tc.wantWrite || st.HeldMicroCredits != tc.hold || st.ProjectID != pid {
					t.Fatalf("settlement = %+v", st)
				}
				b, _ := s.Balance(ctx, pid)
				if b != startBal+tc.wantBalance {
					t.Fatalf("balance %d, want %d", b, startBal+tc.wantBalance)
				}
				entries, err := s.LedgerEntriesForRequest(ctx, rid)
				if err != nil {
					t.Fatal(err)
				}
				var sum int64
				for _, e := range entries {
					sum += e.AmountMicroCredits
					if e.AmountMicroCredits == 0 {
						t.Fatalf("zero entry %+v", e)
					}
				}
				if sum != 0 {
					t.Fatalf("entries of the request sum to %d: %+v", sum, entries)
				}
				mustVerify(t, s)
			})
		}
	})
}

func TestLedgerErrorsAndIdempotency(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC))
	forEachBackend(t, Options{Now: clk.Now}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p := newFundedProject(t, s, "idem", 1000)
		if err := s.Reserve(ctx, p.ID, "r1", 100, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Reserve(ctx, p.ID, "r2", 100, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Settle(ctx, "r1", 60); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, "r2"); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name    string
			do      func() error
			wantErr error
		}{
			{"settle twice", func() error { _, err := s.Settle(ctx, "r1", 60); return err }, ErrHoldNotFound},
			{"release after settle", func() error { return s.Release(ctx, "r1") }, ErrHoldNotFound},
			{"release twice", func() error { return s.Release(ctx, "r2") }, ErrHoldNotFound},
			{"settle after release", func() error { _, err := s.Settle(ctx, "r2", 10); return err }, ErrHoldNotFound},
			{"settle unknown", func() error { _, err := s.Settle(ctx, "ghost", 10); return err }, ErrHoldNotFound},
			{"reuse a closed request id", func() error { return s.Reserve(ctx, p.ID, "r1", 10, time.Minute) }, ErrDuplicateRequest},
			{"unknown project", func() error { return s.Reserve(ctx, "prj_ghost", "r3", 10, time.Minute) }, ErrNotFound},
			{"negative amount", func() error { return s.Reserve(ctx, p.ID, "r4", -1, time.Minute) }, ErrInvalidArgument},
			{"empty request id", func() error { return s.Reserve(ctx, p.ID, "", 1, time.Minute) }, ErrInvalidArgument},
			{"no ttl", func() error { return s.Reserve(ctx, p.ID, "r5", 1, 0) }, ErrInvalidArgument},
			{"negative actual", func() error { _, err := s.Settle(ctx, "r1", -5); return err }, ErrInvalidArgument},
			{"more than the balance", func() error { return s.Reserve(ctx, p.ID, "r6", 941, time.Minute) }, ErrInsufficientCredits},
			{"top-up replay", func() error { _, err := s.TopUp(ctx, p.ID, 1000, "fund-"+p.ID); return err }, ErrDuplicateRequest},
			{"top-up zero", func() error { _, err := s.TopUp(ctx, p.ID, 0, ""); return err }, ErrInvalidArgument},
			{"top-up unknown project", func() error { _, err := s.TopUp(ctx, "prj_ghost", 5, ""); return err }, ErrNotFound},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.do(); !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			})
		}
		// Open hold with the same id: the primary key refuses it.
		if err := s.Reserve(ctx, p.ID, "r7", 10, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Reserve(ctx, p.ID, "r7", 10, time.Minute); !errors.Is(err, ErrDuplicateRequest) {
			t.Fatalf("duplicate open hold err = %v", err)
		}
		if b, _ := s.Balance(ctx, p.ID); b != 1000-60-10 {
			t.Fatalf("balance = %d, want %d (failed calls must change nothing)", b, 1000-60-10)
		}
		if _, err := s.Balance(ctx, "prj_ghost"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Balance unknown err = %v", err)
		}
		mustVerify(t, s)
	})
}

func TestConcurrentClosersOfOneHold(t *testing.T) {
	// Settle, Release and the reaper race for each hold: exactly one wins.
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p := newFundedProject(t, s, "closers", 100_000)
		for i := range 20 {
			rid := fmt.Sprintf("c-%d", i)
			if err := s.Reserve(ctx, p.ID, rid, 1000, time.Nanosecond); err != nil {
				t.Fatal(err)
			}
			var wins atomic.Int64
			var wg sync.WaitGroup
			closers := []func() error{
				func() error { _, err := s.Settle(ctx, rid, 700); return err },
				func() error { return s.Release(ctx, rid) },
				func() error {
					n, err := s.ReapExpired(ctx, time.Now().Add(time.Hour))
					if err == nil && n == 0 {
						return ErrHoldNotFound
					}
					return err
				},
			}
			for _, c := range closers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch err := c(); {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, ErrHoldNotFound):
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("hold %s closed %d times", rid, wins.Load())
			}
		}
		mustVerify(t, s)
	})
}

func TestReapExpired(t *testing.T) {
	base := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	clk := newFakeClock(base)
	forEachBackend(t, Options{Now: clk.Now}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		clk.Set(base)
		p := newFundedProject(t, s, "reap", 10_000)
		def, _ := s.EnsureDefaultProject(ctx)
		// Expiries a fraction of a second apart check that times compare
		// as instants (SQLite keeps them as text).
		holds := []struct {
			rid string
			pid string
			ttl time.Duration
		}{
			{"e-0.5s", p.ID, 500 * time.Millisecond},
			{"e-1s", p.ID, time.Second},
			{"e-1.25s", def.ID, 1250 * time.Millisecond},
			{"e-2s", p.ID, 2 * time.Second},
			{"e-1h", p.ID, time.Hour},
		}
		for _, h := range holds {
			if err := s.Reserve(ctx, h.pid, h.rid, 1000, h.ttl); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			now       time.Duration
			want      int
			stillOpen []string
		}{
			{400 * time.Millisecond, 0, []string{"e-0.5s", "e-1s", "e-1.25s", "e-2s", "e-1h"}},
			{500 * time.Millisecond, 0, []string{"e-0.5s"}}, // expires_at < now, strictly
			{1100 * time.Millisecond, 2, []string{"e-1.25s", "e-2s", "e-1h"}},
			{1300 * time.Millisecond, 1, []string{"e-2s", "e-1h"}},
			{1300 * time.Millisecond, 0, []string{"e-2s", "e-1h"}},
			{3 * time.Second, 1, []string{"e-1h"}},
		}
		for _, st := range steps {
			n, err := s.ReapExpired(ctx, base.Add(st.now))
			if err != nil {
				t.Fatal(err)
			}
			if n != st.want {
				t.Fatalf("reap at +%s released %d, want %d", st.now, n, st.want)
			}
			for _, rid := range st.stillOpen {
				if _, err := s.GetHold(ctx, rid); err != nil {
					t.Fatalf("after reap at +%s: hold %s: %v", st.now, rid, err)
				}
			}
		}
		if b, _ := s.Balance(ctx, p.ID); b != 10_000-1000 {
			t.Fatalf("balance = %d, want only the 1h hold still out", b)
		}
		// A reaped hold is closed: settling it is a no-op.
		if _, err := s.Settle(ctx, "e-1s", 10); !errors.Is(err, ErrHoldNotFound) {
			t.Fatalf("settle after reap err = %v", err)
		}
		es, _ := s.LedgerEntriesForRequest(ctx, "e-1s")
		kinds := map[EntryKind]int{}
		for _, e := range es {
			kinds[e.Kind]++
		}
		if len(es) != 4 || kinds[KindReserve] != 2 || kinds[KindExpire] != 2 {
			t.Fatalf("entries of a reaped hold = %+v", es)
		}
		mustVerify(t, s)
	})
}

func TestReapManyExpired(t *testing.T) {
	// More than one reap batch.
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p := newFundedProject(t, s, "many", 1_000_000)
		n := reapBatch*2 + 7
		for i := range n {
			if err := s.Reserve(ctx, p.ID, fmt.Sprintf("m-%d", i), 10, time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.ReapExpired(ctx, time.Now().Add(time.Minute))
		if err != nil || got != n {
			t.Fatalf("ReapExpired = %d, %v; want %d", got, err, n)
		}
		if b, _ := s.Balance(ctx, p.ID); b != 1_000_000 {
			t.Fatalf("balance = %d", b)
		}
		mustVerify(t, s)
	})
}

func TestVerifyLedgerDetectsTampering(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p := newFundedProject(t, s, "tamper", 500)
		if err := s.Reserve(ctx, p.ID, "t1", 100, time.Minute); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, s)
		tampers := []struct {
			name string
			sql  string
			args []any
		}{
			{"balance edited", "UPDATE projects SET balance_micro_credits = balance_micro_credits + 1 WHERE id = ?", []any{p.ID}},
			{"hold amount edited", "UPDATE holds SET amount_micro_credits = 99 WHERE request_id = ?", []any{"t1"}},
			{"entry deleted", "DELETE FROM ledger_entries WHERE account = ?", []any{AccountTopUp}},
		}
		for _, tc := range tampers {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.wdb.WithContext(ctx).Exec(tc.sql, tc.args...).Error; err != nil {
					t.Fatal(err)
				}
				var le *LedgerError
				if err := s.VerifyLedger(ctx); !errors.As(err, &le) || len(le.Problems) == 0 {
					t.Fatalf("VerifyLedger = %v, want a *LedgerError", err)
				}
			})
		}
	})
}

func TestBalanceNeverNegativeConstraint(t *testing.T) {
	// The schema itself refuses a negative limited balance, whatever the
	// application does.
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p := newFundedProject(t, s, "check", 10)
		err := s.wdb.WithContext(ctx).Exec("UPDATE projects SET balance_micro_credits = -1 WHERE id = ?", p.ID).Error
		if err == nil {
			t.Fatal("negative balance accepted by the schema")
		}
	})
}

func BenchmarkReserveSettleSQLite(b *testing.B) {
	ctx := context.Background()
	s := openBenchStore(b)
	p, err := s.CreateProject(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.TopUp(ctx, p.ID, 1<<60, ""); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rid := fmt.Sprintf("b-%d", n.Add(1))
			if err := s.Reserve(ctx, p.ID, rid, 1000, time.Minute); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Settle(ctx, rid, 600); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
