package ratelimit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend builds a fresh, empty Limiter and a way to let time pass for it:
// a fake clock for memory, real sleeping for Redis (whose clock is the
// server's).
type backend struct {
	name string
	new  func(t *testing.T) (Limiter, func(time.Duration))
}

func backends() []backend {
	return []backend{
		{name: "memory", new: func(t *testing.T) (Limiter, func(time.Duration)) {
			clock := newFakeClock()
			return NewMemory(clock.Now), clock.Advance
		}},
		{name: "redis", new: func(t *testing.T) (Limiter, func(time.Duration)) {
			client := newTestRedisClient(t)
			return NewRedis(client, testPrefix(t, client)), time.Sleep
		}},
	}
}

func perHour(key string, rate, cost int) Check {
	return Check{Key: key, Cost: cost, Limit: Limit{Name: NameHour, Rate: rate, Period: time.Hour}}
}

func perMinute(key string, rate, cost int) Check {
	return Check{Key: key, Cost: cost, Limit: Limit{Name: NameMinute, Rate: rate, Period: time.Minute}}
}

func tokensPerMinute(key string, rate, cost int) Check {
	return Check{Key: key, Cost: cost, Limit: Limit{Name: NameTokensMinute, Rate: rate, Period: time.Minute}}
}

// approx reports whether got is within [want-slack, want]: Redis's clock
// moves between calls, so durations it reports shrink slightly.
func approx(got, want, slack time.Duration) bool {
	return got <= want && got >= want-slack
}

func mustAllow(t *testing.T, l Limiter, checks ...Check) Result {
	t.Helper()
	res, err := l.Allow(context.Background(), checks...)
	if err != nil {
		t.Fatalf("Allow: %v", err)
	}
	return res
}

func TestLimiterContract(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			cases := []struct {
				name string
				run  func(t *testing.T, l Limiter, advance func(time.Duration))
			}{
				{"remaining counts down then denies", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					for want := 4; want >= 0; want-- {
						res := mustAllow(t, l, perHour("key:a", 5, 1))
						if !res.Allowed || res.Remaining != want || res.Limit != 5 || res.LimitName != NameHour || res.Key != "key:a" {
							t.Fatalf("got %+v, want allowed with remaining %d of 5", res, want)
						}
						if res.RetryAfter != 0 {
							t.Fatalf("allowed result has RetryAfter %v", res.RetryAfter)
						}
					}
					res := mustAllow(t, l, perHour("key:a", 5, 1))
					if res.Allowed || res.Remaining != 0 {
						t.Fatalf("sixth request: got %+v, want denied", res)
					}
					// One unit of 5/hour comes back every 12 minutes.
					if !approx(res.RetryAfter, 12*time.Minute, time.Second) {
						t.Fatalf("RetryAfter = %v, want about 12m", res.RetryAfter)
					}
					if !approx(res.ResetAfter, time.Hour, time.Second) {
						t.Fatalf("ResetAfter = %v, want about 1h", res.ResetAfter)
					}
				}},
				{"bucket refills after reset", func(t *testing.T, l Limiter, advance func(time.Duration)) {
					// One unit returns every second: a stalled round trip
					// between the requests must not refill the bucket.
					c := Check{Key: "key:r", Cost: 1, Limit: Limit{Name: "short", Rate: 3, Period: 3 * time.Second}}
					var last Result
					for range 3 {
						last = mustAllow(t, l, c)
					}
					if res := mustAllow(t, l, c); res.Allowed {
						t.Fatalf("fourth request allowed: %+v", res)
					}
					advance(last.ResetAfter + 10*time.Millisecond)
					res := mustAllow(t, l, c)
					if !res.Allowed || res.Remaining != 2 {
						t.Fatalf("after reset got %+v, want allowed with 2 remaining", res)
					}
				}},
				{"token cost above one", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					// Per hour rather than per minute so that Redis's real
					// clock refills nothing (one token per 3.6 s) while the
					// test runs.
					tokens := func(cost int) Check {
						return Check{Key: "key:t", Cost: cost, Limit: Limit{Name: "tokens_hour", Rate: 1000, Period: time.Hour}}
					}
					steps := []struct {
						cost      int
						allowed   bool
						remaining int
					}{{400, true, 600}, {400, true, 200}, {400, false, 200}, {200, true, 0}}
					for i, s := range steps {
						res := mustAllow(t, l, tokens(s.cost))
						if res.Allowed != s.allowed || res.Remaining != s.remaining {
							t.Fatalf("step %d (cost %d): got %+v, want allowed=%v remaining=%d", i, s.cost, res, s.allowed, s.remaining)
						}
						if !s.allowed && !approx(res.RetryAfter, 12*time.Minute, time.Second) {
							// 200 missing tokens at 1000/h = 12 min.
							t.Fatalf("step %d: RetryAfter = %v, want about 12m", i, res.RetryAfter)
						}
					}
				}},
				{"cost above rate is oversize", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					res := mustAllow(t, l, tokensPerMinute("key:o", 1000, 1001), perMinute("key:o", 10, 1))
					if res.Allowed || !res.Oversize || res.LimitName != NameTokensMinute || res.Remaining != 1000 {
						t.Fatalf("got %+v, want oversize denial on tokens_minute", res)
					}
					if res := mustAllow(t, l, perMinute("key:o", 10, 0)); res.Remaining != 10 {
						t.Fatalf("oversize denial consumed request quota: %+v", res)
					}
				}},
				{"rate zero disables", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					for range 3 {
						res := mustAllow(t, l, perMinute("key:z", 0, 1), perHour("key:z", 0, 1))
						if !res.Allowed || res.Limit != 0 || res.LimitName != "" {
							t.Fatalf("got %+v, want allowed with no limit", res)
						}
					}
					res := mustAllow(t, l, perMinute("key:z", 0, 1), perHour("key:z", 2, 1))
					if !res.Allowed || res.LimitName != NameHour || res.Remaining != 1 {
						t.Fatalf("got %+v, want the enabled hour limit reported", res)
					}
					if res := mustAllow(t, l); !res.Allowed || res.Limit != 0 {
						t.Fatalf("no checks: got %+v", res)
					}
				}},
				{"keys are independent", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					mustAllow(t, l, perMinute("key:a", 1, 1))
					if res := mustAllow(t, l, perMinute("key:a", 1, 1)); res.Allowed {
						t.Fatalf("key:a second request allowed: %+v", res)
					}
					if res := mustAllow(t, l, perMinute("key:b", 1, 1)); !res.Allowed {
						t.Fatalf("key:b denied by key:a's usage: %+v", res)
					}
					// Same key, different limit name: separate bucket.
					if res := mustAllow(t, l, perHour("key:a", 1, 1)); !res.Allowed {
						t.Fatalf("key:a hour bucket shared with minute bucket: %+v", res)
					}
				}},
				{"most restrictive limit is reported", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					res := mustAllow(t, l, perMinute("key:m", 10, 1), perHour("key:m", 3, 1), perMinute("project:p", 100, 1))
					if !res.Allowed || res.LimitName != NameHour || res.Key != "key:m" || res.Remaining != 2 || res.Limit != 3 {
						t.Fatalf("got %+v, want hour limit with 2 remaining", res)
					}
				}},
				{"denial consumes no other quota", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					checks := []Check{perMinute("key:d", 10, 1), perHour("key:d", 2, 1), perMinute("project:d", 5, 1)}
					mustAllow(t, l, checks...)
					mustAllow(t, l, checks...)
					for range 3 {
						res := mustAllow(t, l, checks...)
						if res.Allowed || res.LimitName != NameHour {
							t.Fatalf("got %+v, want denial by the hour limit", res)
						}
					}
					peek := []Check{perMinute("key:d", 10, 0), perMinute("project:d", 5, 0)}
					res := mustAllow(t, l, peek[0])
					if res.Remaining != 8 {
						t.Fatalf("key minute remaining %d after 2 allowed + 3 denied, want 8", res.Remaining)
					}
					if res := mustAllow(t, l, peek[1]); res.Remaining != 3 {
						t.Fatalf("project minute remaining %d, want 3", res.Remaining)
					}
				}},
				{"denied by the longest wait", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					mustAllow(t, l, perMinute("key:w", 1, 1), perHour("key:w", 1, 1))
					res := mustAllow(t, l, perMinute("key:w", 1, 1), perHour("key:w", 1, 1))
					if res.Allowed || res.LimitName != NameHour || !approx(res.RetryAfter, time.Hour, time.Second) {
						t.Fatalf("got %+v, want denial by hour with RetryAfter about 1h", res)
					}
				}},
				{"invalid checks", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					bad := map[string][]Check{
						"negative cost":  {perMinute("key:i", 5, -1)},
						"negative rate":  {perMinute("key:i", -5, 1)},
						"colon in name":  {{Key: "key:i", Cost: 1, Limit: Limit{Name: "a:b", Rate: 1, Period: time.Second}}},
						"empty name":     {{Key: "key:i", Cost: 1, Limit: Limit{Rate: 1, Period: time.Second}}},
						"too fine":       {{Key: "key:i", Cost: 1, Limit: Limit{Name: "x", Rate: 2_000_000, Period: time.Second}}},
						"zero period":    {{Key: "key:i", Cost: 1, Limit: Limit{Name: "x", Rate: 1}}},
						"duplicate pair": {perMinute("key:i", 5, 1), perMinute("key:i", 6, 1)},
					}
					for name, checks := range bad {
						_, err := l.Allow(context.Background(), checks...)
						if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnavailable) {
							t.Errorf("%s: err = %v, want ErrInvalid", name, err)
						}
					}
				}},
				{"cancelled context", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					_, err := l.Allow(ctx, perMinute("key:c", 5, 1))
					if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
						t.Fatalf("err = %v, want context.Canceled and not ErrUnavailable", err)
					}
				}},
				{"200 concurrent requests against 50", func(t *testing.T, l Limiter, _ func(time.Duration)) {
					// A second, roomy limit (one unit per 3.6 s) checks that
					// denials leave it alone.
					wide := func(cost int) Check {
						return Check{Key: "key:c", Cost: cost, Limit: Limit{Name: "wide", Rate: 1000, Period: time.Hour}}
					}
					var allowed atomic.Int64
					var wg sync.WaitGroup
					for range 200 {
						wg.Go(func() {
							res, err := l.Allow(context.Background(), perHour("key:c", 50, 1), wide(1))
							if err != nil {
								t.Errorf("Allow: %v", err)
								return
							}
							if res.Allowed {
								allowed.Add(1)
							}
						})
					}
					wg.Wait()
					if got := allowed.Load(); got != 50 {
						t.Fatalf("%d allowed, want exactly 50", got)
					}
					// The 150 denials must not have eaten the other budget.
					if res := mustAllow(t, l, wide(0)); res.Remaining != 950 {
						t.Fatalf("wide remaining %d, want 950", res.Remaining)
					}
				}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					l, advance := b.new(t)
					tc.run(t, l, advance)
				})
			}
		})
	}
}
