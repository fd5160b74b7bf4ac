package idempotency

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestFingerprint(t *testing.T) {
	base := NewFingerprint("POST", "/v1/chat/completions", []byte(`{"a":1}`))
	cases := []struct {
		name         string
		method, path string
		body         string
		same         bool
	}{
		{"identical", "POST", "/v1/chat/completions", `{"a":1}`, true},
		{"other body", "POST", "/v1/chat/completions", `{"a":2}`, false},
		{"other path", "POST", "/v1/embeddings", `{"a":1}`, false},
		{"other method", "PUT", "/v1/chat/completions", `{"a":1}`, false},
		// Bytes moved across the path/body boundary must not collide.
		{"shifted boundary", "POST", "/v1/chat/completions{", `"a":1}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := NewFingerprint(tc.method, tc.path, []byte(tc.body))
			if (got == base) != tc.same {
				t.Fatalf("fingerprint equal = %v, want %v", got == base, tc.same)
			}
		})
	}
}

func TestCacheable(t *testing.T) {
	cases := map[int]bool{
		100: false, 200: true, 201: true, 204: true, 301: true, 400: true, 401: true, 402: true,
		404: true, 408: false, 409: false, 422: true, 425: false, 429: false, 500: false, 503: false,
	}
	for status, want := range cases {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			if got := Cacheable(status); got != want {
				t.Fatalf("Cacheable(%d) = %v, want %v", status, got, want)
			}
		})
	}
}

// The memory store hands out copies: a handler that edits a replayed
// response must not change what the next retry sees.
func TestMemoryResponsesAreCopies(t *testing.T) {
	ctx := context.Background()
	s := NewMemory(newFakeClock().Now)
	token, _, err := s.Begin(ctx, "key:1", "k", fpA, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp := Response{Status: 200, Header: map[string]string{"A": "1"}, Body: []byte("abc")}
	if err := s.Complete(ctx, "key:1", "k", token, resp, time.Hour); err != nil {
		t.Fatal(err)
	}
	resp.Body[0], resp.Header["A"] = 'X', "changed"
	_, got, _ := s.Begin(ctx, "key:1", "k", fpA, time.Minute)
	got.Body[1], got.Header["A"] = 'Y', "changed again"
	_, again, _ := s.Begin(ctx, "key:1", "k", fpA, time.Minute)
	if string(again.Body) != "abc" || again.Header["A"] != "1" {
		t.Fatalf("stored response was mutated through a caller's copy: %+v", again)
	}
}

// Expired records are dropped as traffic goes on.
func TestMemorySweepsExpiredRecords(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := NewMemory(clock.Now).(*memory)
	for i := range 1000 {
		if _, _, err := s.Begin(ctx, "key:1", fmt.Sprint(i), fpA, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute)
	for i := range 2000 {
		if _, _, err := s.Begin(ctx, "key:2", fmt.Sprint(i%10), fpA, time.Hour); err != nil && !errors.Is(err, ErrInProgress) {
			t.Fatal(err)
		}
	}
	if n := len(s.recs); n > 60 {
		t.Fatalf("%d records left, want the expired leases swept", n)
	}
}

// A Redis that refuses connections is an outage (ErrUnavailable), which the
// server may answer with 503 or by running without idempotency.
func TestRedisUnavailable(t *testing.T) {
	opts, err := redis.ParseURL("redis://127.0.0.1:1/0?max_retries=-1")
	if err != nil {
		t.Fatal(err)
	}
	opts.DialerRetries = 1
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	s := NewRedis(client, "oneflow-test:refused:")
	ctx := context.Background()
	if _, _, err := s.Begin(ctx, "key:1", "k", fpA, time.Minute); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Begin: err = %v, want ErrUnavailable", err)
	}
	if err := s.Complete(ctx, "key:1", "k", "t", Response{Status: 200}, time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Complete: err = %v, want ErrUnavailable", err)
	}
	if err := s.Abort(ctx, "key:1", "k", "t"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Abort: err = %v, want ErrUnavailable", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Begin(cctx, "key:1", "k", fpA, time.Minute); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("cancelled Begin: err = %v, want context.Canceled only", err)
	}
	up := &upstream{}
	if _, _, err := Do(ctx, s, "key:1", "k", fpA, testOpts, up.call); !errors.Is(err, ErrUnavailable) || up.calls.Load() != 0 {
		t.Fatalf("Do: err = %v, calls = %d; want ErrUnavailable before running upstream", err, up.calls.Load())
	}
}

// Completed records keep the stored response's TTL in Redis, and leases the
// lease's, so Redis forgets both on its own.
func TestRedisRecordTTLs(t *testing.T) {
	client := newTestRedisClient(t)
	prefix := testPrefix(t, client)
	s := NewRedis(client, prefix)
	ctx := context.Background()
	token, _, err := s.Begin(ctx, "key:1", "k", fpA, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rkey := prefix + "5:key:1:k"
	if ttl := client.PTTL(ctx, rkey).Val(); ttl <= 29*time.Second || ttl > 30*time.Second {
		t.Fatalf("lease TTL %v, want about 30s", ttl)
	}
	if err := s.Complete(ctx, "key:1", "k", token, Response{Status: 200}, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	if ttl := client.PTTL(ctx, rkey).Val(); ttl <= 119*time.Minute || ttl > 2*time.Hour {
		t.Fatalf("stored TTL %v, want about 2h", ttl)
	}
	if tok := client.HGet(ctx, rkey, "tok").Val(); tok != "" {
		t.Fatalf("completed record still holds lease token %q", tok)
	}
}

// ExampleDo shows how a POST handler uses Do.
func ExampleDo() {
	store := NewMemory(nil)
	body := []byte(`{"model":"gpt-4o-mini","messages":[]}`)
	fp := NewFingerprint("POST", "/v1/chat/completions", body)
	handler := func(ctx context.Context) (Response, error) {
		return Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"id":"c1"}`)}, nil
	}
	for range 2 {
		resp, replayed, err := Do(context.Background(), store, "key:abc", "req-123", fp, Options{}, handler)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(resp.Status, string(resp.Body), "replayed:", replayed)
	}
	// Output:
	// 200 {"id":"c1"} replayed: false
	// 200 {"id":"c1"} replayed: true
}
