package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
	"github.com/oneflow-ai/oneflow/core/internal/pricing"
)

// chatUsageJSON is the usage object of a chat completion or of a
// stream's usage chunk.
type chatUsageJSON struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"prompt_tokens_details"`
	Credits string `json:"credits"`
}

// streamUsage sends body as a stream with the usage chunk asked for and
// returns that chunk's usage.
func streamUsage(t *testing.T, c *core, key string, body map[string]any) chatUsageJSON {
	t.Helper()
	body["stream"] = true
	body["stream_options"] = map[string]any{"include_usage": true}
	resp, b := c.doAs(key, "POST", "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	var last *chatUsageJSON
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch struct {
			Usage *chatUsageJSON `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			t.Fatalf("bad chunk %q: %v", data, err)
		}
		if ch.Usage != nil {
			last = ch.Usage
		}
	}
	if last == nil {
		t.Fatalf("no usage chunk in\n%s", b)
	}
	return *last
}

// credits renders pico-USD as the exact credits OneFlow charges at the
// default 100 credits per USD: pico × 100 / 10⁶ micro-credits, rounded up.
func credits(pico int64) string {
	return pricing.FormatCredits((pico + 9_999) / 10_000)
}

// TestPromptCacheOpenAI bills OpenAI's prompt_tokens_details.cached_tokens
// through the real plugin: at the model's cached_input_price where it has
// one, at the input price where it has none, whole and streamed alike, and
// records the count in usage, the usage API and the metrics.
func TestPromptCacheOpenAI(t *testing.T) {
	const cached = 1024
	fu := fakeupstream.New(fakeupstream.Faults{}, 1)
	fu.CachedTokens = cached // before serving: the handlers read it
	srv := httptest.NewServer(fu)
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1"
	// Two providers on one vendor: one prices cached input at half the
	// input price, the other leaves it out.
	extra := fmt.Sprintf(`
provider "cached" {
  plugin   = "openai"
  api_key  = env("TEST_UPSTREAM_KEY")
  base_url = %q
  model "gpt-4o-mini" {
    input_price        = 1
    output_price       = 2
    cached_input_price = 0.5
  }
}
provider "plain" {
  plugin   = "openai"
  api_key  = env("TEST_UPSTREAM_KEY")
  base_url = %q
  model "gpt-4o-mini" {
    input_price  = 1
    output_price = 2
  }
}
`, url, url)
	c := startCore(t, configFor(nil, extra))
	c.waitReady()
	p, keys := setupProject(t, c, "prompt-cache", "100")
	// A prompt long enough to be cached: the fake counts 4 bytes a token.
	long := strings.Repeat("You are a careful assistant. ", 200)
	body := func(model string) map[string]any {
		return map[string]any{"model": model, "messages": []map[string]any{{"role": "system", "content": long}, {"role": "user", "content": "Say hello"}}}
	}
	// pico-USD of an answer: the fake answers 5 tokens at $2/M.
	cost := func(u chatUsageJSON, cachedPrice int64) int64 {
		return (u.PromptTokens-u.PromptTokensDetails.CachedTokens)*1_000_000 + u.PromptTokensDetails.CachedTokens*cachedPrice + u.CompletionTokens*2_000_000
	}

	var spent int64 // micro-credits, from the answers
	check := func(name string, u chatUsageJSON, header string, cachedPrice int64) {
		t.Helper()
		if u.PromptTokens <= cached || u.PromptTokensDetails.CachedTokens != cached || u.PromptTokensDetails.CacheWriteTokens != 0 || u.CompletionTokens != 5 {
			t.Fatalf("%s: usage %+v, want %d of the prompt cached and 5 completion tokens", name, u, cached)
		}
		want := credits(cost(u, cachedPrice))
		if u.Credits != want || (header != "" && header != want) {
			t.Errorf("%s: credits %q (header %q), want %s", name, u.Credits, header, want)
		}
		mc, err := pricing.ParseCredits(want)
		if err != nil {
			t.Fatal(err)
		}
		spent += mc
	}

	resp, b := c.doAs(keys["member"], "POST", "/v1/chat/completions", body("cached/gpt-4o-mini"))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	whole := decode[struct{ Usage chatUsageJSON }](t, b).Usage
	check("whole, cached price", whole, resp.Header.Get("X-OneFlow-Credits"), 500_000)
	// The same prompt at the input price costs more.
	if full := credits(cost(whole, 1_000_000)); full == whole.Credits {
		t.Fatalf("a cache hit cost the full %s", full)
	}

	streamed := streamUsage(t, c, keys["member"], body("cached/gpt-4o-mini"))
	check("stream, cached price", streamed, "", 500_000)
	if streamed != whole {
		t.Errorf("streamed usage %+v, whole %+v", streamed, whole)
	}

	resp, b = c.doAs(keys["member"], "POST", "/v1/chat/completions", body("plain/gpt-4o-mini"))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	check("whole, no cached price", decode[struct{ Usage chatUsageJSON }](t, b).Usage, resp.Header.Get("X-OneFlow-Credits"), 1_000_000)

	// OneFlow's own API reports the count too.
	resp, b = c.doAs(keys["member"], "POST", "/api/v1/request", map[string]any{"model": "cached/gpt-4o-mini", "prompt": long})
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	req := decode[struct {
		Usage struct {
			InputTokens       int64 `json:"input_tokens"`
			CachedInputTokens int64 `json:"cached_input_tokens"`
			CacheWriteTokens  int64 `json:"cache_write_tokens"`
			OutputTokens      int64 `json:"output_tokens"`
		} `json:"usage"`
		CreditsCharged string `json:"credits_charged"`
	}](t, b)
	var ru chatUsageJSON
	ru.PromptTokens, ru.PromptTokensDetails.CachedTokens, ru.CompletionTokens = req.Usage.InputTokens, req.Usage.CachedInputTokens, req.Usage.OutputTokens
	ru.Credits = req.CreditsCharged
	check("/api/v1/request", ru, resp.Header.Get("X-OneFlow-Credits"), 500_000)

	// The project paid exactly what the answers said.
	waitFor(t, "the charges to settle", 15*time.Second, func() bool {
		_, b := c.do("GET", "/api/v1/admin/projects/"+p.ID, nil)
		return parseMicro(t, "100")-parseMicro(t, decode[projectResp](t, b).BalanceCredits) == spent
	})

	// Usage records keep the count: three cached calls on one model, one
	// on the other (the vendor reported it; it just cost the input price).
	waitFor(t, "usage records with cache counts", 15*time.Second, func() bool {
		_, b := c.doAs(keys["viewer"], "GET", "/api/v1/usage?group_by=model", nil)
		rows := decode[struct {
			Data []struct {
				Key               string `json:"key"`
				Requests          int64  `json:"requests"`
				CachedInputTokens int64  `json:"cached_input_tokens"`
				CacheWriteTokens  int64  `json:"cache_write_tokens"`
			} `json:"data"`
		}](t, b).Data
		got := map[string]int64{}
		for _, r := range rows {
			got[r.Key] = r.CachedInputTokens
			if r.CacheWriteTokens != 0 {
				t.Fatalf("usage row %+v has cache writes", r)
			}
		}
		return got["cached/gpt-4o-mini"] == 3*cached && got["plain/gpt-4o-mini"] == cached
	})

	for provider, want := range map[string]float64{"cached": 3 * cached, "plain": cached} {
		got, ok := c.metric("oneflow_prompt_cache_tokens_total", map[string]string{"provider": provider, "model": "gpt-4o-mini", "kind": "read"})
		if !ok || got != want {
			t.Errorf("oneflow_prompt_cache_tokens_total{provider=%q,kind=read} = %v (%v), want %v", provider, got, ok, want)
		}
	}
}

// fakeAnthropic answers POST /v1/messages with the shapes of Anthropic's
// API for a prompt-cache hit: a Message whose Usage has the schema's
// example counts (2095 uncached, 2051 written, 2051 read, 503 out), or
// the documented streaming transcript with cache counts in message_start,
// restated cumulatively in message_delta.
func fakeAnthropic(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/v1/messages" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","content":[{"type":"text","text":"Hi! My name is Claude."}],"model":%q,"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":2051,"cache_read_input_tokens":2051,"output_tokens":503}}`, req.Model)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []struct{ name, data string }{
			{"message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":%q,"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":2051,"output_tokens":1}}}`, req.Model)},
			{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
			{"ping", `{"type":"ping"}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}`},
			{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}`},
			{"content_block_stop", `{"type":"content_block_stop","index":0}`},
			{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":2051,"output_tokens":15}}`},
			{"message_stop", `{"type":"message_stop"}`},
		} {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, ev.data)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

// TestPromptCacheAnthropic bills Anthropic's cache reads at a tenth and
// cache writes at 1.25 times the input price through the real plugin, and
// sizes the credit hold as the estimate does: OneFlow never asks Anthropic
// to write to its cache, so holds do not reserve the write surcharge.
func TestPromptCacheAnthropic(t *testing.T) {
	url, calls := fakeAnthropic(t)
	extra := fmt.Sprintf(`
plugin "anthropic" {
  kind = "provider"
  path = %q
}
provider "anthropic" {
  plugin   = "anthropic"
  api_key  = env("TEST_UPSTREAM_KEY")
  base_url = %q
  model "claude-3-5-sonnet-20241022" {
    input_price        = 3
    output_price       = 15
    cached_input_price = 0.30
    cache_write_price  = 3.75
  }
}
`, filepath.Join(bin, "oneflow-provider-anthropic"), url)
	c := startCore(t, configFor(nil, extra))
	c.waitReady()
	const model = "claude-3-5-sonnet-20241022"

	resp, b := c.do("POST", "/v1/chat/completions", chatBody(model))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	whole := decode[struct{ Usage chatUsageJSON }](t, b).Usage
	// 2095×$3 + 2051×$3.75 + 2051×$0.30 + 503×$15 per 1M = $0.02213655;
	// at the input price throughout it would be $0.026136.
	if whole.PromptTokens != 6197 || whole.PromptTokensDetails.CachedTokens != 2051 || whole.PromptTokensDetails.CacheWriteTokens != 2051 ||
		whole.CompletionTokens != 503 || whole.Credits != "2.213655" || resp.Header.Get("X-OneFlow-Credits") != "2.213655" {
		t.Errorf("whole answer usage %+v (header %s), want 6197 in (2051 read, 2051 written), 503 out, 2.213655 credits", whole, resp.Header.Get("X-OneFlow-Credits"))
	}

	// 25×$3 + 2051×$0.30 + 15×$15 per 1M = $0.0009153.
	streamed := streamUsage(t, c, testKey, chatBody(model))
	if streamed.PromptTokens != 2076 || streamed.PromptTokensDetails.CachedTokens != 2051 || streamed.PromptTokensDetails.CacheWriteTokens != 0 ||
		streamed.CompletionTokens != 15 || streamed.Credits != "0.09153" {
		t.Errorf("streamed usage %+v, want 2076 in (2051 read), 15 out, 0.09153 credits", streamed)
	}
	for kind, want := range map[string]float64{"read": 2 * 2051, "write": 2051} {
		if got, ok := c.metric("oneflow_prompt_cache_tokens_total", map[string]string{"provider": "anthropic", "model": model, "kind": kind}); !ok || got != want {
			t.Errorf("oneflow_prompt_cache_tokens_total{kind=%q} = %v (%v), want %v", kind, got, ok, want)
		}
	}

	// The hold is the estimate at the input price, and the refusal names it.
	_, poor := setupProject(t, c, "poor", "0.000001")
	req := chatBody(model)
	req["max_tokens"] = 100
	resp, b = c.do("POST", "/api/v1/estimate", map[string]any{"model": model, "messages": req["messages"], "output_tokens": 100})
	if resp.StatusCode != 200 {
		t.Fatalf("estimate: %d %s", resp.StatusCode, b)
	}
	est := decode[struct {
		InputTokens      int64  `json:"input_tokens"`
		EstimatedCredits string `json:"estimated_credits"`
	}](t, b)
	if want := credits(est.InputTokens*3_000_000 + 100*15_000_000); est.EstimatedCredits != want {
		t.Fatalf("estimate %s, want %s at the input price", est.EstimatedCredits, want)
	}
	before := calls.Load()
	resp, b = c.doAs(poor["member"], "POST", "/v1/chat/completions", req)
	hold := est.EstimatedCredits
	if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(string(b), "maximum cost ("+hold+" credits)") {
		t.Fatalf("%d %s; want 402 naming the hold of %s credits (estimate %s)", resp.StatusCode, b, hold, est.EstimatedCredits)
	}
	if calls.Load() != before {
		t.Error("a refused call reached the vendor")
	}
}

// TestPromptCacheCountsThatDoNotAddUp: a plugin reporting more cache reads
// than input tokens gets no discount (and no free call): its input is
// billed at the input price and the operator is told which request.
func TestPromptCacheCountsThatDoNotAddUp(t *testing.T) {
	extra := fmt.Sprintf(`
plugin "testplugin" {
  kind = "provider"
  path = %q
  env  = { TESTPLUGIN_CACHED_INPUT_TOKENS = "5" }
}
provider "broken" {
  plugin = "testplugin"
  model "echo" {
    input_price        = 1
    output_price       = 1
    cached_input_price = 0
  }
}
`, filepath.Join(bin, "testplugin"))
	c := startCore(t, configFor(nil, extra))
	c.waitReady()
	resp, b := c.do("POST", "/v1/chat/completions", chatBody("broken/echo"))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// 1 input token and 1 output token at $1/M each: 200 micro-credits.
	u := decode[struct{ Usage chatUsageJSON }](t, b).Usage
	if u.Credits != "0.0002" || resp.Header.Get("X-OneFlow-Credits") != "0.0002" {
		t.Errorf("usage %+v (header %s), want the full 0.0002 credits", u, resp.Header.Get("X-OneFlow-Credits"))
	}
	// The discarded counts appear nowhere: the client, the usage records
	// and the metrics show what was billed.
	if u.PromptTokensDetails.CachedTokens != 0 || u.PromptTokensDetails.CacheWriteTokens != 0 {
		t.Errorf("usage %+v shows cache counts the core ignored", u)
	}
	waitFor(t, "the warning about the plugin's counts", 5*time.Second, func() bool {
		return strings.Contains(c.Logs(), "prompt-cache counts that are not parts of its input tokens") &&
			strings.Contains(c.Logs(), `"request_id":"`+resp.Header.Get("X-Request-ID")+`"`)
	})
	waitFor(t, "the call's usage record", 15*time.Second, func() bool {
		_, b := c.do("GET", "/api/v1/usage?group_by=model", nil)
		for _, r := range decode[struct {
			Data []struct {
				Key               string `json:"key"`
				InputTokens       int64  `json:"input_tokens"`
				CachedInputTokens int64  `json:"cached_input_tokens"`
			} `json:"data"`
		}](t, b).Data {
			if r.Key == "broken/echo" {
				if r.CachedInputTokens != 0 {
					t.Fatalf("usage row %+v keeps cache counts the core ignored", r)
				}
				return r.InputTokens > 0
			}
		}
		return false
	})
	if got, ok := c.metric("oneflow_prompt_cache_tokens_total", map[string]string{"provider": "broken"}); ok && got != 0 {
		t.Errorf("oneflow_prompt_cache_tokens_total{provider=broken} = %v, want 0", got)
	}
}
