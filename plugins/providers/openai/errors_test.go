package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// call is one vendor-calling method of the plugin, for tests that must
// hold for all of them.
type call struct {
	name string
	path string
	run  func(context.Context, *Plugin) error
}

func allCalls() []call {
	return []call{
		{"chat", "/v1/chat/completions", func(ctx context.Context, p *Plugin) error {
			_, err := p.Chat(ctx, helloRequest())
			return err
		}},
		{"chat stream", "/v1/chat/completions", func(ctx context.Context, p *Plugin) error {
			return p.ChatStream(ctx, helloRequest(), func(*provider.ChatChunk) error { return nil })
		}},
		{"embed", "/v1/embeddings", func(ctx context.Context, p *Plugin) error {
			_, err := p.Embed(ctx, &provider.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"hi"}})
			return err
		}},
		{"image", "/v1/images/generations", func(ctx context.Context, p *Plugin) error {
			_, err := p.GenerateImage(ctx, &provider.ImageRequest{Model: "dall-e-3", Prompt: "otter"})
			return err
		}},
		{"speech", "/v1/audio/speech", func(ctx context.Context, p *Plugin) error {
			_, err := p.Speech(ctx, &provider.SpeechRequest{Model: "tts-1", Input: "hi"})
			return err
		}},
	}
}

// TestVendorErrors maps each documented error class for every method, and
// checks that no message carries the key, even when the vendor quotes it.
func TestVendorErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		body          []byte
		header        map[string]string
		kind          provider.Kind
		retryAfter    time.Duration
		messageHas    string
		messageHasNot string
	}{
		{name: "401 bad key", status: 401, body: fixture(t, "error_401.json"), kind: provider.KindAuth, messageHas: "Incorrect API key provided."},
		{name: "403 region", status: 403, body: fixture(t, "error_403.json"), kind: provider.KindAuth, messageHas: "Country, region, or territory not supported"},
		{name: "400 bad body", status: 400, body: fixture(t, "error_400.json"), kind: provider.KindInvalidRequest, messageHas: "could not parse the JSON body"},
		{name: "404 unknown model", status: 404, body: fixture(t, "error_404.json"), kind: provider.KindInvalidRequest, messageHas: "does not exist"},
		{name: "422 invalid", status: 422, body: fixture(t, "error_422.json"), kind: provider.KindInvalidRequest, messageHas: "Invalid value for 'messages'"},
		{name: "429 rate limited", status: 429, body: fixture(t, "error_429.json"), header: map[string]string{"Retry-After": "7"},
			kind: provider.KindRateLimited, retryAfter: 7 * time.Second, messageHas: "Rate limit reached"},
		{name: "500 server error", status: 500, body: fixture(t, "error_500.json"), kind: provider.KindUnavailable, messageHas: "server had an error"},
		{name: "503 overloaded", status: 503, body: fixture(t, "error_503.json"), kind: provider.KindUnavailable, messageHas: "currently overloaded"},
		{
			name:   "401 quoting a masked key",
			status: 401,
			// The form of OpenAI's real message (error-code guide,
			// "401 - Incorrect API key provided").
			body:       []byte(`{"error":{"message":"Incorrect API key provided: sk-test-****S3cretK3y. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`),
			kind:       provider.KindAuth,
			messageHas: "Incorrect API key provided: sk-[redacted]. You can find",
		},
		{
			name:       "compatible server echoing the whole key",
			status:     401,
			body:       []byte(`{"error":{"message":"invalid key '` + testKey + `' (key=` + testKey + `)","type":"auth","code":401}}`),
			kind:       provider.KindAuth,
			messageHas: "invalid key",
		},
		{
			name:       "vLLM top-level error",
			status:     400,
			body:       []byte(`{"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}`),
			kind:       provider.KindInvalidRequest,
			messageHas: "maximum context length",
		},
		{
			name:       "FastAPI validation detail",
			status:     422,
			body:       []byte(`{"detail":[{"loc":["body","messages"],"msg":"Field required","type":"missing"}]}`),
			kind:       provider.KindInvalidRequest,
			messageHas: "Field required",
		},
		{
			name:          "HTML proxy page is not quoted",
			status:        502,
			body:          []byte("<html><body><h1>502 Bad Gateway</h1></body></html>"),
			header:        map[string]string{"Content-Type": "text/html"},
			kind:          provider.KindUnavailable,
			messageHas:    "Bad Gateway",
			messageHasNot: "<html>",
		},
		{
			name:       "plain text body quoted",
			status:     500,
			body:       []byte("upstream exploded\n"),
			header:     map[string]string{"Content-Type": "text/plain"},
			kind:       provider.KindUnavailable,
			messageHas: "upstream exploded",
		},
	}
	for _, tt := range tests {
		for _, c := range allCalls() {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				fv := newFakeVendor(t, func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					for k, v := range tt.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tt.status)
					_, _ = w.Write(tt.body)
				})
				pe := asProviderError(t, c.run(context.Background(), newPlugin(t, fv)), tt.kind)
				if got := fv.only(t).Path; got != c.path {
					t.Errorf("path = %s, want %s", got, c.path)
				}
				if pe.Status != tt.status {
					t.Errorf("status = %d, want %d", pe.Status, tt.status)
				}
				if pe.RetryAfter != tt.retryAfter {
					t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.retryAfter)
				}
				if !strings.Contains(pe.Message, tt.messageHas) {
					t.Errorf("message = %q, want it to contain %q", pe.Message, tt.messageHas)
				}
				if tt.messageHasNot != "" && strings.Contains(pe.Message, tt.messageHasNot) {
					t.Errorf("message = %q, must not contain %q", pe.Message, tt.messageHasNot)
				}
				if pe.Partial != nil {
					t.Errorf("Partial = %+v for a call that never started", pe.Partial)
				}
			})
		}
	}
}

// TestDeadline checks that the call's context reaches the vendor: a slow
// upstream ends in KindTimeout and the vendor sees its request cancelled.
func TestDeadline(t *testing.T) {
	for _, c := range allCalls() {
		t.Run(c.name, func(t *testing.T) {
			gone := make(chan struct{})
			fv := newFakeVendor(t, func(_ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
					close(gone)
				case <-time.After(10 * time.Second):
				}
			})
			// Long enough for the request to reach the vendor on a loaded
			// machine: only then can the vendor see it cancelled.
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			asProviderError(t, c.run(ctx, newPlugin(t, fv)), provider.KindTimeout)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("call took %v after a 500ms deadline", d)
			}
			waitClosed(t, gone, "request cancellation at the vendor")
		})
	}
}

// TestConnectionRefused covers a vendor that cannot be reached.
func TestConnectionRefused(t *testing.T) {
	fv := newFakeVendor(t, func(http.ResponseWriter, *http.Request) {})
	p := newPlugin(t, fv)
	fv.srv.Close()
	for _, c := range allCalls() {
		t.Run(c.name, func(t *testing.T) {
			asProviderError(t, c.run(context.Background(), p), provider.KindUnavailable)
		})
	}
}

// TestErrorInSuccessBody covers compatible servers that answer 200 with an
// error object.
func TestErrorInSuccessBody(t *testing.T) {
	body := []byte(`{"error":{"message":"model 'llama9' not found","type":"api_error","code":"404"}}`)
	for _, c := range allCalls() {
		if c.name == "speech" {
			continue // audio bodies are not inspected
		}
		t.Run(c.name, func(t *testing.T) {
			fv := newFakeVendor(t, replyJSON(http.StatusOK, body, nil))
			pe := asProviderError(t, c.run(context.Background(), newPlugin(t, fv)), provider.KindInvalidRequest)
			if !strings.Contains(pe.Message, "llama9") {
				t.Errorf("message = %q", pe.Message)
			}
		})
	}
}

func TestMaskKeyLike(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no key here", "no key here"},
		{"key sk-abc123**wxyz.", "key sk-[redacted]."},
		{"task-1 and desk-2 stay", "task-1 and desk-2 stay"},
		{"sk-a sk-b", "sk-[redacted] sk-[redacted]"},
		{"ends with sk-", "ends with sk-[redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := maskKeyLike(tt.in); got != tt.want {
				t.Errorf("maskKeyLike(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
