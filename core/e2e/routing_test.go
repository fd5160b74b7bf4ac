package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// TestFallbackChain: three upstreams, the two the quality strategy ranks
// first fail; the third answers and every attempt is reported.
func TestFallbackChain(t *testing.T) {
	_, ok := newUpstream(t, fakeupstream.Faults{})
	bad1, url1 := newUpstream(t, fakeupstream.Faults{ErrorRate: 1})
	bad2, url2 := newUpstream(t, fakeupstream.Faults{ErrorRate: 1})
	c := startCore(t, configFor([]string{ok, url1, url2}, ""))
	c.waitReady()
	resp, b := c.do("POST", "/api/v1/request", map[string]any{"prompt": "Say hello", "strategy": "quality", "max_tokens": 50})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		Output         string `json:"output"`
		ModelUsed      string `json:"model_used"`
		Provider       string `json:"provider"`
		CreditsCharged string `json:"credits_charged"`
		Attempts       []struct {
			Provider, Model, Outcome string
		} `json:"attempts"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, a := range out.Attempts {
		got = append(got, a.Provider+":"+a.Outcome)
	}
	want := "up2:unavailable up1:unavailable up0:ok"
	if strings.Join(got, " ") != want || out.Provider != "up0" || out.Output == "" {
		t.Fatalf("attempts %v (want %s), body %s", got, want, b)
	}
	if bad1.Requests.Load() != 1 || bad2.Requests.Load() != 1 {
		t.Fatalf("failing upstreams called %d and %d times; want once each", bad1.Requests.Load(), bad2.Requests.Load())
	}
	if out.CreditsCharged == "" || out.CreditsCharged == "0" {
		t.Fatalf("credits_charged %q", out.CreditsCharged)
	}
}

// TestStreamedAndWholeBilledAlike: the same call streamed and not streamed
// reports the same usage and credits.
func TestStreamedAndWholeBilledAlike(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	body := chatBody("gpt-4o-mini")
	resp, b := c.do("POST", "/v1/chat/completions", body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var whole struct {
		Usage map[string]any `json:"usage"`
	}
	if err := json.Unmarshal(b, &whole); err != nil {
		t.Fatal(err)
	}
	body["stream"] = true
	body["stream_options"] = map[string]any{"include_usage": true}
	resp, b = c.do("POST", "/v1/chat/completions", body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	var streamed map[string]any
	var sawDone bool
	finishes := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			sawDone = true
			continue
		}
		var ch struct {
			Object  string         `json:"object"`
			Usage   map[string]any `json:"usage"`
			Choices []struct {
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("bad chunk %q: %v", line, err)
		}
		if ch.Object != "chat.completion.chunk" {
			t.Fatalf("chunk object %q", ch.Object)
		}
		for _, c := range ch.Choices {
			if c.FinishReason != nil {
				finishes++
			}
		}
		if ch.Usage != nil {
			streamed = ch.Usage
		}
	}
	if !sawDone {
		t.Fatal("stream did not end with data: [DONE]")
	}
	// SDKs close the answer (and its last tool call) on each one.
	if finishes != 1 {
		t.Errorf("%d chunks carry a finish_reason, want 1:\n%s", finishes, b)
	}
	for _, k := range []string{"prompt_tokens", "completion_tokens", "total_tokens", "credits"} {
		if whole.Usage[k] != streamed[k] {
			t.Errorf("%s: whole %v, streamed %v", k, whole.Usage[k], streamed[k])
		}
	}
}

func TestErrorsInOpenAIShape(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	with := func(k string, v any) map[string]any {
		b := chatBody("gpt-4o-mini")
		b[k] = v
		return b
	}
	tool := []any{map[string]any{"type": "function", "function": map[string]any{"name": "f", "parameters": map[string]any{"type": "object"}}}}
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		param  string // "" when any
	}{
		{"unknown model", chatBody("nope"), 404, "model_not_found", "model"},
		{"no messages", map[string]any{"model": "gpt-4o-mini", "messages": []any{}}, 400, "invalid_request", "messages"},
		{"bad role", map[string]any{"model": "gpt-4o-mini", "messages": []any{map[string]any{"role": "wizard", "content": "x"}}}, 400, "invalid_request", "messages[0].role"},
		{"bad temperature", map[string]any{"model": "gpt-4o-mini", "temperature": 7, "messages": []any{map[string]any{"role": "user", "content": "x"}}}, 400, "invalid_request", "temperature"},
		{"unknown strategy", chatBody("auto:nope"), 400, "unknown_strategy", ""},
		{"not json", "{", 400, "invalid_json", ""},
		{"messages of the wrong type", map[string]any{"model": "gpt-4o-mini", "messages": "hi"}, 400, "invalid_request", "messages"},
		{"bad content part", map[string]any{"model": "gpt-4o-mini", "messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "video"}}}}}, 400, "invalid_request", ""},
		{"max_tokens 0", with("max_tokens", 0), 400, "invalid_request", "max_tokens"},
		{"presence_penalty out of range", with("presence_penalty", 3), 400, "invalid_request", "presence_penalty"},
		// Features the gateway cannot carry are refused, not dropped.
		{"functions", with("functions", []any{map[string]any{"name": "f"}}), 400, "unsupported_parameter", "functions"},
		{"tool_choice without tools", with("tool_choice", "required"), 400, "invalid_request", "tool_choice"},
		{"tool_choice naming no tool", func() map[string]any {
			b := with("tools", tool)
			b["tool_choice"] = map[string]any{"type": "function", "function": map[string]any{"name": "g"}}
			return b
		}(), 400, "invalid_request", "tool_choice"},
		{"tool of another type", with("tools", []any{map[string]any{"type": "custom", "function": map[string]any{"name": "f"}}}), 400, "invalid_request", "tools[0].type"},
		{"tool with a bad name", with("tools", []any{map[string]any{"type": "function", "function": map[string]any{"name": "get weather"}}}), 400, "invalid_request", "tools[0].function.name"},
		{"tool result without its call id", with("messages", []any{map[string]any{"role": "tool", "content": "18"}}), 400, "invalid_request", "messages[0].tool_call_id"},
		{"tool result for no call", with("messages", []any{map[string]any{"role": "user", "content": "hi"}, map[string]any{"role": "tool", "tool_call_id": "call_x", "content": "18"}}), 400, "invalid_request", "messages[1].tool_call_id"},
		{"two tools of one name", with("tools", append(append([]any{}, tool...), tool...)), 400, "invalid_request", "tools[1].function.name"},
		{"response_format of an unknown type", with("response_format", map[string]any{"type": "yaml"}), 400, "invalid_request", "response_format"},
		{"json_schema without its schema", with("response_format", map[string]any{"type": "json_schema"}), 400, "invalid_request", "response_format"},
		{"logprobs", with("logprobs", true), 400, "unsupported_parameter", "logprobs"},
		{"audio out", with("modalities", []string{"text", "audio"}), 400, "unsupported_parameter", "modalities"},
		{"unknown reasoning_effort", with("reasoning_effort", "extreme"), 400, "invalid_request", "reasoning_effort"},
		{"unknown verbosity", with("verbosity", "loud"), 400, "invalid_request", "verbosity"},
		{"logit_bias out of range", with("logit_bias", map[string]int{"50256": 101}), 400, "invalid_request", "logit_bias"},
		{"logit_bias on a word", with("logit_bias", map[string]int{"hello": 1}), 400, "invalid_request", "logit_bias"},
		{"metadata too long", with("metadata", map[string]string{"k": strings.Repeat("v", 513)}), 400, "invalid_request", "metadata"},
		{"seventeen metadata pairs", with("metadata", func() map[string]string {
			m := map[string]string{}
			for i := range 17 {
				m[fmt.Sprint("k", i)] = "v"
			}
			return m
		}()), 400, "invalid_request", "metadata"},
		{"safety_identifier too long", with("safety_identifier", strings.Repeat("é", 65)), 400, "invalid_request", "safety_identifier"},
		{"metadata of numbers", with("metadata", map[string]int{"k": 1}), 400, "invalid_request", "metadata"},
		{"metadata key too long", with("metadata", map[string]string{strings.Repeat("k", 65): "v"}), 400, "invalid_request", "metadata"},
		{"fractional logit_bias", with("logit_bias", map[string]float64{"50256": 1.5}), 400, "invalid_request", "logit_bias"},
		{"fractional max_tokens", with("max_tokens", 10.5), 400, "invalid_request", "max_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			var b []byte
			if s, ok := tt.body.(string); ok {
				req, _ := http.NewRequest("POST", c.base+"/v1/chat/completions", strings.NewReader(s))
				req.Header.Set("Authorization", "Bearer "+testKey)
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Body.Close()
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(r.Body)
				resp, b = r, buf.Bytes()
			} else {
				resp, b = c.do("POST", "/v1/chat/completions", tt.body)
			}
			var e struct {
				Error struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Code    *string `json:"code"`
					Param   *string `json:"param"`
				} `json:"error"`
			}
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("not JSON: %s", b)
			}
			if resp.StatusCode != tt.status || e.Error.Code == nil || *e.Error.Code != tt.code || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("got %d %s", resp.StatusCode, b)
			}
			if tt.param != "" && (e.Error.Param == nil || *e.Error.Param != tt.param) {
				t.Fatalf("param: want %q, got %s", tt.param, b)
			}
			// Messages speak the API's language, not the decoder's.
			if strings.Contains(e.Error.Message, "Go struct") || strings.Contains(e.Error.Message, "server.") {
				t.Fatalf("message leaks Go internals: %s", b)
			}
		})
	}
}

// TestToolsRouteOnlyToPluginsThatCarryThem: a request with tools never
// reaches a plugin that does not declare them (it would answer as text):
// naming such a model is a 400, and auto routing passes over it. The
// example echo plugin does not declare tools and is the cheapest model.
func TestToolsRouteOnlyToPluginsThatCarryThem(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, fmt.Sprintf(`
plugin "echo" {
  kind = "provider"
  path = %q
}
provider "echo" {
  plugin = "echo"
  model "echo-1" {
    modality       = "text"
    input_price    = 0.01
    output_price   = 0.01
    quality        = 10
    context_window = 128000
  }
}
`, filepath.Join(bin, "oneflow-provider-echo"))))
	c.waitReady()
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "parameters": map[string]any{"type": "object"}}}}

	body := chatBody("echo-1")
	body["tools"] = tools
	resp, b := c.do("POST", "/v1/chat/completions", body)
	wantError(t, resp, b, http.StatusBadRequest, "model_unsupported")

	body = chatBody("echo-1")
	body["response_format"] = map[string]any{"type": "json_object"}
	resp, b = c.do("POST", "/v1/chat/completions", body)
	wantError(t, resp, b, http.StatusBadRequest, "model_unsupported")

	tests := []struct {
		name     string
		tools    bool
		json     bool
		history  bool
		provider string
	}{
		{"without tools the cheapest model answers", false, false, false, "echo"},
		{"with tools only a plugin that carries them does", true, false, false, "up0"},
		{"JSON mode only goes to a plugin that honours it", false, true, false, "up0"},
		// The turn that sends results back often omits tools; echo would
		// drop the call and its result.
		{"tool calls in the history need tools too", false, false, true, "up0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := chatBody("auto:cost")
			if tt.tools {
				body["tools"] = tools
			}
			if tt.json {
				body["response_format"] = map[string]any{"type": "json_object"}
			}
			if tt.history {
				body["messages"] = []any{
					map[string]any{"role": "user", "content": "Weather?"},
					map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
						"id": "call_1", "type": "function", "function": map[string]any{"name": "get_weather", "arguments": "{}"}}}},
					map[string]any{"role": "tool", "tool_call_id": "call_1", "content": "18C"},
				}
			}
			resp, b := c.do("POST", "/v1/chat/completions", body)
			if resp.StatusCode != 200 || resp.Header.Get("X-OneFlow-Provider") != tt.provider {
				t.Fatalf("auto:cost: %d from %q, want %s: %s", resp.StatusCode, resp.Header.Get("X-OneFlow-Provider"), tt.provider, b)
			}
			if tt.tools && !strings.Contains(string(b), `"tool_calls"`) {
				t.Fatalf("no tool call in %s", b)
			}
		})
	}
}

// TestOpenAIOptionsReachTheVendor: OpenAI's per-request options a client
// sets travel through the core and the provider plugin to the vendor under
// their own names; a request without them sends none.
func TestOpenAIOptionsReachTheVendor(t *testing.T) {
	fu, url := newUpstream(t, fakeupstream.Faults{})
	fu.SetRecording(true)
	c := startCore(t, configFor([]string{url}, ""))
	c.waitReady()
	options := map[string]any{
		"reasoning_effort": "minimal",
		"verbosity":        "low",
		"logit_bias":       map[string]any{"50256": -100.0},
		// 512 characters is OpenAI's limit, though it is 1024 bytes here.
		"metadata":          map[string]any{"team": strings.Repeat("é", 512)},
		"store":             false,
		"safety_identifier": "user-hash-1",
		"prompt_cache_key":  "faq-v1",
	}
	body := chatBody("gpt-4o-mini")
	maps.Copy(body, options)
	for _, b := range []map[string]any{body, chatBody("gpt-4o-mini")} {
		if resp, rb := c.do("POST", "/v1/chat/completions", b); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, rb)
		}
	}
	seen := fu.Seen()
	if len(seen) != 2 {
		t.Fatalf("the vendor saw %d requests, want 2", len(seen))
	}
	for i, want := range []map[string]any{options, {}} {
		var got map[string]any
		if err := json.Unmarshal(seen[i].Body, &got); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for k := range options {
			if _, sent := want[k]; !sent {
				if v, ok := got[k]; ok {
					t.Errorf("request %d: %s = %v reached the vendor, but the client did not set it", i, k, v)
				}
				continue
			}
			if !reflect.DeepEqual(got[k], want[k]) {
				t.Errorf("request %d: the vendor got %s = %#v, want %#v", i, k, got[k], want[k])
			}
		}
	}
}

// TestModelOfAnotherModalityIsRefused: a model named on an endpoint of
// another modality is a 400 naming the model, never a call: an image
// model's chat would be billed at image prices (nothing, for tokens),
// and the vendor would be asked for something the model does not do.
// /v1/models reports no creation time for a model without an effective
// date, rather than year 1.
func TestModelOfAnotherModalityIsRefused(t *testing.T) {
	up, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, fmt.Sprintf(`
provider "media" {
  plugin   = "openai"
  api_key  = env("TEST_UPSTREAM_KEY")
  base_url = %q
  model "dall-e-3" {
    modality     = "image"
    image_prices = { "1024x1024" = 0.04 }
  }
  model "text-embedding-3-small" {
    modality    = "embedding"
    input_price = 0.02
  }
}
`, url)))
	c.waitReady()
	up.SetRecording(true)

	tests := []struct {
		name, path string
		body       map[string]any
	}{
		{"image model on chat", "/v1/chat/completions", chatBody("dall-e-3")},
		{"embedding model on chat", "/v1/chat/completions", chatBody("text-embedding-3-small")},
		{"chat model on embeddings", "/v1/embeddings", map[string]any{"model": "gpt-4o-mini", "input": "hello"}},
		{"chat model on images", "/v1/images/generations", map[string]any{"model": "gpt-4o-mini", "prompt": "a cat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := c.do("POST", tt.path, tt.body)
			wantError(t, resp, b, http.StatusBadRequest, "model_unsupported")
			if !strings.Contains(string(b), `"param":"model"`) {
				t.Errorf("error does not name the model parameter: %s", b)
			}
		})
	}
	if seen := up.Seen(); len(seen) != 0 {
		t.Errorf("the vendor got %d requests for models of the wrong modality; want 0", len(seen))
	}

	resp, b := c.do("GET", "/v1/models/dall-e-3", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/models/dall-e-3: %d %s", resp.StatusCode, b)
	}
	var m struct{ Created int64 }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Created != 0 {
		t.Errorf("created = %d for a model without an effective date; want 0", m.Created)
	}
}
