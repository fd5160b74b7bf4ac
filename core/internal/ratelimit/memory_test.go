package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The memory limiter runs on a fake clock, so whole minutes and hours can be
// checked without waiting.
func TestMemoryRefillOverRealPeriods(t *testing.T) {
	cases := []struct {
		name     string
		check    Check
		interval time.Duration // time one unit takes to come back
	}{
		{"per minute", perMinute("key:a", 60, 1), time.Second},
		{"per hour", perHour("key:a", 100, 1), 36 * time.Second},
		{"tokens per minute", tokensPerMinute("key:a", 6000, 1), 10 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			l := NewMemory(clock.Now)
			rate := tc.check.Limit.Rate
			for i := range rate {
				if res := mustAllow(t, l, tc.check); !res.Allowed || res.Remaining != rate-1-i {
					t.Fatalf("request %d: got %+v", i, res)
				}
			}
			res := mustAllow(t, l, tc.check)
			if res.Allowed || res.RetryAfter != tc.interval {
				t.Fatalf("over limit: got %+v, want denied with RetryAfter %v", res, tc.interval)
			}
			clock.Advance(tc.interval - time.Nanosecond)
			if res := mustAllow(t, l, tc.check); res.Allowed {
				t.Fatalf("allowed 1ns before a unit came back: %+v", res)
			}
			clock.Advance(time.Nanosecond)
			if res := mustAllow(t, l, tc.check); !res.Allowed || res.Remaining != 0 {
				t.Fatalf("one interval later: got %+v, want exactly one unit", res)
			}
			clock.Advance(tc.check.Limit.Period)
			if res := mustAllow(t, l, tc.check); !res.Allowed || res.Remaining != rate-1 || res.ResetAfter != tc.interval {
				t.Fatalf("after a full period: got %+v, want a full bucket", res)
			}
		})
	}
}

// An hour limit whose rate does not divide the hour still allows exactly
// Rate requests in a burst: the burst is Rate whole intervals, not Period.
func TestMemoryUnevenRate(t *testing.T) {
	l := NewMemory(newFakeClock().Now)
	allowed := 0
	for range 20 {
		if mustAllow(t, l, perHour("key:u", 7, 1)).Allowed {
			allowed++
		}
	}
	if allowed != 7 {
		t.Fatalf("%d allowed, want 7", allowed)
	}
}

// Full buckets are dropped as traffic goes on, so keys seen once do not stay
// in memory forever.
func TestMemorySweepsFullBuckets(t *testing.T) {
	clock := newFakeClock()
	l := NewMemory(clock.Now).(*memory)
	for i := range 1000 {
		mustAllow(t, l, perMinute(fmt.Sprintf("key:%d", i), 10, 1))
	}
	if n := len(l.tats); n < 900 {
		t.Fatalf("only %d of 1000 live buckets kept", n)
	}
	clock.Advance(time.Minute)
	for range 2000 {
		mustAllow(t, l, perMinute("key:hot", 1_000_000, 1))
	}
	if n := len(l.tats); n > 50 {
		t.Fatalf("%d buckets left after expiry, want the expired ones swept", n)
	}
}

func TestQuotaChecks(t *testing.T) {
	cases := []struct {
		name  string
		quota Quota
		want  []string
	}{
		{"all", Quota{PerMinute: 1, PerHour: 2, TokensPerMinute: 3}, []string{NameMinute, NameHour, NameTokensMinute}},
		{"none", Quota{}, nil},
		{"tokens only", Quota{TokensPerMinute: 3}, []string{NameTokensMinute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checks := tc.quota.Checks("project:p", 42)
			if len(checks) != len(tc.want) {
				t.Fatalf("got %d checks, want %d", len(checks), len(tc.want))
			}
			for i, c := range checks {
				wantCost := 1
				if c.Limit.Name == NameTokensMinute {
					wantCost = 42
				}
				if c.Limit.Name != tc.want[i] || c.Key != "project:p" || c.Cost != wantCost {
					t.Fatalf("check %d = %+v", i, c)
				}
			}
		})
	}
	// Quotas of several principals combine into one atomic decision.
	l := NewMemory(newFakeClock().Now)
	checks := Quota{PerMinute: 5}.AppendChecks(nil, "key:k", 10)
	checks = Quota{PerMinute: 1}.AppendChecks(checks, "project:p", 10)
	if res := mustAllow(t, l, checks...); !res.Allowed || res.Key != "project:p" || res.Remaining != 0 {
		t.Fatalf("got %+v", res)
	}
}

// BenchmarkMemoryAllow measures the in-process hot path: one key with the
// three usual limits, over a working set of 1000 keys. "warm" keeps every
// bucket alive (frozen clock); "churn" uses the real clock with rates so high
// that buckets drain between visits, so each call also deletes and re-inserts
// buckets — the worst case.
func BenchmarkMemoryAllow(b *testing.B) {
	frozen := newFakeClock()
	cases := []struct {
		name  string
		clock func() time.Time
		quota Quota
	}{
		{"warm", frozen.Now, Quota{PerMinute: 10_000_000, PerHour: 100_000_000, TokensPerMinute: 10_000_000}},
		{"churn", time.Now, Quota{PerMinute: 1_000_000, PerHour: 10_000_000, TokensPerMinute: 10_000_000}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			l := NewMemory(tc.clock)
			keys := make([][]Check, 1000)
			for i := range keys {
				keys[i] = tc.quota.Checks(fmt.Sprintf("key:%d", i), 1)
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := l.Allow(ctx, keys[i%len(keys)]...); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkMemoryAllowParallel shows the single lock under contention.
func BenchmarkMemoryAllowParallel(b *testing.B) {
	l := NewMemory(time.Now)
	checks := Quota{PerMinute: 1_000_000_000 / 60}.Checks("key:p", 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Allow(ctx, checks...); err != nil {
				b.Fatal(err)
			}
		}
	})
}
