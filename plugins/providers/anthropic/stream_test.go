package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// docChunks is what the documented "Basic streaming request" transcript
// (testdata/stream_basic.sse) must become.
func docChunks() []provider.ChatChunk {
	const id, model = "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "claude-3-5-sonnet-20241022"
	return []provider.ChatChunk{
		{ID: id, Model: model, Role: provider.RoleAssistant, Delta: "Hello"},
		{ID: id, Model: model, Delta: "!"},
		{ID: id, Model: model, FinishReason: provider.FinishStop, Usage: &provider.Usage{InputTokens: 25, OutputTokens: 15}},
	}
}

func TestChatStreamRelaysDocumentedTranscript(t *testing.T) {
	// Anthropic's documented transcript, byte for byte (testdata/README.md).
	doc := readTestdata(t, "stream_basic.sse")
	tests := []struct {
		name string
		body []byte
	}{
		{"as documented", doc},
		{"final event not followed by a blank line", bytes.TrimRight(doc, "\n")},
		{"CRLF line endings", bytes.ReplaceAll(doc, []byte("\n"), []byte("\r\n"))},
		{"message_stop lost after message_delta", doc[:bytes.Index(doc, []byte("event: message_stop"))]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				checkHeaders(t, r, "/v1/messages", "text/event-stream")
				want := `{"model":"claude-3-5-sonnet-20241022","max_tokens":4096,"stream":true,
					"messages":[{"role":"user","content":"Hello"}]}`
				if got := decodeBody(t, r); !jsonEqual(t, got, want) {
					t.Errorf("request body %v, want %s", got, want)
				}
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write(tc.body)
			})
			var got []provider.ChatChunk
			err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), textRequest(user("Hello")), collect(&got))
			if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			if want := docChunks(); !reflect.DeepEqual(got, want) {
				t.Errorf("chunks\n got %s\nwant %s", fmtChunks(got), fmtChunks(want))
			}
		})
	}
}

// cachedTranscript is the documented transcript as a prompt-cache hit
// streams it: message_start states the input and cache counts
// (schema Usage), and message_delta restates them, cumulative, with the
// final output count (schema MessageDeltaUsage).
func cachedTranscript(t *testing.T) []byte {
	t.Helper()
	doc := readTestdata(t, "stream_basic.sse")
	out := bytes.Replace(doc, []byte(`"usage": {"input_tokens": 25, "output_tokens": 1}`),
		[]byte(`"usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2051, "output_tokens": 1}`), 1)
	out = bytes.Replace(out, []byte(`"usage": {"output_tokens": 15}`),
		[]byte(`"usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2051, "output_tokens": 15}`), 1)
	if bytes.Count(out, []byte("cache_read_input_tokens")) != 2 {
		t.Fatal("stream_basic.sse changed; update cachedTranscript")
	}
	return out
}

func TestChatStreamPromptCache(t *testing.T) {
	cached := cachedTranscript(t)
	// Only message_start has the cache counts; message_delta gives the
	// output alone, as the documented transcript does.
	startOnly := bytes.Replace(cached, []byte(`"usage": {"input_tokens": 25, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2051, "output_tokens": 15}`),
		[]byte(`"usage": {"output_tokens": 15}`), 1)
	// message_delta corrects message_start: the later cumulative count
	// wins, field by field.
	corrected := bytes.Replace(cached, []byte(`"cache_creation_input_tokens": 0, "cache_read_input_tokens": 2051, "output_tokens": 15`),
		[]byte(`"cache_creation_input_tokens": 1024, "cache_read_input_tokens": 1027, "output_tokens": 15`), 1)
	tests := []struct {
		name string
		body []byte
		want provider.Usage
	}{
		{"counts in message_start and message_delta", cached, provider.Usage{InputTokens: 2076, CachedInputTokens: 2051, OutputTokens: 15}},
		{"counts in message_start only", startOnly, provider.Usage{InputTokens: 2076, CachedInputTokens: 2051, OutputTokens: 15}},
		{"message_delta corrects the counts", corrected, provider.Usage{InputTokens: 2076, CachedInputTokens: 1027, CacheWriteTokens: 1024, OutputTokens: 15}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write(tc.body)
			})
			var got []provider.ChatChunk
			if err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), textRequest(user("Hello")), collect(&got)); err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			want := docChunks()
			want[len(want)-1].Usage = &tc.want
			if !reflect.DeepEqual(got, want) {
				t.Errorf("chunks\n got %s\nwant %s", fmtChunks(got), fmtChunks(want))
			}
		})
	}

	// Cut short after message_start, the cache counts already known are
	// billed with the partial usage.
	t.Run("cut short", func(t *testing.T) {
		head := cached[:bytes.Index(cached, []byte("event: content_block_stop"))]
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(head)
		})
		err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), textRequest(user("Hello")), func(*provider.ChatChunk) error { return nil })
		pe := asProviderError(t, err)
		want := provider.Usage{InputTokens: 2076, CachedInputTokens: 2051, OutputTokens: 2, Estimated: true}
		if pe.Partial == nil || *pe.Partial != want {
			t.Errorf("partial usage %+v, want %+v", pe.Partial, want)
		}
	})
}

func TestStreamedAndUnstreamedAnswersAgree(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if bytes.Contains(readAll(r), []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(readTestdata(t, "stream_basic.sse"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// The same answer as one Message (testdata/README.md).
		_, _ = w.Write(readTestdata(t, "message_hello.json"))
	})
	p := newPlugin(t, srv.URL, nil)
	resp, err := p.Chat(context.Background(), textRequest(user("Hello")))
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	var chunks []provider.ChatChunk
	if err := p.ChatStream(context.Background(), textRequest(user("Hello")), collect(&chunks)); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	var text string
	for _, c := range chunks {
		text += c.Delta
	}
	last := chunks[len(chunks)-1]
	if text != resp.Content || *last.Usage != resp.Usage || last.FinishReason != resp.FinishReason || last.ID != resp.ID {
		t.Errorf("streamed %q %+v %s %s, unstreamed %q %+v %s %s", text, *last.Usage, last.FinishReason, last.ID,
			resp.Content, resp.Usage, resp.FinishReason, resp.ID)
	}
}

func TestChatStreamErrorEvent(t *testing.T) {
	t.Run("documented overloaded_error after a delta", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			// testdata/README.md: documented events plus the documented error event.
			_, _ = w.Write(readTestdata(t, "stream_error.sse"))
		})
		var got []provider.ChatChunk
		err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), textRequest(user("Hello")), collect(&got))
		pe := asProviderError(t, err)
		if pe.Kind != provider.KindUnavailable {
			t.Errorf("kind %s, want unavailable (%v)", pe.Kind, err)
		}
		// 25 input from message_start; 5 characters relayed → ceil(5/4) = 2 > the 1 reported.
		want := provider.Usage{InputTokens: 25, OutputTokens: 2, Estimated: true}
		if pe.Partial == nil || *pe.Partial != want {
			t.Errorf("partial usage %+v, want %+v", pe.Partial, want)
		}
		if len(got) != 1 || got[0].Delta != "Hello" || got[0].Usage != nil {
			t.Errorf("chunks %s, want the one delta and no usage chunk", fmtChunks(got))
		}
	})

	// Error types from the spec's ErrorType enum, in the error event shape
	// the streaming page documents.
	kinds := map[string]provider.Kind{
		"overloaded_error":      provider.KindUnavailable,
		"api_error":             provider.KindUnavailable,
		"rate_limit_error":      provider.KindRateLimited,
		"invalid_request_error": provider.KindInvalidRequest,
		"not_found_error":       provider.KindInvalidRequest,
		"authentication_error":  provider.KindAuth,
		"permission_error":      provider.KindAuth,
		"timeout_error":         provider.KindTimeout,
		"some_new_error":        provider.KindUnavailable,
	}
	for typ, kind := range kinds {
		t.Run(typ, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write([]byte("event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"" + typ + "\", \"message\": \"x\"}}\n\n"))
			})
			err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), textRequest(user("Hello")), func(*provider.ChatChunk) error { return nil })
			pe := asProviderError(t, err)
			if pe.Kind != kind {
				t.Errorf("kind %s, want %s", pe.Kind, kind)
			}
			if pe.Partial != nil {
				t.Errorf("partial usage %+v before anything was generated", *pe.Partial)
			}
		})
	}
}

// streamPrefix is the documented transcript (testdata/stream_basic.sse)
// up to its first text delta, plus one delta of the documented shape, sent
// before a failure is staged.
func streamPrefix(t *testing.T) []byte {
	doc := readTestdata(t, "stream_basic.sse")
	end := bytes.Index(doc, []byte("event: content_block_delta"))
	return append(doc[:end:end], "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Hello, world\"}}\n\n"...)
}

func TestChatStreamCutShort(t *testing.T) {
	// "Hello, world" is 12 characters: ceil(12/4) = 3 output tokens, more
	// than the 1 message_start reported.
	wantPartial := provider.Usage{InputTokens: 25, OutputTokens: 3, Estimated: true}
	tests := []struct {
		name    string
		timeout time.Duration
		// after writes the prefix; it returns when the handler should end.
		after  func(w http.ResponseWriter, r *http.Request)
		cancel bool // the client cancels after the first chunk
		kind   provider.Kind
	}{
		{
			name:  "connection dropped",
			after: func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
			kind:  provider.KindUnavailable,
		},
		{
			name:  "stream ends without message_stop",
			after: func(http.ResponseWriter, *http.Request) {},
			kind:  provider.KindUnavailable,
		},
		{
			name:    "slow upstream hits the deadline",
			timeout: 200 * time.Millisecond,
			after:   waitForCancel,
			kind:    provider.KindTimeout,
		},
		{
			name:   "client cancels",
			after:  waitForCancel,
			cancel: true,
			kind:   provider.KindCanceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			observed := make(chan struct{})
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				defer close(observed)
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = w.Write(streamPrefix(t))
				w.(http.Flusher).Flush()
				tc.after(w, r)
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.timeout > 0 {
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			var got []provider.ChatChunk
			send := func(c *provider.ChatChunk) error {
				got = append(got, *c)
				if tc.cancel {
					cancel()
				}
				return nil
			}
			err := newPlugin(t, srv.URL, nil).ChatStream(ctx, textRequest(user("Hello")), send)
			pe := asProviderError(t, err)
			if pe.Kind != tc.kind {
				t.Errorf("kind %s, want %s (%v)", pe.Kind, tc.kind, err)
			}
			if pe.Partial == nil || *pe.Partial != wantPartial {
				t.Errorf("partial usage %+v, want %+v", pe.Partial, wantPartial)
			}
			if len(got) != 1 || got[0].Delta != "Hello, world" {
				t.Errorf("chunks %s, want only the one delta", fmtChunks(got))
			}
			assertNoKey(t, err)
			select {
			case <-observed:
			case <-time.After(5 * time.Second):
				t.Fatal("the fake vendor never saw the request end")
			}
		})
	}
}

func TestChatStreamSendFailure(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(readTestdata(t, "stream_basic.sse"))
	})
	err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), textRequest(user("Hello")),
		func(*provider.ChatChunk) error { return errors.New("client went away") })
	pe := asProviderError(t, err)
	if pe.Kind != provider.KindCanceled {
		t.Errorf("kind %s, want canceled", pe.Kind)
	}
	if want := (provider.Usage{InputTokens: 25, OutputTokens: 2, Estimated: true}); pe.Partial == nil || *pe.Partial != want {
		t.Errorf("partial usage %+v, want %+v", pe.Partial, want)
	}
}

func TestSlowUpstreamTimesOut(t *testing.T) {
	observed := make(chan struct{})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(observed)
		waitForCancel(w, r)
	})
	// Long enough for the request to reach the vendor on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := newPlugin(t, srv.URL, nil).Chat(ctx, textRequest(user("Hello")))
	if k := provider.KindOf(err); k != provider.KindTimeout {
		t.Errorf("Chat error %v: kind %s, want timeout", err, k)
	}
	assertNoKey(t, err)
	select {
	case <-observed:
	case <-time.After(5 * time.Second):
		t.Fatal("the fake vendor never saw the request canceled")
	}
}

// waitForCancel blocks a fake vendor until the client goes away, with a
// bound so a broken test cannot hang. It reads the body first, as a real
// vendor does: net/http notices a closed connection only after that.
func waitForCancel(_ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}
