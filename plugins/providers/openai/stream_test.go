package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

const (
	specID    = "chatcmpl-acc123"
	specModel = "gpt-4o-mini-2024-07-18"
)

// specChunks is what the spec's stream must become: role on the first
// chunk, one chunk per delta, the finish chunk, and one final usage chunk.
func specChunks(u provider.Usage) []provider.ChatChunk {
	return []provider.ChatChunk{
		{ID: specID, Model: specModel, Role: provider.RoleAssistant},
		{ID: specID, Model: specModel, Delta: "Hello"},
		{ID: specID, Model: specModel, Delta: "!"},
		{ID: specID, Model: specModel, FinishReason: provider.FinishStop},
		{ID: specID, Model: specModel, FinishReason: provider.FinishStop, Usage: &u},
	}
}

// specUsage is the usage chunk of the spec's stream.
var specUsage = provider.Usage{InputTokens: 13, OutputTokens: 2}

// estimatedHello is the estimate for the spec's exchange: 34 prompt
// characters, "Hello!" relayed.
var estimatedHello = provider.Usage{InputTokens: helloPromptTokens, OutputTokens: 2, Estimated: true}

// withoutUsageChunk drops the usage event, as servers that ignore
// stream_options do.
func withoutUsageChunk(sse []byte) []byte {
	var keep []string
	for _, ev := range splitEvents(sse) {
		if !strings.Contains(string(ev), `"choices": []`) {
			keep = append(keep, string(ev))
		}
	}
	return []byte(strings.Join(keep, ""))
}

func TestChatStream(t *testing.T) {
	fv := newFakeVendor(t, replySSE(fixture(t, "chat_completion_stream.sse")))
	var got []provider.ChatChunk
	if err := newPlugin(t, fv).ChatStream(context.Background(), helloRequest(), collect(&got)); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	checkRequest(t, fv.only(t), "/v1/chat/completions", "text/event-stream", `{"model":"gpt-4o-mini","messages":[
		{"role":"system","content":"You are a helpful assistant."},
		{"role":"user","content":"Hello!"}],
		"stream":true,"stream_options":{"include_usage":true}}`)
	if want := specChunks(specUsage); !reflect.DeepEqual(got, want) {
		t.Errorf("chunks:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

// TestChatStreamVariants feeds the spec's stream as other servers and
// networks deliver it.
func TestChatStreamVariants(t *testing.T) {
	spec := string(fixture(t, "chat_completion_stream.sse"))
	events := splitEvents([]byte(spec))
	tests := []struct {
		name string
		body string
		want []provider.ChatChunk
	}{
		{"no usage chunk is estimated", string(withoutUsageChunk([]byte(spec))), specChunks(estimatedHello)},
		{"last event without blank line", strings.TrimSuffix(spec, "\n\n"), specChunks(specUsage)},
		{"no [DONE], usage event unterminated", strings.TrimSuffix(strings.Join(toStrings(events[:5]), ""), "\n\n"), specChunks(specUsage)},
		{"CRLF line endings", strings.ReplaceAll(spec, "\n", "\r\n"), specChunks(specUsage)},
		{"comments and empty data", ": keep-alive\n\n" + strings.ReplaceAll(spec, "\n\ndata: {", "\n\n: ping\ndata:\n\ndata: {"), specChunks(specUsage)},
		{
			name: "no role chunk: role goes on the first delta",
			body: strings.Join(toStrings(events[1:]), ""),
			want: func() []provider.ChatChunk {
				c := specChunks(specUsage)[1:]
				c[0].Role = provider.RoleAssistant
				return c
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write([]byte(tt.body))
			})
			var got []provider.ChatChunk
			if err := newPlugin(t, fv).ChatStream(context.Background(), helloRequest(), collect(&got)); err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks:\n%s\nwant:\n%s", dump(got), dump(tt.want))
			}
		})
	}
}

// TestStreamedAndWholeAgree checks that one answer reports the same usage
// whether it was streamed or not, with and without vendor usage.
func TestStreamedAndWholeAgree(t *testing.T) {
	stream := fixture(t, "chat_completion_stream.sse")
	// The non-streamed form of the streamed answer: the spec's response
	// with the stream's content and usage.
	var whole map[string]any
	if err := json.Unmarshal(fixture(t, "chat_completion.json"), &whole); err != nil {
		t.Fatal(err)
	}
	whole["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"] = "Hello!"
	whole["usage"] = map[string]any{"prompt_tokens": 13, "completion_tokens": 2, "total_tokens": 15}
	withUsage, _ := json.Marshal(whole)
	// A prompt-cache hit, as CompletionUsage reports it: the cached
	// tokens are a part of prompt_tokens (OpenAI caches prompts of 1024
	// tokens and more, in steps of 128).
	cachedUsage := map[string]any{"prompt_tokens": 2048, "completion_tokens": 2, "total_tokens": 2050,
		"prompt_tokens_details": map[string]any{"cached_tokens": 1920, "audio_tokens": 0}}
	whole["usage"] = cachedUsage
	withCache, _ := json.Marshal(whole)
	cachedJSON, _ := json.Marshal(cachedUsage)
	streamCached := []byte(strings.Replace(string(stream), `"usage": {"prompt_tokens": 13, "completion_tokens": 2, "total_tokens": 15}`, `"usage": `+string(cachedJSON), 1))
	if bytes.Equal(streamCached, stream) {
		t.Fatal("the fixture's usage chunk changed; update the cached variant")
	}
	delete(whole, "usage")
	noUsage, _ := json.Marshal(whole)

	tests := []struct {
		name         string
		stream, body []byte
		want         provider.Usage
	}{
		{"vendor usage", stream, withUsage, specUsage},
		{"vendor usage with cached tokens", streamCached, withCache, provider.Usage{InputTokens: 2048, CachedInputTokens: 1920, OutputTokens: 2}},
		{"estimated", withoutUsageChunk(stream), noUsage, estimatedHello},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, func(w http.ResponseWriter, r *http.Request) {
				var req struct{ Stream bool }
				if r.Body != nil {
					_ = json.NewDecoder(r.Body).Decode(&req)
				}
				if req.Stream {
					replySSE(tt.stream)(w, r)
					return
				}
				replyJSON(http.StatusOK, tt.body, nil)(w, r)
			})
			p := newPlugin(t, fv)
			resp, err := p.Chat(context.Background(), helloRequest())
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			var chunks []provider.ChatChunk
			if err := p.ChatStream(context.Background(), helloRequest(), collect(&chunks)); err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			last := chunks[len(chunks)-1].Usage
			if last == nil || *last != resp.Usage || resp.Usage != tt.want {
				t.Errorf("streamed usage %+v, whole usage %+v, want both %+v", last, resp.Usage, tt.want)
			}
		})
	}
}

func TestChatStreamFailures(t *testing.T) {
	events := toStrings(splitEvents(fixture(t, "chat_completion_stream.sse")))
	// The first two events relay "" and "Hello": 5 characters, 2 tokens.
	head := events[0] + events[1]
	partial := provider.Usage{InputTokens: helloPromptTokens, OutputTokens: 2, Estimated: true}
	tests := []struct {
		name    string
		body    string
		kind    provider.Kind
		partial provider.Usage
		message string
	}{
		{
			name: "server error event",
			// ErrorResponse shape (openai-openapi.yaml) sent as a stream
			// event; message from the error-code guide.
			body:    head + `data: {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}` + "\n\n",
			kind:    provider.KindUnavailable,
			partial: partial,
			message: "server had an error",
		},
		{
			name:    "rate limit error event",
			body:    head + `data: {"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}` + "\n\n",
			kind:    provider.KindRateLimited,
			partial: partial,
			message: "Rate limit reached",
		},
		{
			name:    "vLLM error event with numeric code",
			body:    head + `data: {"error":{"object":"error","message":"prompt too long","type":"BadRequestError","param":null,"code":400}}` + "\n\n",
			kind:    provider.KindInvalidRequest,
			partial: partial,
			message: "prompt too long",
		},
		{
			name:    "error event quoting the key",
			body:    `data: {"error":{"message":"bad key ` + testKey + `","type":"invalid_request_error","code":"invalid_api_key"}}` + "\n\n",
			kind:    provider.KindAuth,
			partial: provider.Usage{InputTokens: helloPromptTokens, Estimated: true},
			message: "bad key [redacted]",
		},
		{
			name:    "clean end before the answer finished",
			body:    head,
			kind:    provider.KindUnavailable,
			partial: partial,
			message: "ended before",
		},
		{
			name:    "malformed chunk",
			body:    head + "data: {\"choices\": [\n\n",
			kind:    provider.KindUnavailable,
			partial: partial,
			message: "decode chunk",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fv := newFakeVendor(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write([]byte(tt.body))
			})
			var chunks []provider.ChatChunk
			err := newPlugin(t, fv).ChatStream(context.Background(), helloRequest(), collect(&chunks))
			pe := asProviderError(t, err, tt.kind)
			checkPartial(t, pe, tt.partial, chunks)
			if !strings.Contains(pe.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", pe.Message, tt.message)
			}
		})
	}
}

// checkPartial asserts a failed stream's Partial usage and that no usage
// chunk was sent before the failure.
func checkPartial(t *testing.T, pe *provider.Error, want provider.Usage, chunks []provider.ChatChunk) {
	t.Helper()
	if pe.Partial == nil {
		t.Fatalf("Partial = nil, want %+v", want)
	}
	if *pe.Partial != want {
		t.Errorf("Partial = %+v, want %+v", *pe.Partial, want)
	}
	for _, c := range chunks {
		if c.Usage != nil {
			t.Errorf("a usage chunk was sent before the failure: %+v", c)
		}
	}
}

// TestChatStreamConnectionDropped cuts the TCP connection in the middle of
// a chunked response, as a crashing vendor or proxy does.
func TestChatStreamConnectionDropped(t *testing.T) {
	events := splitEvents(fixture(t, "chat_completion_stream.sse"))
	fv := newFakeVendor(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		for _, ev := range events[:2] {
			fmt.Fprintf(buf, "%x\r\n%s\r\n", len(ev), ev)
		}
		// Half of the next event, then the connection goes.
		fmt.Fprintf(buf, "%x\r\n%s", len(events[2]), events[2][:10])
		_ = buf.Flush()
	})
	var chunks []provider.ChatChunk
	err := newPlugin(t, fv).ChatStream(context.Background(), helloRequest(), collect(&chunks))
	pe := asProviderError(t, err, provider.KindUnavailable)
	checkPartial(t, pe, provider.Usage{InputTokens: helloPromptTokens, OutputTokens: 2, Estimated: true}, chunks)
	if want := specChunks(specUsage)[:2]; !reflect.DeepEqual(chunks, want) {
		t.Errorf("chunks before the drop:\n%s\nwant:\n%s", dump(chunks), dump(want))
	}
}

// TestChatStreamInterrupted covers the caller going away and the deadline
// passing while the vendor is still generating.
func TestChatStreamInterrupted(t *testing.T) {
	tests := []struct {
		name string
		// interrupt is called with the chunk just relayed.
		interrupt func(ch *provider.ChatChunk, cancel context.CancelFunc)
		timeout   time.Duration
		kind      provider.Kind
	}{
		{
			name: "client cancels",
			interrupt: func(ch *provider.ChatChunk, cancel context.CancelFunc) {
				if ch.Delta == "Hello" {
					cancel()
				}
			},
			kind: provider.KindCanceled,
		},
		{name: "deadline passes", timeout: 300 * time.Millisecond, kind: provider.KindTimeout},
	}
	events := splitEvents(fixture(t, "chat_completion_stream.sse"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone := make(chan struct{})
			fv := newFakeVendor(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				rc := http.NewResponseController(w)
				for _, ev := range events[:2] {
					_, _ = w.Write(ev)
					_ = rc.Flush()
				}
				// The model is "still generating" until the caller leaves.
				select {
				case <-r.Context().Done():
					close(gone)
				case <-time.After(10 * time.Second):
				}
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.timeout > 0 {
				var stop context.CancelFunc
				ctx, stop = context.WithTimeout(ctx, tt.timeout)
				defer stop()
			}
			var chunks []provider.ChatChunk
			record := collect(&chunks)
			err := newPlugin(t, fv).ChatStream(ctx, helloRequest(), func(ch *provider.ChatChunk) error {
				if err := record(ch); err != nil {
					return err
				}
				if tt.interrupt != nil {
					tt.interrupt(ch, cancel)
				}
				return nil
			})
			pe := asProviderError(t, err, tt.kind)
			checkPartial(t, pe, provider.Usage{InputTokens: helloPromptTokens, OutputTokens: 2, Estimated: true}, chunks)
			waitClosed(t, gone, "request cancellation at the vendor")
		})
	}
}

// TestChatStreamSendFails covers the core's side of the stream breaking.
func TestChatStreamSendFails(t *testing.T) {
	fv := newFakeVendor(t, replySSE(fixture(t, "chat_completion_stream.sse")))
	n := 0
	err := newPlugin(t, fv).ChatStream(context.Background(), helloRequest(), func(*provider.ChatChunk) error {
		n++
		if n == 2 {
			return errors.New("transport is closing")
		}
		return nil
	})
	pe := asProviderError(t, err, provider.KindCanceled)
	// Only the role chunk was relayed.
	checkPartial(t, pe, provider.Usage{InputTokens: helloPromptTokens, Estimated: true}, nil)
}

// TestChatStreamServerIgnoresStream covers servers that answer a stream
// request with one JSON body.
func TestChatStreamServerIgnoresStream(t *testing.T) {
	fv := newFakeVendor(t, replyJSON(http.StatusOK, fixture(t, "chat_completion.json"), nil))
	var got []provider.ChatChunk
	if err := newPlugin(t, fv).ChatStream(context.Background(), helloRequest(), collect(&got)); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	u := provider.Usage{InputTokens: 13, OutputTokens: 9}
	want := []provider.ChatChunk{
		{ID: specID, Model: specModel, Role: provider.RoleAssistant, Delta: "Hello! How can I help you today?", FinishReason: provider.FinishStop},
		{ID: specID, Model: specModel, FinishReason: provider.FinishStop, Usage: &u},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

func toStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func dump(chunks []provider.ChatChunk) string {
	var b strings.Builder
	w := bufio.NewWriter(&b)
	for _, c := range chunks {
		fmt.Fprintf(w, "  %+v", c)
		if c.Usage != nil {
			fmt.Fprintf(w, " usage=%+v", *c.Usage)
		}
		fmt.Fprintln(w)
	}
	_ = w.Flush()
	return b.String()
}
