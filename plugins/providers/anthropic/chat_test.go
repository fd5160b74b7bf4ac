package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

func TestChatSendsAnthropicRequest(t *testing.T) {
	png := "data:image/png;base64,iVBORw0KGgo="
	tests := []struct {
		name string
		opts map[string]string
		req  *provider.ChatRequest
		want string // the body Anthropic must receive
	}{
		{
			name: "single text turn is a string, max_tokens defaults to 4096",
			req:  textRequest(user("Hello")),
			want: `{"model":"claude-3-5-sonnet-20241022","max_tokens":4096,
				"messages":[{"role":"user","content":"Hello"}]}`,
		},
		{
			name: "default max_tokens from options",
			opts: map[string]string{"default_max_tokens": "1024"},
			req:  textRequest(user("Hello")),
			want: `{"model":"claude-3-5-sonnet-20241022","max_tokens":1024,
				"messages":[{"role":"user","content":"Hello"}]}`,
		},
		{
			name: "system messages joined into the top-level system prompt",
			req: textRequest(
				provider.TextMessage(provider.RoleSystem, "You are terse."),
				user("Hi"),
				provider.TextMessage(provider.RoleSystem, "Answer in French."),
			),
			want: `{"model":"claude-3-5-sonnet-20241022","max_tokens":4096,
				"system":"You are terse.\n\nAnswer in French.",
				"messages":[{"role":"user","content":"Hi"}]}`,
		},
		{
			name: "consecutive same-role turns merged",
			req: textRequest(
				user("a"), user("b"),
				provider.TextMessage(provider.RoleAssistant, "c"),
				provider.TextMessage(provider.RoleAssistant, "d"),
				user("e"),
			),
			want: `{"model":"claude-3-5-sonnet-20241022","max_tokens":4096,"messages":[
				{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
				{"role":"assistant","content":[{"type":"text","text":"c"},{"type":"text","text":"d"}]},
				{"role":"user","content":"e"}]}`,
		},
		{
			name: "turns on either side of a system message merged, empty turn dropped",
			req: textRequest(
				user("a"),
				provider.TextMessage(provider.RoleSystem, "sys"),
				provider.TextMessage(provider.RoleAssistant, ""),
				user("b"),
			),
			want: `{"model":"claude-3-5-sonnet-20241022","max_tokens":4096,"system":"sys","messages":[
				{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`,
		},
		{
			name: "sampling, stop sequences, user and explicit max_tokens",
			req: &provider.ChatRequest{
				Model:       "claude-3-haiku-20240307",
				Messages:    []provider.Message{user("Hi")},
				Temperature: ptr(0.5),
				TopP:        ptr(0.9),
				MaxTokens:   100,
				Stop:        []string{"\n\nHuman:", "END"},
				User:        "13803d75-b4b5-4c3e-b2a2-6f21399b021b",
			},
			want: `{"model":"claude-3-haiku-20240307","max_tokens":100,
				"messages":[{"role":"user","content":"Hi"}],
				"temperature":0.5,"top_p":0.9,"stop_sequences":["\n\nHuman:","END"],
				"metadata":{"user_id":"13803d75-b4b5-4c3e-b2a2-6f21399b021b"}}`,
		},
		{
			name: "safety_identifier over user as the user id; OpenAI-only options left out",
			req: &provider.ChatRequest{
				Model:            "claude-3-haiku-20240307",
				Messages:         []provider.Message{user("Hi")},
				User:             "legacy-user-id",
				SafetyIdentifier: "user-hash-1",
				ReasoningEffort:  "low",
				Verbosity:        "low",
				LogitBias:        map[string]int64{"50256": -100},
				Metadata:         map[string]string{"team": "search"},
				Store:            ptr(true),
				PromptCacheKey:   "faq-v1",
			},
			want: `{"model":"claude-3-haiku-20240307","max_tokens":4096,
				"messages":[{"role":"user","content":"Hi"}],
				"metadata":{"user_id":"user-hash-1"}}`,
		},
		{
			name: "images as base64 and url sources",
			req: textRequest(provider.Message{Role: provider.RoleUser, Content: []provider.ContentPart{
				{Type: provider.PartText, Text: "What is in these?"},
				{Type: provider.PartImage, ImageURL: png},
				{Type: provider.PartImage, ImageURL: "https://example.com/cat.jpg"},
			}}),
			want: `{"model":"claude-3-5-sonnet-20241022","max_tokens":4096,"messages":[{"role":"user","content":[
				{"type":"text","text":"What is in these?"},
				{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
				{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				checkHeaders(t, r, "/v1/messages", "application/json")
				if got := decodeBody(t, r); !jsonEqual(t, got, tc.want) {
					b, _ := json.Marshal(got)
					t.Errorf("request body\n got %s\nwant %s", b, tc.want)
				}
				w.Header().Set("Content-Type", "application/json")
				// Spec: POST /v1/messages 200, Message examples[0] (testdata/README.md).
				_, _ = w.Write(readTestdata(t, "message.json"))
			})
			p := newPlugin(t, srv.URL, tc.opts)
			if _, err := p.Chat(context.Background(), tc.req); err != nil {
				t.Fatalf("Chat: %v", err)
			}
		})
	}
}

func TestChatMapsResponse(t *testing.T) {
	tests := []struct {
		file string // see testdata/README.md for each body's source
		want provider.ChatResponse
	}{
		{"message.json", provider.ChatResponse{
			ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-opus-4-6", Content: "Hi! My name is Claude.",
			FinishReason: provider.FinishStop, Usage: provider.Usage{InputTokens: 2095, OutputTokens: 503},
		}},
		{"message_cache.json", provider.ChatResponse{
			ID: "msg_013Zva2CMHLNnXjNJJKqJ2EF", Model: "claude-3-5-sonnet-20241022", Content: "Hi! My name is Claude.",
			FinishReason: provider.FinishLength,
			// Cache writes and reads are input too: 2095 + 2051 + 2051,
			// of which 2051 were read from the cache and 2051 written.
			Usage: provider.Usage{InputTokens: 6197, CachedInputTokens: 2051, CacheWriteTokens: 2051, OutputTokens: 503},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(readTestdata(t, tc.file))
			})
			got, err := newPlugin(t, srv.URL, nil).Chat(context.Background(), textRequest(user("Hello")))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("Chat = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// TestUsageCacheCounts covers the Usage shapes the spec allows: the cache
// counts may be null or absent (before prompt caching, or from compatible
// servers), and are never negative.
func TestUsageCacheCounts(t *testing.T) {
	tests := []struct {
		name string
		json string
		want provider.Usage
	}{
		{"no cache fields", `{"input_tokens": 10, "output_tokens": 3}`, provider.Usage{InputTokens: 10, OutputTokens: 3}},
		{"null cache fields", `{"input_tokens": 10, "cache_creation_input_tokens": null, "cache_read_input_tokens": null, "output_tokens": 3}`,
			provider.Usage{InputTokens: 10, OutputTokens: 3}},
		{"reads only", `{"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2000, "output_tokens": 3}`,
			provider.Usage{InputTokens: 2010, CachedInputTokens: 2000, OutputTokens: 3}},
		{"writes only, with the TTL breakdown", `{"input_tokens": 10, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 0,
			"cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0}, "output_tokens": 3}`,
			provider.Usage{InputTokens: 2010, CacheWriteTokens: 2000, OutputTokens: 3}},
		{"negative cache counts are not believed", `{"input_tokens": 10, "cache_creation_input_tokens": -5, "cache_read_input_tokens": -7, "output_tokens": 3}`,
			provider.Usage{InputTokens: 10, OutputTokens: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u wireUsage
			if err := json.Unmarshal([]byte(tc.json), &u); err != nil {
				t.Fatal(err)
			}
			if got := u.usage(); got != tc.want {
				t.Errorf("usage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	tests := map[string]provider.FinishReason{
		"end_turn":      provider.FinishStop,
		"stop_sequence": provider.FinishStop,
		"max_tokens":    provider.FinishLength,
		"tool_use":      provider.FinishToolCalls,
		"refusal":       provider.FinishContentFilter,
		"pause_turn":    provider.FinishStop,
		"":              "",
		"a_future_one":  provider.FinishStop,
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := finishReason(in); got != want {
				t.Errorf("finishReason(%q) = %q, want %q", in, got, want)
			}
		})
	}
}

func TestChatRejectsUnmappableRequests(t *testing.T) {
	tests := []struct {
		name string
		req  *provider.ChatRequest
		kind provider.Kind
	}{
		{"no model", &provider.ChatRequest{Messages: []provider.Message{user("hi")}}, provider.KindInvalidRequest},
		{"only a system message", textRequest(provider.TextMessage(provider.RoleSystem, "sys")), provider.KindInvalidRequest},
		{"no messages", textRequest(), provider.KindInvalidRequest},
		{"negative max tokens", &provider.ChatRequest{Model: "m", Messages: []provider.Message{user("hi")}, MaxTokens: -1}, provider.KindInvalidRequest},
		{"tool call arguments not an object", textRequest(user("hi"), provider.Message{Role: provider.RoleAssistant,
			ToolCalls: []provider.ToolCall{{ID: "toolu_1", Name: "f", Arguments: "[1]"}}}), provider.KindInvalidRequest},
		{"unknown role", textRequest(provider.TextMessage("narrator", "hi")), provider.KindInvalidRequest},
		{"image in system message", textRequest(
			provider.Message{Role: provider.RoleSystem, Content: []provider.ContentPart{{Type: provider.PartImage, ImageURL: "https://example.com/a.png"}}},
			user("hi")), provider.KindInvalidRequest},
		{"unsupported image type", textRequest(provider.Message{Role: provider.RoleUser, Content: []provider.ContentPart{
			{Type: provider.PartImage, ImageURL: "data:image/bmp;base64,Qk0="}}}), provider.KindInvalidRequest},
		{"data URL not base64", textRequest(provider.Message{Role: provider.RoleUser, Content: []provider.ContentPart{
			{Type: provider.PartImage, ImageURL: "data:image/png,rawbytes"}}}), provider.KindInvalidRequest},
		{"relative image URL", textRequest(provider.Message{Role: provider.RoleUser, Content: []provider.ContentPart{
			{Type: provider.PartImage, ImageURL: "/cat.png"}}}), provider.KindInvalidRequest},
		{"unknown part type", textRequest(provider.Message{Role: provider.RoleUser, Content: []provider.ContentPart{
			{Type: "video", Text: "x"}}}), provider.KindInvalidRequest},
	}
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	p := newPlugin(t, srv.URL, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Chat(context.Background(), tc.req)
			if got := provider.KindOf(err); got != tc.kind {
				t.Errorf("Chat error %v: kind %s, want %s", err, got, tc.kind)
			}
			err = p.ChatStream(context.Background(), tc.req, func(*provider.ChatChunk) error { return nil })
			if got := provider.KindOf(err); got != tc.kind {
				t.Errorf("ChatStream error %v: kind %s, want %s", err, got, tc.kind)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("vendor called %d times for requests that cannot be sent", n)
	}
}

func TestCountTokens(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		checkHeaders(t, r, "/v1/messages/count_tokens", "application/json")
		// CountMessageTokensParams: no max_tokens, no sampling settings.
		want := `{"model":"claude-3-5-sonnet-20241022","system":"Be brief.",
			"messages":[{"role":"user","content":"Hello, world"}]}`
		if got := decodeBody(t, r); !jsonEqual(t, got, want) {
			b, _ := json.Marshal(got)
			t.Errorf("request body\n got %s\nwant %s", b, want)
		}
		w.Header().Set("Content-Type", "application/json")
		// Spec: messages_count_tokens_post 200, CountMessageTokensResponse examples[0].
		_, _ = w.Write(readTestdata(t, "count_tokens.json"))
	})
	req := textRequest(provider.TextMessage(provider.RoleSystem, "Be brief."), user("Hello, world"))
	req.MaxTokens, req.Temperature = 10, ptr(0.2)
	n, err := newPlugin(t, srv.URL, nil).CountTokens(context.Background(), req)
	if err != nil {
		t.Fatalf("CountTokens: %v", err)
	}
	if n != 2095 {
		t.Errorf("CountTokens = %d, want 2095", n)
	}
}

func TestDescribe(t *testing.T) {
	info, err := (&Plugin{}).Describe(context.Background())
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if info.Name != "anthropic" || info.Version != "1.0.0" {
		t.Errorf("Describe = %s %s, want anthropic 1.0.0", info.Name, info.Version)
	}
	want := []string{"claude-3-opus-20240229", "claude-3-sonnet-20240229", "claude-3-haiku-20240307",
		"claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022"}
	if len(info.Models) != len(want) {
		t.Fatalf("Describe lists %d models, want %d", len(info.Models), len(want))
	}
	for i, m := range info.Models {
		if m.ID != want[i] || m.Modality != provider.ModalityText || m.ContextWindow != 200000 {
			t.Errorf("model %d = %+v, want %s text 200000", i, m, want[i])
		}
	}
}

func TestConfigureRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  provider.Config
	}{
		{"relative base URL", provider.Config{APIKey: testKey, BaseURL: "api.anthropic.com"}},
		{"non-http base URL", provider.Config{APIKey: testKey, BaseURL: "ftp://api.anthropic.com"}},
		{"unparsable base URL with a secret", provider.Config{APIKey: testKey, BaseURL: "https://user:hunter2@[::1"}},
		{"default_max_tokens not a number", provider.Config{APIKey: testKey, Options: map[string]string{"default_max_tokens": "lots"}}},
		{"default_max_tokens zero", provider.Config{APIKey: testKey, Options: map[string]string{"default_max_tokens": "0"}}},
		{"default_max_tokens negative", provider.Config{APIKey: testKey, Options: map[string]string{"default_max_tokens": "-5"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Plugin{}).Configure(context.Background(), tc.cfg)
			if provider.KindOf(err) != provider.KindUnconfigured {
				t.Fatalf("Configure error %v, want KindUnconfigured", err)
			}
			assertNoKey(t, err)
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes the base URL's password: %v", err)
			}
		})
	}
}

func TestUnconfiguredCallsFail(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	emptyKey := &Plugin{}
	if err := emptyKey.Configure(context.Background(), provider.Config{BaseURL: srv.URL}); err != nil {
		t.Fatalf("Configure with empty key: %v", err)
	}
	for name, p := range map[string]*Plugin{"never configured": {}, "empty key": emptyKey} {
		t.Run(name, func(t *testing.T) {
			ctx, req := context.Background(), textRequest(user("hi"))
			_, err := p.Chat(ctx, req)
			if provider.KindOf(err) != provider.KindUnconfigured {
				t.Errorf("Chat error %v, want KindUnconfigured", err)
			}
			err = p.ChatStream(ctx, req, func(*provider.ChatChunk) error { return nil })
			if provider.KindOf(err) != provider.KindUnconfigured {
				t.Errorf("ChatStream error %v, want KindUnconfigured", err)
			}
			_, err = p.CountTokens(ctx, req)
			if provider.KindOf(err) != provider.KindUnconfigured {
				t.Errorf("CountTokens error %v, want KindUnconfigured", err)
			}
			if _, err := p.Describe(ctx); err != nil {
				t.Errorf("Describe: %v; it must work without a key", err)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("vendor called %d times without a key", n)
	}
}
