package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// These tests run a real core and real plugin processes against fake
// vendors that misbehave, and check what a client sees. Every wait polls
// with a deadline far above what an idle machine needs: they run on two
// shared cores under -race.

var breakerLabels = map[string]string{"provider": "up0", "model": "gpt-4o-mini"}

// TestBreakerOpensAndRecovers: failures open the breaker, an open breaker
// answers 503 without calling the vendor, and after the cool-down one
// successful probe closes it again.
func TestBreakerOpensAndRecovers(t *testing.T) {
	const cooldown = 4 * time.Second
	fu, url := newUpstream(t, fakeupstream.Faults{ErrorRate: 1})
	c := startCore(t, configFor([]string{url}, breakerHCL(3, cooldown)+retryHCL(1)))
	c.waitReady()

	for i := 1; i <= 3; i++ {
		resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
		wantError(t, resp, b, http.StatusServiceUnavailable, "upstream_unavailable")
		if n := fu.Requests.Load(); n != int64(i) {
			t.Fatalf("after %d failed requests the upstream saw %d", i, n)
		}
	}
	opened := time.Now()
	if st := c.breakerState("up0", "gpt-4o-mini"); st != "open" {
		t.Fatalf("breaker %q after 3 failures, want open", st)
	}
	for i := 0; i < 3; i++ {
		start := time.Now()
		resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
		wantError(t, resp, b, http.StatusServiceUnavailable, "circuit_open")
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("a refusal by an open breaker has no Retry-After")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("a refusal by an open breaker took %v", d)
		}
	}
	if n := fu.Requests.Load(); n != 3 {
		t.Fatalf("the upstream saw %d requests while the breaker was open, want still 3", n)
	}
	if v, ok := c.metric("circuit_breaker_state", breakerLabels); !ok || v != 2 {
		t.Fatalf("circuit_breaker_state = %v (present %v), want 2", v, ok)
	}
	if time.Since(opened) >= cooldown {
		t.Fatalf("the open-state checks took longer than the %v cool-down; the machine is too slow for this test", cooldown)
	}

	fu.SetFaults(fakeupstream.Faults{})
	waitFor(t, "a request to succeed after the cool-down", cooldown+15*time.Second, func() bool {
		resp, _, err := c.try(context.Background(), "POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
		return err == nil && resp.StatusCode == 200
	})
	if d := time.Since(opened); d < cooldown-100*time.Millisecond {
		t.Errorf("the breaker let a call through %v after opening, before its %v cool-down", d, cooldown)
	}
	// Refusals never reached the vendor: the one new request is the probe.
	if n := fu.Requests.Load(); n != 4 {
		t.Errorf("the upstream saw %d requests, want 4 (3 failures and 1 probe)", n)
	}
	if st := c.breakerState("up0", "gpt-4o-mini"); st != "closed" {
		t.Fatalf("breaker %q after a successful probe, want closed", st)
	}
	if v, ok := c.metric("circuit_breaker_state", breakerLabels); !ok || v != 0 {
		t.Fatalf("circuit_breaker_state = %v (present %v), want 0", v, ok)
	}
	for i := 0; i < 3; i++ {
		if resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini")); resp.StatusCode != 200 {
			t.Fatalf("after recovery: %d %s", resp.StatusCode, b)
		}
	}
}

// attemptsOf decodes /api/v1/request's attempts as "provider:outcome".
func attemptsOf(t *testing.T, b []byte) (string, []string) {
	t.Helper()
	var out struct {
		Provider string `json:"provider"`
		Attempts []struct {
			Provider, Outcome string
		} `json:"attempts"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var got []string
	for _, a := range out.Attempts {
		got = append(got, a.Provider+":"+a.Outcome)
	}
	return out.Provider, got
}

// TestRoutingSkipsOpenBreaker: once the preferred provider's breaker is
// open, the strategy is not offered it and requests go straight to the
// healthy one.
func TestRoutingSkipsOpenBreaker(t *testing.T) {
	_, good := newUpstream(t, fakeupstream.Faults{})
	bad, badURL := newUpstream(t, fakeupstream.Faults{ErrorRate: 1})
	// up1 (quality 51) is preferred by the quality strategy and fails.
	c := startCore(t, configFor([]string{good, badURL}, breakerHCL(3, time.Minute)))
	c.waitReady()
	req := map[string]any{"prompt": "Say hello", "strategy": "quality", "max_tokens": 20}

	for i := 1; c.breakerState("up1", "gpt-4o-mini") != "open"; i++ {
		if i > 3 {
			t.Fatalf("breaker of up1 still %q after %d failures", c.breakerState("up1", "gpt-4o-mini"), i-1)
		}
		resp, b := c.do("POST", "/api/v1/request", req)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, b)
		}
		if p, got := attemptsOf(t, b); p != "up0" || strings.Join(got, " ") != "up1:unavailable up0:ok" {
			t.Fatalf("request %d answered by %s after %v; want a fallback from up1 to up0", i, p, got)
		}
	}
	calls := bad.Requests.Load()
	for i := 0; i < 3; i++ {
		resp, b := c.do("POST", "/api/v1/request", req)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		if p, got := attemptsOf(t, b); p != "up0" || len(got) != 1 || got[0] != "up0:ok" {
			t.Fatalf("with up1's breaker open: answered by %s after %v; want only up0:ok", p, got)
		}
	}
	if n := bad.Requests.Load(); n != calls {
		t.Fatalf("the failing upstream was called %d more times with its breaker open", n-calls)
	}
}

// TestRetries: the last target is retried in place, honouring the
// vendor's Retry-After, up to max_attempts.
func TestRetries(t *testing.T) {
	t.Run("429 with Retry-After", func(t *testing.T) {
		fu, url := newUpstream(t, fakeupstream.Faults{Burst429: 2, RetryAfter: 1})
		fu.SetRecording(true)
		c := startCore(t, configFor([]string{url}, retryHCL(3)))
		c.waitReady()
		start := time.Now()
		resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
		took := time.Since(start)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		t.Logf("answered after two 429s in %v", took)
		if took < 2*time.Second {
			t.Fatalf("answered in %v; two Retry-After: 1 waits take at least 2s", took)
		}
		seen := fu.Seen()
		if len(seen) != 3 {
			t.Fatalf("the upstream saw %d requests, want 3", len(seen))
		}
		for i := 1; i < len(seen); i++ {
			if gap := seen[i].At.Sub(seen[i-1].At); gap < time.Second {
				t.Errorf("retry %d came %v after the previous attempt; Retry-After asked for 1s", i, gap)
			}
		}
	})
	t.Run("500 until the budget is spent", func(t *testing.T) {
		fu, url := newUpstream(t, fakeupstream.Faults{ErrorRate: 1})
		c := startCore(t, configFor([]string{url}, retryHCL(3)))
		c.waitReady()
		resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
		wantError(t, resp, b, http.StatusServiceUnavailable, "upstream_unavailable")
		if n := fu.Requests.Load(); n != 3 {
			t.Fatalf("the upstream saw %d requests, want max_attempts = 3", n)
		}
	})
}

// TestHungUpstreamTimesOut: a vendor that never sends headers is cut off
// by the provider's read_timeout, the client gets 504 and the vendor
// request is cancelled, not left hanging.
func TestHungUpstreamTimesOut(t *testing.T) {
	fu, url := newUpstream(t, fakeupstream.Faults{HangRate: 1})
	cfg := withProviderAttrs(t, configFor([]string{url}, retryHCL(1)), url, `read_timeout = "1s"`)
	c := startCore(t, cfg)
	c.waitReady()
	start := time.Now()
	resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
	took := time.Since(start)
	wantError(t, resp, b, http.StatusGatewayTimeout, "upstream_timeout")
	t.Logf("504 after %v", took)
	// About the 1s read_timeout: not at once, and far below the 30s
	// default; the upper bound leaves room for a loaded machine.
	if took < 900*time.Millisecond || took > 5*time.Second {
		t.Fatalf("504 after %v; want about the 1s read_timeout", took)
	}
	waitCount(t, "the upstream's cancelled requests", &fu.Canceled, 1, 5*time.Second)
	if n := fu.Requests.Load(); n != 1 {
		t.Fatalf("the upstream saw %d requests, want 1 (max_attempts = 1)", n)
	}
}

// TestClientHangUpCancelsUpstream: a client that goes away cancels the
// vendor request, whole or streamed.
func TestClientHangUpCancelsUpstream(t *testing.T) {
	fu, url := newUpstream(t, fakeupstream.Faults{Latency: time.Minute})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()

	t.Run("whole", func(t *testing.T) {
		fu.SetFaults(fakeupstream.Faults{Latency: time.Minute})
		base, reqs := fu.Canceled.Load(), fu.Requests.Load()
		// The client hangs up once the vendor is working on its request
		// (rather than after a fixed delay, which a loaded machine may
		// spend before the request even reaches the vendor).
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			_, _, err := c.post(ctx, "/v1/chat/completions", chatBody("gpt-4o-mini"), nil)
			errc <- err
		}()
		waitCount(t, "the upstream's requests", &fu.Requests, reqs+1, 15*time.Second)
		time.Sleep(300 * time.Millisecond)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("client call ended with %v, want its own cancellation", err)
		}
		took := waitCount(t, "the upstream's cancelled requests", &fu.Canceled, base+1, 3*time.Second)
		t.Logf("upstream saw the cancellation %v after the client hung up", took)
		// A hang-up is not retried.
		time.Sleep(300 * time.Millisecond)
		if n := fu.Requests.Load() - reqs; n != 1 {
			t.Fatalf("the upstream saw %d requests for one hung-up call", n)
		}
	})
	t.Run("stream", func(t *testing.T) {
		fu.SetFaults(fakeupstream.Faults{StreamChunks: 50, ChunkGap: 100 * time.Millisecond})
		base := fu.Canceled.Load()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := c.openStream(ctx, "gpt-4o-mini")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			resp.Body.Close()
			t.Fatalf("stream answered %d", resp.StatusCode)
		}
		ev := newSSEEvents(resp.Body)
		for i := 0; i < 2; i++ {
			if _, ok := ev.next(); !ok {
				resp.Body.Close()
				t.Fatalf("stream ended after %d events", i)
			}
		}
		cancel()
		resp.Body.Close()
		took := waitCount(t, "the upstream's cancelled streams", &fu.Canceled, base+1, 3*time.Second)
		t.Logf("upstream saw the stream's cancellation %v after the client left", took)
		if n := fu.Completed.Load(); n != 0 {
			t.Fatalf("the upstream completed %d streams of 50 chunks after the client left", n)
		}
	})
}

// TestIdempotencyKey: a key replays the first answer without calling the
// vendor again, refuses another body, and lets concurrent duplicates
// through to the vendor exactly once.
func TestIdempotencyKey(t *testing.T) {
	fu, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	ctx := context.Background()
	body := chatBody("gpt-4o-mini")
	key := map[string]string{"Idempotency-Key": newKey()}

	r1, b1, err := c.post(ctx, "/v1/chat/completions", body, key)
	if err != nil || r1.StatusCode != 200 {
		t.Fatalf("first: %v %v %s", err, r1, b1)
	}
	if r1.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first answer claims to be a replay")
	}
	r2, b2, err := c.post(ctx, "/v1/chat/completions", body, key)
	if err != nil || r2.StatusCode != 200 {
		t.Fatalf("repeat: %v %v %s", err, r2, b2)
	}
	if string(b2) != string(b1) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat is not a replay: header %q\nfirst  %s\nrepeat %s", r2.Header.Get("Idempotent-Replayed"), b1, b2)
	}
	if n := fu.Requests.Load(); n != 1 {
		t.Fatalf("the upstream saw %d requests for one key, want 1", n)
	}

	other := chatBody("gpt-4o-mini")
	other["messages"] = []map[string]any{{"role": "user", "content": "Say goodbye"}}
	r3, b3, err := c.post(ctx, "/v1/chat/completions", other, key)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r3, b3, http.StatusUnprocessableEntity, "idempotency_key_reused")
	if n := fu.Requests.Load(); n != 1 {
		t.Fatalf("a refused reuse reached the upstream (%d requests)", n)
	}

	// Slow the vendor so the duplicates arrive while the first still runs.
	fu.SetFaults(fakeupstream.Faults{Latency: 500 * time.Millisecond})
	key = map[string]string{"Idempotency-Key": newKey()}
	const n = 20
	type result struct {
		status int
		body   string
		err    error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, b, err := c.post(ctx, "/v1/chat/completions", body, key)
			results[i] = result{err: err, body: string(b)}
			if resp != nil {
				results[i].status = resp.StatusCode
			}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.status != 200 || r.body != results[0].body {
			t.Errorf("duplicate %d: %v %d %s (first %s)", i, r.err, r.status, r.body, results[0].body)
		}
	}
	if got := fu.Requests.Load(); got != 2 {
		t.Fatalf("%d concurrent requests with one key made %d upstream calls, want 1", n, got-1)
	}
}

// newKey returns a fresh Idempotency-Key.
func newKey() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "idem-" + hex.EncodeToString(b)
}

// TestIdempotencyKeyStream: a stream that ended with [DONE] is stored and
// replayed byte for byte without a second vendor call; a stream the
// upstream cut is not stored, so a retry with its key runs again.
func TestIdempotencyKeyStream(t *testing.T) {
	fu, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	ctx := context.Background()
	body := chatBody("gpt-4o-mini")
	body["stream"] = true
	body["stream_options"] = map[string]any{"include_usage": true}

	key := map[string]string{"Idempotency-Key": newKey()}
	r1, b1, err := c.post(ctx, "/v1/chat/completions", body, key)
	if err != nil || r1.StatusCode != 200 {
		t.Fatalf("first: %v %v %s", err, r1, b1)
	}
	if !strings.HasSuffix(string(b1), "data: [DONE]\n\n") || !strings.Contains(string(b1), `"credits"`) {
		t.Fatalf("first stream is not a finished stream with usage:\n%s", b1)
	}
	r2, b2, err := c.post(ctx, "/v1/chat/completions", body, key)
	if err != nil || r2.StatusCode != 200 {
		t.Fatalf("repeat: %v %v %s", err, r2, b2)
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"replay has the same events", string(b2) == string(b1)},
		{"replay is marked", r2.Header.Get("Idempotent-Replayed") == "true"},
		{"replay is an event stream", strings.HasPrefix(r2.Header.Get("Content-Type"), "text/event-stream")},
		{"replay names the model", r2.Header.Get("X-OneFlow-Model") == r1.Header.Get("X-OneFlow-Model")},
		{"the vendor was called once", fu.Requests.Load() == 1},
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("%s: headers %v\nfirst  %s\nrepeat %s", tt.name, r2.Header, b1, b2)
		}
	}

	fu.SetFaults(fakeupstream.Faults{StreamChunks: 5, DropAfterChunks: 2})
	key = map[string]string{"Idempotency-Key": newKey()}
	r3, b3, err := c.post(ctx, "/v1/chat/completions", body, key)
	if err != nil || r3.StatusCode != 200 || !strings.Contains(string(b3), `"error"`) {
		t.Fatalf("cut stream: want 200 with an in-band error, got %v %v %s", err, r3, b3)
	}
	fu.SetFaults(fakeupstream.Faults{})
	before := fu.Requests.Load()
	r4, b4, err := c.post(ctx, "/v1/chat/completions", body, key)
	if err != nil || r4.StatusCode != 200 {
		t.Fatalf("retry of the cut stream: %v %v %s", err, r4, b4)
	}
	if r4.Header.Get("Idempotent-Replayed") != "" || fu.Requests.Load() == before || strings.Contains(string(b4), `"error"`) {
		t.Fatalf("the retry of a cut stream replayed it instead of running again (upstream calls %d→%d):\n%s", before, fu.Requests.Load(), b4)
	}
}

// loadResult counts what a client saw during a load run.
type loadResult struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   map[string]int // "status code" or the transport error
}

func (l *loadResult) fail(what string) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures == nil {
		l.failures = map[string]int{}
	}
	l.failures[what]++
}

// runLoad sends chat requests for models from workers goroutines until
// ctx ends; check classifies each answer as acceptable, or not with a
// description of what went wrong.
func runLoad(ctx context.Context, c *core, workers int, models []string, check func(*http.Response, []byte, error) (ok bool, failure string)) *loadResult {
	res := &loadResult{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				resp, b, err := c.post(rctx, "/v1/chat/completions", chatBody(models[(w+i)%len(models)]), nil)
				cancel()
				if ok, failure := check(resp, b, err); ok {
					res.ok.Add(1)
				} else {
					res.fail(failure)
				}
			}
		}()
	}
	wg.Wait()
	return res
}

// killPlugin SIGKILLs the named plugin's process and waits until the host
// has restarted it; it returns the old pid.
func killPlugin(t *testing.T, c *core, name string) int {
	t.Helper()
	before := c.pluginRow(name)
	if before.PID == 0 {
		t.Fatalf("plugin %s has no pid: %+v", name, before)
	}
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed plugin %s (pid %d)", name, before.PID)
	waitFor(t, "plugin "+name+" to be restarted", 20*time.Second, func() bool {
		r := c.pluginRow(name)
		return r.PID != 0 && r.PID != before.PID && r.Restarts > before.Restarts && r.State == "serving"
	})
	return before.PID
}

// TestPluginKilledUnderLoad is the headline: kill -9 of a provider plugin
// while requests flow.
func TestPluginKilledUnderLoad(t *testing.T) {
	// With a fallback, no client notices: requests that were inside the
	// dying plugin move to the other provider, and routing skips the
	// plugin until the host has restarted it.
	t.Run("with fallback", func(t *testing.T) {
		_, url0 := newUpstream(t, fakeupstream.Faults{Latency: 20 * time.Millisecond})
		preferred, url1 := newUpstream(t, fakeupstream.Faults{Latency: 20 * time.Millisecond})
		c := startCore(t, configFor([]string{url0, url1}, ""))
		c.waitReady()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan *loadResult, 1)
		go func() {
			done <- runLoad(ctx, c, 8, []string{"auto:quality"}, func(resp *http.Response, b []byte, err error) (bool, string) {
				switch {
				case err != nil:
					return false, err.Error()
				case resp.StatusCode != 200:
					return false, fmt.Sprintf("%d %s", resp.StatusCode, b)
				}
				return true, ""
			})
		}()
		start := time.Now()
		time.Sleep(1500 * time.Millisecond)
		calls := preferred.Requests.Load()
		if calls == 0 {
			cancel()
			<-done
			t.Fatal("the preferred provider up1 got no traffic before the kill")
		}
		killPlugin(t, c, "up1")
		// Keep the load on for a while after the restart too.
		time.Sleep(max(time.Second, 5*time.Second-time.Since(start)))
		cancel()
		res := <-done
		t.Logf("kill -9 with fallback: %d requests ok, %d failed %v", res.ok.Load(), res.failed.Load(), res.failures)
		if res.failed.Load() != 0 {
			t.Fatalf("%d requests failed: %v", res.failed.Load(), res.failures)
		}
		if res.ok.Load() == 0 {
			t.Fatal("no request ran")
		}
		if r := c.pluginRow("up1"); r.Restarts < 1 {
			t.Fatalf("up1 restarts = %d", r.Restarts)
		}
		c.waitReady()
	})

	// Without a fallback some requests fail, but each failure is a clean
	// OpenAI-shaped 503 a client knows to retry, never a 500 or a broken
	// connection; once the plugin is back requests succeed at once. The
	// crash says nothing about the vendor, so it must not open the
	// vendor's breaker, here one that two failures open for a minute.
	t.Run("single provider", func(t *testing.T) {
		_, url := newUpstream(t, fakeupstream.Faults{Latency: 20 * time.Millisecond})
		c := startCore(t, configFor([]string{url}, breakerHCL(2, time.Minute)))
		c.waitReady()
		ctx, cancel := context.WithCancel(context.Background())
		var refused atomic.Int64
		done := make(chan *loadResult, 1)
		go func() {
			done <- runLoad(ctx, c, 8, []string{"gpt-4o-mini", "auto:quality"}, func(resp *http.Response, b []byte, err error) (bool, string) {
				switch {
				case err != nil:
					return false, "transport: " + err.Error()
				case resp.StatusCode == 200:
					return true, ""
				case resp.StatusCode != http.StatusServiceUnavailable:
					return false, fmt.Sprintf("status %d: %s", resp.StatusCode, b)
				}
				code, err := errorCode(b)
				if err != nil {
					return false, "503 body: " + err.Error()
				}
				if code != "upstream_unavailable" && code != "no_route" && code != "circuit_open" {
					return false, "503 code " + code
				}
				refused.Add(1)
				return true, "" // a clean, retryable refusal
			})
		}()
		time.Sleep(1500 * time.Millisecond)
		killPlugin(t, c, "up0")
		time.Sleep(time.Second)
		cancel()
		res := <-done
		t.Logf("kill -9 without fallback: %d answered (%d of them clean 503s), %d bad %v", res.ok.Load(), refused.Load(), res.failed.Load(), res.failures)
		if res.failed.Load() != 0 {
			t.Fatalf("%d requests failed without a clean 503: %v", res.failed.Load(), res.failures)
		}
		if refused.Load() == 0 {
			t.Fatal("no request was inside the plugin when it died; the test proves nothing")
		}
		if st := c.breakerState("up0", "gpt-4o-mini"); st != "closed" {
			t.Fatalf("breaker %q after the plugin crashed, want closed", st)
		}
		for _, model := range []string{"gpt-4o-mini", "auto:quality", "gpt-4o-mini", "auto:quality"} {
			if resp, b := c.do("POST", "/v1/chat/completions", chatBody(model)); resp.StatusCode != 200 {
				t.Fatalf("%s after restart: %d %s", model, resp.StatusCode, b)
			}
		}
		c.waitReady()
	})
}

// TestStreamNeverSwitchedMidStream: once a chunk has reached the client, a
// failing stream ends with an in-band error; it is not continued by
// another provider, which would splice two answers together.
func TestStreamNeverSwitchedMidStream(t *testing.T) {
	backup, urlB := newUpstream(t, fakeupstream.Faults{})
	dropping, urlA := newUpstream(t, fakeupstream.Faults{DropAfterChunks: 2})
	// up1 (A) is preferred by the quality strategy; up0 (B) is healthy.
	c := startCore(t, configFor([]string{urlB, urlA}, ""))
	c.waitReady()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.openStream(ctx, "auto:quality")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-OneFlow-Provider") != "up1" {
		t.Fatalf("stream answered %d by %q", resp.StatusCode, resp.Header.Get("X-OneFlow-Provider"))
	}
	var content strings.Builder
	var events []string
	sawError, sawDone := false, false
	ev := newSSEEvents(resp.Body)
	for {
		data, ok := ev.next()
		if !ok {
			break
		}
		events = append(events, data)
		if data == "[DONE]" {
			sawDone = true
			continue
		}
		if sawError {
			t.Fatalf("an event followed the in-band error: %s", data)
		}
		var e struct {
			Error *struct {
				Message string `json:"message"`
				Type    string `json:"type"`
			} `json:"error"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("bad event %q: %v", data, err)
		}
		if e.Error != nil {
			if e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("in-band error without message or type: %s", data)
			}
			sawError = true
			continue
		}
		for _, ch := range e.Choices {
			content.WriteString(ch.Delta.Content)
		}
	}
	t.Logf("events: %q", events)
	if content.String() != "Hello from" {
		t.Errorf("relayed content %q, want A's first two chunks %q", content.String(), "Hello from")
	}
	if !sawError || !sawDone {
		t.Fatalf("stream ended without an in-band error (%v) and [DONE] (%v)", sawError, sawDone)
	}
	if n := backup.Requests.Load(); n != 0 {
		t.Fatalf("the backup provider was called %d times after A's stream had begun", n)
	}
	if n := dropping.Requests.Load(); n != 1 {
		t.Fatalf("the dropping provider was called %d times; a begun stream is never retried", n)
	}
}

// TestDroppedStreamIsBilled: a stream cut off after some chunks bills the
// tokens relayed so far (server.streamChat's contract), not nothing.
func TestDroppedStreamIsBilled(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{DropAfterChunks: 2})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.openStream(ctx, "gpt-4o-mini")
	if err != nil {
		t.Fatal(err)
	}
	ev := newSSEEvents(resp.Body)
	for {
		if _, ok := ev.next(); !ok {
			break
		}
	}
	resp.Body.Close()
	labels := map[string]string{"provider": "up0", "model": "gpt-4o-mini", "direction": "output"}
	waitFor(t, "output tokens of the dropped stream to be counted", 5*time.Second, func() bool {
		v, ok := c.metric("oneflow_tokens_total", labels)
		return ok && v > 0
	})

	// A client that asked for usage sees what the partial stream cost,
	// then an error event with a code it can branch on, then [DONE].
	body := chatBody("gpt-4o-mini")
	body["stream"] = true
	body["stream_options"] = map[string]any{"include_usage": true}
	_, b, err := c.post(ctx, "/v1/chat/completions", body, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	usageAt, errorAt := strings.Index(s, `"usage":{`), strings.Index(s, `"error":{`)
	if usageAt < 0 || errorAt < usageAt || !strings.Contains(s[usageAt:errorAt], `"credits":"`) {
		t.Errorf("want a usage chunk with credits before the error event:\n%s", s)
	}
	if !strings.Contains(s, `"code":"upstream_unavailable"`) || !strings.HasSuffix(s, "data: [DONE]\n\n") {
		t.Errorf("want an error event coded upstream_unavailable, then [DONE]:\n%s", s)
	}
}

// TestBreakerRefusalDoesNotHideVendorAnswer: when a request's own failed
// attempt opens the breaker, the in-place retry that the breaker then
// refuses must not replace the vendor's answer: the client sees the 429
// with the vendor's Retry-After, not circuit_open. The refused retry made
// no provider call, so it is not a provider error either.
func TestBreakerRefusalDoesNotHideVendorAnswer(t *testing.T) {
	fu, url := newUpstream(t, fakeupstream.Faults{Burst429: 10, RetryAfter: 1})
	c := startCore(t, configFor([]string{url}, breakerHCL(1, time.Minute)+retryHCL(3)))
	c.waitReady()
	resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini"))
	wantError(t, resp, b, http.StatusTooManyRequests, "upstream_rate_limited")
	if ra := resp.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After = %q, want the vendor's 1", ra)
	}
	if n := fu.Requests.Load(); n != 1 {
		t.Fatalf("the vendor saw %d requests; want 1 (the retry is refused by the breaker the 429 opened)", n)
	}
	if st := c.breakerState("up0", "gpt-4o-mini"); st != "open" {
		t.Fatalf("breaker %q, want open", st)
	}
	for kind, want := range map[string]float64{"rate_limited": 1, "unknown": 0} {
		if got, _ := c.metric("provider_errors_total", map[string]string{"provider": "up0", "kind": kind}); got != want {
			t.Errorf("provider_errors_total{kind=%q} = %v, want %v", kind, got, want)
		}
	}
}
