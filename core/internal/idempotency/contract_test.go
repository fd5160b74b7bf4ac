package idempotency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend builds two Store handles on one empty store — for Redis, on two
// separate clients, standing for two core replicas — and a way to let time
// pass: a fake clock for memory, sleeping for Redis (whose TTLs run on the
// server's clock).
type backend struct {
	name string
	new  func(t *testing.T) (a, b Store, advance func(time.Duration))
}

func backends() []backend {
	return []backend{
		{name: "memory", new: func(t *testing.T) (Store, Store, func(time.Duration)) {
			clock := newFakeClock()
			s := NewMemory(clock.Now)
			return s, s, clock.Advance
		}},
		{name: "redis", new: func(t *testing.T) (Store, Store, func(time.Duration)) {
			c1, c2 := newTestRedisClient(t), newTestRedisClient(t)
			prefix := testPrefix(t, c1)
			return NewRedis(c1, prefix), NewRedis(c2, prefix), time.Sleep
		}},
	}
}

// upstream is a fake upstream call that counts how often it runs.
type upstream struct {
	calls atomic.Int64
	delay time.Duration
	resp  Response
	err   error
}

func (u *upstream) call(ctx context.Context) (Response, error) {
	n := u.calls.Add(1)
	if u.delay > 0 {
		time.Sleep(u.delay)
	}
	if u.err != nil {
		return Response{}, u.err
	}
	r := u.resp.clone()
	if r.Status == 0 {
		r = Response{Status: 201, Header: map[string]string{"Content-Type": "application/json"}, Body: fmt.Appendf(nil, `{"call":%d}`, n)}
	}
	return r, nil
}

var (
	fpA = NewFingerprint("POST", "/v1/chat/completions", []byte(`{"model":"a"}`))
	fpB = NewFingerprint("POST", "/v1/chat/completions", []byte(`{"model":"b"}`))
)

// opts keeps waits short so failing tests fail fast.
var testOpts = Options{Lease: time.Minute, TTL: time.Hour, Poll: 5 * time.Millisecond}

func equalResp(a, b Response) bool {
	if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) || len(a.Header) != len(b.Header) {
		return false
	}
	for k, v := range a.Header {
		if b.Header[k] != v {
			return false
		}
	}
	return true
}

func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			cases := []struct {
				name string
				run  func(t *testing.T, a, b Store, advance func(time.Duration))
			}{
				{"same key and body replays", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					up := &upstream{}
					first, replayed, err := Do(ctx, a, "key:1", "idem-1", fpA, testOpts, up.call)
					if err != nil || replayed {
						t.Fatalf("first: replayed=%v err=%v", replayed, err)
					}
					for _, s := range []Store{a, b} {
						again, replayed, err := Do(ctx, s, "key:1", "idem-1", fpA, testOpts, up.call)
						if err != nil || !replayed || !equalResp(first, again) {
							t.Fatalf("retry: got %+v replayed=%v err=%v, want replay of %+v", again, replayed, err, first)
						}
					}
					if n := up.calls.Load(); n != 1 {
						t.Fatalf("upstream ran %d times, want 1", n)
					}
				}},
				{"same key with another body conflicts", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					up := &upstream{}
					if _, _, err := Do(ctx, a, "key:1", "idem-1", fpA, testOpts, up.call); err != nil {
						t.Fatal(err)
					}
					_, _, err := Do(ctx, b, "key:1", "idem-1", fpB, testOpts, up.call)
					if !errors.Is(err, ErrConflict) {
						t.Fatalf("err = %v, want ErrConflict", err)
					}
					// Also while the first request is still running.
					if _, _, err := a.Begin(ctx, "key:1", "idem-2", fpA, time.Minute); err != nil {
						t.Fatal(err)
					}
					if _, _, err := b.Begin(ctx, "key:1", "idem-2", fpB, time.Minute); !errors.Is(err, ErrConflict) {
						t.Fatalf("in progress: err = %v, want ErrConflict", err)
					}
					if n := up.calls.Load(); n != 1 {
						t.Fatalf("upstream ran %d times, want 1", n)
					}
				}},
				{"scopes are isolated", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					up := &upstream{}
					first, _, err := Do(ctx, a, "key:tenant-a", "shared-key", fpA, testOpts, up.call)
					if err != nil {
						t.Fatal(err)
					}
					other, replayed, err := Do(ctx, b, "key:tenant-b", "shared-key", fpA, testOpts, up.call)
					if err != nil || replayed || equalResp(first, other) {
						t.Fatalf("tenant b got tenant a's response: %+v replayed=%v err=%v", other, replayed, err)
					}
					// A different body in another scope is not a conflict.
					if _, _, err := Do(ctx, b, "key:tenant-c", "shared-key", fpB, testOpts, up.call); err != nil {
						t.Fatalf("tenant c: %v", err)
					}
					// Scope/key splits that concatenate alike stay apart.
					if _, _, err := Do(ctx, a, "key:x:1", "k", fpA, testOpts, up.call); err != nil {
						t.Fatal(err)
					}
					if _, replayed, err := Do(ctx, a, "key:x", "1:k", fpA, testOpts, up.call); err != nil || replayed {
						t.Fatalf("scope/key split collided: replayed=%v err=%v", replayed, err)
					}
					if n := up.calls.Load(); n != 5 {
						t.Fatalf("upstream ran %d times, want 5", n)
					}
				}},
				{"concurrent duplicates run upstream once", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					up := &upstream{delay: 50 * time.Millisecond}
					const n = 50
					var wg sync.WaitGroup
					results := make([]Response, n)
					replays := make([]bool, n)
					for i := range n {
						s := []Store{a, b}[i%2]
						wg.Go(func() {
							ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
							defer cancel()
							resp, replayed, err := Do(ctx, s, "key:1", "idem-c", fpA, testOpts, up.call)
							if err != nil {
								t.Errorf("caller %d: %v", i, err)
							}
							results[i], replays[i] = resp, replayed
						})
					}
					wg.Wait()
					if c := up.calls.Load(); c != 1 {
						t.Fatalf("upstream ran %d times for %d duplicates, want 1", c, n)
					}
					fresh := 0
					for i := range n {
						if !replays[i] {
							fresh++
						}
						if !equalResp(results[i], results[0]) {
							t.Fatalf("caller %d got %+v, caller 0 got %+v", i, results[i], results[0])
						}
					}
					if fresh != 1 {
						t.Fatalf("%d callers ran the request, want 1", fresh)
					}
				}},
				{"crashed holder's lease expires", func(t *testing.T, a, b Store, advance func(time.Duration)) {
					// Long enough that a stalled Redis round trip between two
					// calls cannot outlast it.
					lease := 2 * time.Second
					crashed, _, err := a.Begin(ctx, "key:1", "idem-l", fpA, lease)
					if err != nil || crashed == "" {
						t.Fatalf("first Begin: token=%q err=%v", crashed, err)
					}
					// The holder "crashes": no Complete, no Abort.
					if _, _, err := b.Begin(ctx, "key:1", "idem-l", fpA, lease); !errors.Is(err, ErrInProgress) {
						t.Fatalf("before expiry: err = %v, want ErrInProgress", err)
					}
					advance(lease + 50*time.Millisecond)
					token, stored, err := b.Begin(ctx, "key:1", "idem-l", fpA, time.Minute)
					if err != nil || token == "" || stored != nil {
						t.Fatalf("after expiry: token=%q stored=%v err=%v, want a new lease", token, stored, err)
					}
					// A holder that comes back late cannot overwrite the new one.
					if err := a.Complete(ctx, "key:1", "idem-l", crashed, Response{Status: 200}, time.Hour); !errors.Is(err, ErrLeaseLost) {
						t.Fatalf("late Complete: err = %v, want ErrLeaseLost", err)
					}
					if err := a.Abort(ctx, "key:1", "idem-l", crashed); !errors.Is(err, ErrLeaseLost) {
						t.Fatalf("late Abort: err = %v, want ErrLeaseLost", err)
					}
					want := Response{Status: 202, Body: []byte("second")}
					if err := b.Complete(ctx, "key:1", "idem-l", token, want, time.Hour); err != nil {
						t.Fatalf("Complete: %v", err)
					}
					if _, got, err := a.Begin(ctx, "key:1", "idem-l", fpA, lease); err != nil || got == nil || !equalResp(*got, want) {
						t.Fatalf("replay: got %+v err=%v, want %+v", got, err, want)
					}
				}},
				{"abort lets a retry run", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					failing := &upstream{err: errors.New("upstream reset")}
					if _, _, err := Do(ctx, a, "key:1", "idem-a", fpA, testOpts, failing.call); err == nil || err.Error() != "upstream reset" {
						t.Fatalf("err = %v, want the upstream error unchanged", err)
					}
					unavailable := &upstream{resp: Response{Status: 503, Body: []byte("busy")}}
					if resp, replayed, err := Do(ctx, b, "key:1", "idem-a", fpA, testOpts, unavailable.call); err != nil || replayed || resp.Status != 503 {
						t.Fatalf("503 attempt: %+v replayed=%v err=%v", resp, replayed, err)
					}
					ok := &upstream{}
					if _, replayed, err := Do(ctx, a, "key:1", "idem-a", fpA, testOpts, ok.call); err != nil || replayed {
						t.Fatalf("retry: replayed=%v err=%v", replayed, err)
					}
					if failing.calls.Load() != 1 || unavailable.calls.Load() != 1 || ok.calls.Load() != 1 {
						t.Fatal("each attempt should have run once")
					}
					// Explicit Abort via the Store too.
					token, _, err := b.Begin(ctx, "key:1", "idem-b", fpA, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if err := b.Abort(ctx, "key:1", "idem-b", token); err != nil {
						t.Fatalf("Abort: %v", err)
					}
					if token2, _, err := a.Begin(ctx, "key:1", "idem-b", fpB, time.Minute); err != nil || token2 == "" {
						t.Fatalf("after Abort the key is free, even for another body: token=%q err=%v", token2, err)
					}
				}},
				{"client errors are stored, retryable ones are not", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					for _, tc := range []struct {
						status int
						stored bool
					}{{400, true}, {402, true}, {404, true}, {200, true}, {429, false}, {409, false}, {500, false}, {502, false}} {
						up := &upstream{resp: Response{Status: tc.status, Body: []byte("x")}}
						key := fmt.Sprintf("idem-%d", tc.status)
						for _, s := range []Store{a, b} {
							if _, _, err := Do(ctx, s, "key:1", key, fpA, testOpts, up.call); err != nil {
								t.Fatal(err)
							}
						}
						if want := map[bool]int64{true: 1, false: 2}[tc.stored]; up.calls.Load() != want {
							t.Errorf("status %d: upstream ran %d times, want %d", tc.status, up.calls.Load(), want)
						}
					}
				}},
				{"stored response expires after ttl", func(t *testing.T, a, b Store, advance func(time.Duration)) {
					o := testOpts
					o.TTL = 2 * time.Second // see the lease above
					up := &upstream{}
					for range 2 {
						if _, _, err := Do(ctx, a, "key:1", "idem-t", fpA, o, up.call); err != nil {
							t.Fatal(err)
						}
					}
					advance(o.TTL + 100*time.Millisecond)
					if _, replayed, err := Do(ctx, b, "key:1", "idem-t", fpB, o, up.call); err != nil || replayed {
						t.Fatalf("after ttl: replayed=%v err=%v, want a fresh run (no conflict)", replayed, err)
					}
					if n := up.calls.Load(); n != 2 {
						t.Fatalf("upstream ran %d times, want 2", n)
					}
				}},
				{"waiting duplicate gives up with ErrInProgress", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					if _, _, err := a.Begin(ctx, "key:1", "idem-w", fpA, time.Minute); err != nil {
						t.Fatal(err)
					}
					// Both bounds leave room for the first Redis round trip:
					// only a wait after it becomes ErrInProgress.
					wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
					defer cancel()
					up := &upstream{}
					_, _, err := Do(wctx, b, "key:1", "idem-w", fpA, testOpts, up.call)
					if !errors.Is(err, ErrInProgress) {
						t.Fatalf("err = %v, want ErrInProgress", err)
					}
					o := testOpts
					o.MaxWait = 300 * time.Millisecond
					if _, _, err := Do(ctx, b, "key:1", "idem-w", fpA, o, up.call); !errors.Is(err, ErrInProgress) {
						t.Fatalf("MaxWait: err = %v, want ErrInProgress", err)
					}
					if up.calls.Load() != 0 {
						t.Fatal("a waiting duplicate ran upstream")
					}
				}},
				{"waiter takes over after the holder aborts", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					token, _, err := a.Begin(ctx, "key:1", "idem-o", fpA, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					done := make(chan error, 1)
					up := &upstream{}
					go func() {
						_, replayed, err := Do(ctx, b, "key:1", "idem-o", fpA, testOpts, up.call)
						if err == nil && replayed {
							err = errors.New("replayed an aborted request")
						}
						done <- err
					}()
					time.Sleep(20 * time.Millisecond)
					if err := a.Abort(ctx, "key:1", "idem-o", token); err != nil {
						t.Fatal(err)
					}
					select {
					case err := <-done:
						if err != nil {
							t.Fatal(err)
						}
					case <-time.After(5 * time.Second):
						t.Fatal("waiter never took over")
					}
					if up.calls.Load() != 1 {
						t.Fatalf("upstream ran %d times, want 1", up.calls.Load())
					}
				}},
				{"panicking handler releases its lease", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					func() {
						defer func() { _ = recover() }()
						_, _, _ = Do(ctx, a, "key:1", "idem-p", fpA, testOpts, func(context.Context) (Response, error) {
							panic("handler bug")
						})
					}()
					if token, _, err := b.Begin(ctx, "key:1", "idem-p", fpA, time.Minute); err != nil || token == "" {
						t.Fatalf("after panic: token=%q err=%v, want the key free", token, err)
					}
				}},
				{"cancelled client still settles the claim", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					cctx, cancel := context.WithCancel(ctx)
					resp, _, err := Do(cctx, a, "key:1", "idem-x", fpA, testOpts, func(context.Context) (Response, error) {
						cancel() // the client disconnects while upstream finishes
						return Response{Status: 200, Body: []byte("kept")}, nil
					})
					if err != nil || string(resp.Body) != "kept" {
						t.Fatalf("got %+v err=%v", resp, err)
					}
					_, stored, err := b.Begin(ctx, "key:1", "idem-x", fpA, time.Minute)
					if err != nil || stored == nil || string(stored.Body) != "kept" {
						t.Fatalf("stored=%+v err=%v, want the response kept", stored, err)
					}
				}},
				{"oversized body is returned but not stored", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					o := testOpts
					o.MaxBody = 8
					up := &upstream{resp: Response{Status: 200, Body: []byte("more than eight bytes")}}
					for _, s := range []Store{a, b} {
						resp, replayed, err := Do(ctx, s, "key:1", "idem-big", fpA, o, up.call)
						if err != nil || replayed || len(resp.Body) != 21 {
							t.Fatalf("got %+v replayed=%v err=%v", resp, replayed, err)
						}
					}
					if up.calls.Load() != 2 {
						t.Fatalf("upstream ran %d times, want 2", up.calls.Load())
					}
				}},
				{"binary bodies and empty headers round-trip", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					body := []byte{0, 1, 2, 255, '\n', 0}
					token, _, err := a.Begin(ctx, "key:1", "idem-bin", fpA, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					if err := a.Complete(ctx, "key:1", "idem-bin", token, Response{Status: 200, Body: body}, time.Hour); err != nil {
						t.Fatal(err)
					}
					_, got, err := b.Begin(ctx, "key:1", "idem-bin", fpA, time.Minute)
					if err != nil || got == nil || !bytes.Equal(got.Body, body) || len(got.Header) != 0 || got.Status != 200 {
						t.Fatalf("got %+v err=%v", got, err)
					}
				}},
				{"invalid keys", func(t *testing.T, a, _ Store, _ func(time.Duration)) {
					long := string(bytes.Repeat([]byte("k"), MaxKeyLen+1))
					for _, k := range [][2]string{{"", "k"}, {"key:1", ""}, {"key:1", long}} {
						if _, _, err := a.Begin(ctx, k[0], k[1], fpA, time.Minute); !errors.Is(err, ErrInvalidKey) {
							t.Errorf("Begin(%q, %d-byte key): err = %v, want ErrInvalidKey", k[0], len(k[1]), err)
						}
					}
					if _, _, err := a.Begin(ctx, "key:1", string(bytes.Repeat([]byte("k"), MaxKeyLen)), fpA, time.Minute); err != nil {
						t.Errorf("longest key rejected: %v", err)
					}
				}},
				{"settling with a wrong token is refused", func(t *testing.T, a, b Store, _ func(time.Duration)) {
					token, _, err := a.Begin(ctx, "key:1", "idem-tok", fpA, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					for _, bad := range []string{"", "not-" + token} {
						if err := b.Complete(ctx, "key:1", "idem-tok", bad, Response{Status: 200}, time.Hour); !errors.Is(err, ErrLeaseLost) {
							t.Errorf("Complete(%q): err = %v, want ErrLeaseLost", bad, err)
						}
					}
					if err := a.Complete(ctx, "key:1", "idem-tok", token, Response{Status: 200}, time.Hour); err != nil {
						t.Fatal(err)
					}
					if err := a.Complete(ctx, "key:1", "idem-tok", token, Response{Status: 500}, time.Hour); !errors.Is(err, ErrLeaseLost) {
						t.Fatalf("second Complete: err = %v, want ErrLeaseLost", err)
					}
				}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					a, b, advance := be.new(t)
					tc.run(t, a, b, advance)
				})
			}
		})
	}
}
