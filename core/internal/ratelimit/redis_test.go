package ratelimit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two redis.Client instances stand for two core replicas: they share one
// budget, and the atomic script lets exactly the limit through.
func TestRedisReplicasShareOneLimit(t *testing.T) {
	a := newTestRedisClient(t)
	b := newTestRedisClient(t)
	prefix := testPrefix(t, a)
	replicas := []Limiter{NewRedis(a, prefix), NewRedis(b, prefix)}

	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 100 {
		l := replicas[i%2]
		wg.Go(func() {
			res, err := l.Allow(context.Background(), perHour("project:shared", 60, 1))
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
	if got := allowed.Load(); got != 60 {
		t.Fatalf("%d allowed across two replicas, want exactly 60", got)
	}
	// A third replica that starts later sees the same state.
	res := mustAllow(t, NewRedis(b, prefix), perHour("project:shared", 60, 0))
	if res.Remaining != 0 {
		t.Fatalf("late replica sees %d remaining, want 0", res.Remaining)
	}
}

// Buckets expire from Redis once full again, so idle keys cost no memory.
func TestRedisBucketsExpire(t *testing.T) {
	client := newTestRedisClient(t)
	prefix := testPrefix(t, client)
	l := NewRedis(client, prefix)
	// One unit of 10 per 10 s: the bucket is full again, and gone, after
	// a second, which a stalled PTTL round trip does not outlast.
	mustAllow(t, l, Check{Key: "key:e", Cost: 1, Limit: Limit{Name: "short", Rate: 10, Period: 10 * time.Second}})
	ttl, err := client.PTTL(context.Background(), prefix+"short:key:e").Result()
	if err != nil {
		t.Fatalf("PTTL: %v", err)
	}
	if ttl <= 0 || ttl > time.Second {
		t.Fatalf("bucket TTL %v, want (0, 1s]: one unit of 10 per 10 s", ttl)
	}
}

// refusedClient points at a port nobody listens on, as when Redis is down.
func refusedLimiter(t *testing.T) Limiter {
	t.Helper()
	client, err := NewRedisClient("redis://127.0.0.1:1/0?max_retries=-1")
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return NewRedis(client, "oneflow-test:refused:")
}

func TestFailPolicy(t *testing.T) {
	cases := []struct {
		name        string
		failOpen    bool
		wantAllowed bool
		wantErr     error
		wantReports int
	}{
		{"fail open allows and reports", true, true, nil, 1},
		{"fail closed returns ErrUnavailable", false, false, ErrUnavailable, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var reported []error
			l := WithFailOpen(refusedLimiter(t), tc.failOpen, func(err error) { reported = append(reported, err) })
			res, err := l.Allow(context.Background(), perMinute("key:f", 5, 1))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if res.Allowed != tc.wantAllowed {
				t.Fatalf("Allowed = %v, want %v", res.Allowed, tc.wantAllowed)
			}
			if res.Allowed && res.Limit != 0 {
				t.Fatalf("fail-open result claims limit %d; headers would lie", res.Limit)
			}
			if len(reported) != tc.wantReports {
				t.Fatalf("onError called %d times, want %d", len(reported), tc.wantReports)
			}
			for _, e := range reported {
				if !errors.Is(e, ErrUnavailable) {
					t.Fatalf("reported error %v does not wrap ErrUnavailable", e)
				}
			}
		})
	}
}

// Failing open is for outages only: bad input and a caller that gave up are
// returned as they are.
func TestFailOpenKeepsOtherErrors(t *testing.T) {
	l := WithFailOpen(refusedLimiter(t), true, func(err error) { t.Errorf("onError called for %v", err) })
	if _, err := l.Allow(context.Background(), perMinute("key:x", 5, -1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid check: err = %v, want ErrInvalid", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Allow(ctx, perMinute("key:x", 5, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v, want context.Canceled", err)
	}
	// The memory limiter never fails, so the wrapper is transparent for it.
	m := WithFailOpen(NewMemory(newFakeClock().Now), true, nil)
	mustAllow(t, m, perMinute("key:y", 1, 1))
	if res := mustAllow(t, m, perMinute("key:y", 1, 1)); res.Allowed {
		t.Fatalf("wrapper turned a denial into an allow: %+v", res)
	}
}

func TestNewRedisClientURLs(t *testing.T) {
	const secret = "s3cr3t-pa55"
	cases := []struct {
		name    string
		url     string
		wantErr bool
	}{
		{"plain", "redis://127.0.0.1:6379/0", false},
		{"with password and options", "redis://user:" + secret + "@127.0.0.1:6379/2?dial_timeout=1s", false},
		{"tls", "rediss://:" + secret + "@cache.internal:6380/0", false},
		{"password where the port goes", "redis://127.0.0.1:" + secret + "/0", true},
		{"bad scheme", "http://user:" + secret + "@127.0.0.1:6379", true},
		{"bad db", "redis://:" + secret + "@127.0.0.1:6379/" + secret, true},
		{"bad option", "redis://:" + secret + "@127.0.0.1:6379/0?dial_timeout=" + secret, true},
		{"control character", "redis://:" + secret + "\x7f@127.0.0.1", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, err := NewRedisClient(tc.url)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks the password: %v", err)
			}
			if client != nil {
				_ = client.Close()
			}
		})
	}
}

// BenchmarkRedisAllow measures one decision of the three usual limits: one
// script call, i.e. one round trip.
func BenchmarkRedisAllow(b *testing.B) {
	client := newTestRedisClient(b)
	l := NewRedis(client, testPrefix(b, client))
	checks := Quota{PerMinute: 1_000_000, PerHour: 10_000_000, TokensPerMinute: 10_000_000}.Checks("key:bench", 10)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, checks...); err != nil {
			b.Fatal(err)
		}
	}
}
