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

// TestLedgerConcurrentCalls is the ledger test through the service: a
// balance that covers exactly 50 calls, 200 concurrent calls, on two
// replicas (two Services on two connection pools) sharing the database.
func TestLedgerConcurrentCalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		const (
			calls    = 200
			covered  = 50
			perCall  = int64(12_345)
			openings = covered * perCall
		)
		replicas := []*Service{}
		a, _ := newService(t, e, e.open(t), nil)
		replicas = append(replicas, a)
		if e.name == "postgres" {
			// SQLite supports one writing process; PostgreSQL is where
			// replicas share a database.
			b, _ := newService(t, e, e.open(t), nil)
			replicas = append(replicas, b)
		} else {
			// A second Service on the same store still has its own cache
			// and usage writer.
			b, _ := newService(t, e, a.st, nil)
			replicas = append(replicas, b)
		}
		ctx := ctxT(t)
		p := mustProject(t, a, "fifty-calls", openings)
		k := mustKey(t, a, server.KeyRequest{ProjectID: p.ID, Role: "member"})

		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		for i := range calls {
			svc := replicas[i%len(replicas)]
			wg.Go(func() {
				pr, err := svc.Authenticate(ctx, k.Plaintext)
				if err != nil {
					errs <- err
					return
				}
				reqID := fmt.Sprintf("req-%03d", i)
				h, err := svc.Reserve(ctx, pr, reqID, perCall)
				switch {
				case errors.Is(err, server.ErrInsufficientCredits):
					refused.Add(1)
					return
				case err != nil:
					errs <- err
					return
				}
				charged, err := h.Settle(ctx, perCall, server.UsageRecord{RequestID: reqID, ProjectID: pr.Project,
					KeyID: pr.KeyID, Provider: "openai", Model: "gpt-4o-mini", Status: "ok", Attempts: 1})
				if err != nil || charged != perCall {
					errs <- fmt.Errorf("settle %s: charged %d, %v", reqID, charged, err)
					return
				}
				ok.Add(1)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if ok.Load() != covered || refused.Load() != calls-covered {
			t.Fatalf("%d calls succeeded and %d were refused, want %d and %d", ok.Load(), refused.Load(), covered, calls-covered)
		}
		if err := a.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := a.GetProject(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.BalanceMicroCredits != 0 {
			t.Fatalf("balance %d, want 0", got.BalanceMicroCredits)
		}
		for _, r := range replicas {
			if err := r.usage.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sum, err := a.UsageSummary(ctx, server.UsageFilter{ProjectIDs: []string{p.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Requests != covered || sum.TotalMicroCredits != openings {
			t.Fatalf("usage summary %+v, want %d requests costing %d", sum, covered, openings)
		}
	})
}

func TestSettleOutcomes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		var dropped atomic.Int64
		s, _ := newService(t, e, e.open(t), func(c *Config) {
			c.OnUsageDropped = func(n int) { dropped.Add(int64(n)) }
		})
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 10_000)
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID})
		pr, err := s.Authenticate(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name        string
			reserve     int64
			charge      int64
			rec         server.UsageRecord
			wantCharged int64
			wantBalance int64
		}{
			{"success charges usage and refunds the rest", 1_000, 400,
				server.UsageRecord{Provider: "openai", Model: "gpt-4o", Status: "ok", Attempts: 1, InputTokens: 10, OutputTokens: 5}, 400, 9_600},
			{"failure with nothing to charge releases the hold", 1_000, 0,
				server.UsageRecord{Provider: "openai", Model: "gpt-4o", Status: "upstream_error", Attempts: 3}, 0, 9_600},
			{"fallback success records its attempts", 1_000, 700,
				server.UsageRecord{Provider: "anthropic", Model: "claude-sonnet", Status: "ok", Attempts: 2, OutputTokens: 7}, 700, 8_900},
			{"overshoot is charged as far as the balance goes", 8_000, 9_500,
				server.UsageRecord{Provider: "openai", Model: "gpt-4o", Status: "ok", Attempts: 1}, 8_900, 0},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				reqID := fmt.Sprintf("call-%d", i)
				h, err := s.Reserve(ctx, pr, reqID, tt.reserve)
				if err != nil {
					t.Fatal(err)
				}
				rec := tt.rec
				rec.RequestID, rec.ProjectID, rec.KeyID = reqID, pr.Project, pr.KeyID
				charged, err := h.Settle(ctx, tt.charge, rec)
				if err != nil || charged != tt.wantCharged {
					t.Fatalf("settle: charged %d, %v; want %d", charged, err, tt.wantCharged)
				}
				// Settling again is a no-op that reports the same charge.
				again, err := h.Settle(ctx, tt.charge, rec)
				if err != nil || again != charged {
					t.Fatalf("second settle: %d, %v", again, err)
				}
				if bal, _ := s.st.Balance(ctx, p.ID); bal != tt.wantBalance {
					t.Fatalf("balance %d, want %d", bal, tt.wantBalance)
				}
				if err := s.usage.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				recs, err := s.st.UsageRecordsForRequest(ctx, reqID)
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != 1 {
					t.Fatalf("%d usage records, want 1", len(recs))
				}
				r := recs[0]
				if r.ChargedMicroCredits != tt.wantCharged || r.Status != tt.rec.Status || r.Attempts != tt.rec.Attempts ||
					r.Provider != tt.rec.Provider || r.KeyID != k.ID || r.ProjectID != p.ID || !r.Time.Equal(e.clock.Now()) {
					t.Fatalf("usage record %+v", r)
				}
			})
		}
		if err := s.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
		sum, err := s.UsageSummary(ctx, server.UsageFilter{ProjectIDs: []string{p.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Requests != 4 || sum.Errors != 1 || sum.TotalMicroCredits != 10_000 || len(sum.ByProvider) != 2 || len(sum.ByModel) != 2 {
			t.Fatalf("summary %+v", sum)
		}
		if sum.ByModel[0].Key != "openai/gpt-4o" {
			t.Fatalf("by model %+v", sum.ByModel)
		}
		series, err := s.UsageSeries(ctx, server.UsageFilter{ProjectIDs: []string{p.ID}, GroupBy: "provider"})
		if err != nil || len(series) != 2 || series[0].Key != "openai" || series[0].MicroCredits != 9_300 {
			t.Fatalf("series %+v, %v", series, err)
		}
		days, err := s.UsageSeries(ctx, server.UsageFilter{ProjectIDs: []string{p.ID}})
		if err != nil || len(days) != 1 || days[0].Key != e.clock.Now().Format("2006-01-02") || days[0].Requests != 4 {
			t.Fatalf("daily series %+v, %v", days, err)
		}
		_, err = s.UsageSeries(ctx, server.UsageFilter{GroupBy: "week"})
		wantErr(t, "bad group by", err, server.ErrInvalid)
		if dropped.Load() != 0 {
			t.Fatalf("%d usage records dropped", dropped.Load())
		}
	})
}

func TestReserveRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 100)
		member := &server.Principal{Project: p.ID, Role: "member"}
		tests := []struct {
			name string
			p    *server.Principal
			max  int64
			err  error
		}{
			{"more than the balance", member, 101, server.ErrInsufficientCredits},
			{"unknown project fails closed", &server.Principal{Project: "prj_gone"}, 1, server.ErrBudgetUnavailable},
			{"no project", &server.Principal{}, 1, server.ErrBudgetUnavailable},
			{"no principal", nil, 1, server.ErrBudgetUnavailable},
			{"negative amount", member, -1, server.ErrBudgetUnavailable},
			{"exactly the balance", member, 100, nil},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Reserve(ctx, tt.p, fmt.Sprintf("r%d", i), tt.max)
				wantErr(t, "reserve", err, tt.err)
			})
		}
		// The bootstrap admin bills to the unlimited default project.
		admin, err := s.Authenticate(ctx, testAdminKey)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Reserve(ctx, admin, "boot-1", 1_000_000_000)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := h.Settle(ctx, 5, server.UsageRecord{Provider: "x", Model: "y"}); err != nil || c != 5 {
			t.Fatalf("settle on default: %d, %v", c, err)
		}
		// Unlimited projects' charges are written in batches.
		if err := s.charges.flush(); err != nil {
			t.Fatal(err)
		}
		def, err := s.GetProject(ctx, "default")
		if err != nil || !def.Unlimited || def.BalanceMicroCredits != -5 {
			t.Fatalf("default project %+v, %v", def, err)
		}
	})
}

func TestReserveReusedRequestID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 1_000)
		pr := &server.Principal{Project: p.ID, Role: "member"}
		// A client that sends the same X-Request-ID twice, even while the
		// first call is in flight, is served twice and billed twice.
		h1, err := s.Reserve(ctx, pr, "client-id", 100)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := s.Reserve(ctx, pr, "client-id", 100)
		if err != nil {
			t.Fatalf("reused request id: %v", err)
		}
		for _, h := range []server.AccountHold{h1, h2} {
			if _, err := h.Settle(ctx, 100, server.UsageRecord{Provider: "p", Model: "m"}); err != nil {
				t.Fatal(err)
			}
		}
		if bal, _ := s.st.Balance(ctx, p.ID); bal != 800 {
			t.Fatalf("balance %d, want 800", bal)
		}
		if err := s.usage.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := s.st.UsageRecordsForRequest(ctx, "client-id")
		if err != nil || len(recs) != 2 {
			t.Fatalf("usage under the client's id: %d, %v", len(recs), err)
		}
		if err := s.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHoldExpiryReaped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, logs := newService(t, e, e.open(t), func(c *Config) { c.HoldTTL = time.Minute })
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 500)
		pr := &server.Principal{Project: p.ID, Role: "member"}
		h, err := s.Reserve(ctx, pr, "crashed", 500)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Reserve(ctx, pr, "next", 1)
		wantErr(t, "balance held", err, server.ErrInsufficientCredits)

		s.reap(ctx) // not expired yet
		if bal, _ := s.st.Balance(ctx, p.ID); bal != 0 {
			t.Fatalf("balance %d before expiry, want 0", bal)
		}
		e.clock.Advance(time.Minute + time.Second)
		s.reap(ctx)
		if bal, _ := s.st.Balance(ctx, p.ID); bal != 500 {
			t.Fatalf("balance %d after reaping, want 500", bal)
		}
		if !containsAll(logs.String(), "expired credit holds") {
			t.Fatalf("no log line about reaping:\n%s", logs)
		}
		// A late settle finds the hold gone: nothing charged, no error.
		charged, err := h.Settle(ctx, 500, server.UsageRecord{Provider: "p", Model: "m"})
		if err != nil || charged != 0 {
			t.Fatalf("late settle: %d, %v", charged, err)
		}
		if bal, _ := s.st.Balance(ctx, p.ID); bal != 500 {
			t.Fatalf("balance %d after the late settle, want 500", bal)
		}
		if err := s.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRunStopsWithContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), func(c *Config) {
			c.KeyRotationInterval = time.Hour
			c.UsageRetention = time.Hour
		})
		ctx, cancel := contextWithCancel(t)
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		// Run's first pass runs every job once; then it waits for ticks.
		time.Sleep(100 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})
}

func TestTopUpIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		a := mustProject(t, s, "a", 0)
		b := mustProject(t, s, "b", 0)
		steps := []struct {
			name    string
			project string
			amount  int64
			reqID   string
			want    int64
			err     error
		}{
			{"first", a.ID, 1_000, "topup:k1", 1_000, nil},
			{"retry adds nothing", a.ID, 1_000, "topup:k1", 1_000, nil},
			{"same key on another project applies", b.ID, 300, "topup:k1", 300, nil},
			{"new key", a.ID, 500, "topup:k2", 1_500, nil},
			{"no key is never deduplicated", a.ID, 1, "", 1_501, nil},
			{"again without key", a.ID, 1, "", 1_502, nil},
			{"zero", a.ID, 0, "topup:k3", 0, server.ErrInvalid},
			{"unknown project", "prj_missing", 1, "topup:k4", 0, server.ErrNotFound},
		}
		for _, st := range steps {
			got, err := s.TopUp(ctx, st.project, st.amount, st.reqID)
			wantErr(t, st.name, err, st.err)
			if err == nil && got != st.want {
				t.Fatalf("%s: balance %d, want %d", st.name, got, st.want)
			}
		}
		if err := s.st.VerifyLedger(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
