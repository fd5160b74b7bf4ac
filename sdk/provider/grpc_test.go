package provider_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// These tests run every call through plugintest, that is through the real
// go-plugin gRPC path in-process, because what matters is what the core
// sees on the other side of the process boundary.

// bare implements only Provider: every optional ability must come back as
// KindUnsupported.
type bare struct{}

func (bare) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{Name: "bare", Version: "0.0.1", Models: []provider.Model{{ID: "m", Modality: provider.ModalityText}}}, nil
}
func (bare) Configure(context.Context, provider.Config) error { return nil }

// full implements every optional interface by delegating to its function
// fields, so each test sets only what it exercises. Unset fields fail the
// call, which would show up as an unexpected error.
type full struct {
	bare
	info      *provider.Info
	configure func(context.Context, provider.Config) error
	chat      func(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error)
	stream    func(context.Context, *provider.ChatRequest, func(*provider.ChatChunk) error) error
	embed     func(context.Context, *provider.EmbedRequest) (*provider.EmbedResponse, error)
	image     func(context.Context, *provider.ImageRequest) (*provider.ImageResponse, error)
	speech    func(context.Context, *provider.SpeechRequest) (*provider.SpeechResponse, error)
	count     func(context.Context, *provider.ChatRequest) (int64, error)
}

var errUnset = errors.New("test fake: method not set")

func (f *full) Describe(ctx context.Context) (*provider.Info, error) {
	if f.info != nil {
		return f.info, nil
	}
	return f.bare.Describe(ctx)
}

func (f *full) Configure(ctx context.Context, c provider.Config) error {
	if f.configure == nil {
		return nil
	}
	return f.configure(ctx, c)
}

func (f *full) Chat(ctx context.Context, r *provider.ChatRequest) (*provider.ChatResponse, error) {
	if f.chat == nil {
		return nil, errUnset
	}
	return f.chat(ctx, r)
}

func (f *full) ChatStream(ctx context.Context, r *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	if f.stream == nil {
		return errUnset
	}
	return f.stream(ctx, r, send)
}

func (f *full) Embed(ctx context.Context, r *provider.EmbedRequest) (*provider.EmbedResponse, error) {
	if f.embed == nil {
		return nil, errUnset
	}
	return f.embed(ctx, r)
}

func (f *full) GenerateImage(ctx context.Context, r *provider.ImageRequest) (*provider.ImageResponse, error) {
	if f.image == nil {
		return nil, errUnset
	}
	return f.image(ctx, r)
}

func (f *full) Speech(ctx context.Context, r *provider.SpeechRequest) (*provider.SpeechResponse, error) {
	if f.speech == nil {
		return nil, errUnset
	}
	return f.speech(ctx, r)
}

func (f *full) CountTokens(ctx context.Context, r *provider.ChatRequest) (int64, error) {
	if f.count == nil {
		return 0, errUnset
	}
	return f.count(ctx, r)
}

func ptr[T any](v T) *T { return &v }

func allKinds() []provider.Kind {
	return []provider.Kind{
		provider.KindUnknown, provider.KindInvalidRequest, provider.KindAuth, provider.KindRateLimited,
		provider.KindUnavailable, provider.KindTimeout, provider.KindUnsupported, provider.KindUnconfigured,
		provider.KindCanceled,
	}
}

// asError insists err is an *provider.Error: the Client promises nothing else.
func asError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	return pe
}

func TestErrorKindsRoundTrip(t *testing.T) {
	for _, k := range allKinds() {
		// RetryAfter is whole milliseconds: the wire carries milliseconds.
		want := &provider.Error{
			Kind:       k,
			Message:    "vendor said no: " + k.String(),
			RetryAfter: 1500 * time.Millisecond,
			Status:     400 + int(k),
			Partial:    &provider.Usage{InputTokens: 11, CachedInputTokens: 6, CacheWriteTokens: 2, OutputTokens: 7, Characters: 3, Images: 1, Estimated: true},
		}
		t.Run(k.String(), func(t *testing.T) {
			tests := []struct {
				name string
				call func(provider.Client) error
			}{
				{"chat", func(c provider.Client) error {
					_, err := c.Chat(context.Background(), &provider.ChatRequest{Model: "m"})
					return err
				}},
				{"chat stream after a chunk", func(c provider.Client) error {
					return c.ChatStream(context.Background(), &provider.ChatRequest{Model: "m"}, func(*provider.ChatChunk) error { return nil })
				}},
				{"embed", func(c provider.Client) error {
					_, err := c.Embed(context.Background(), &provider.EmbedRequest{Model: "m"})
					return err
				}},
				{"configure", func(c provider.Client) error {
					return c.Configure(context.Background(), provider.Config{})
				}},
			}
			f := &full{
				configure: func(context.Context, provider.Config) error { return want },
				chat:      func(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error) { return nil, want },
				stream: func(_ context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
					if err := send(&provider.ChatChunk{Delta: "x"}); err != nil {
						return err
					}
					return want
				},
				embed: func(context.Context, *provider.EmbedRequest) (*provider.EmbedResponse, error) { return nil, want },
			}
			c := plugintest.Provider(t, f)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got := asError(t, tt.call(c))
					if !reflect.DeepEqual(got, want) {
						t.Errorf("got %#v (partial %+v), want %#v (partial %+v)", got, got.Partial, want, want.Partial)
					}
				})
			}
		})
	}
}

// TestWrappedErrorKeepsKind: a plugin may wrap its *Error with context; the
// kind and fields still cross, the wrapping text does not (the core shows
// Message, which the plugin controls).
func TestWrappedErrorKeepsKind(t *testing.T) {
	inner := &provider.Error{Kind: provider.KindRateLimited, Message: "slow down", RetryAfter: 2 * time.Second, Status: 429}
	c := plugintest.Provider(t, &full{chat: func(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error) {
		return nil, fmt.Errorf("calling vendor: %w", inner)
	}})
	_, err := c.Chat(context.Background(), &provider.ChatRequest{})
	if got := asError(t, err); !reflect.DeepEqual(got, inner) {
		t.Errorf("got %#v, want %#v", got, inner)
	}
}

func TestPlainErrorMapsToKind(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantKind provider.Kind
	}{
		{"plain", errors.New("boom"), provider.KindUnknown},
		{"context canceled in plugin", context.Canceled, provider.KindCanceled},
		{"wrapped deadline in plugin", fmt.Errorf("reading body: %w", context.DeadlineExceeded), provider.KindTimeout},
		{"errorf helper", provider.Errorf(provider.KindAuth, "key %s rejected", "ending 1234"), provider.KindAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Provider(t, &full{chat: func(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error) {
				return nil, tt.err
			}})
			_, err := c.Chat(context.Background(), &provider.ChatRequest{})
			got := asError(t, err)
			if got.Kind != tt.wantKind {
				t.Errorf("kind = %v, want %v", got.Kind, tt.wantKind)
			}
			if !strings.Contains(tt.err.Error(), got.Message) || got.Message == "" {
				t.Errorf("message %q does not come from %q", got.Message, tt.err.Error())
			}
		})
	}
}

func TestUnsupportedAbilities(t *testing.T) {
	c := plugintest.Provider(t, bare{})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"chat", func() error { _, err := c.Chat(ctx, &provider.ChatRequest{}); return err }},
		{"chat stream", func() error {
			return c.ChatStream(ctx, &provider.ChatRequest{}, func(*provider.ChatChunk) error { return nil })
		}},
		{"embed", func() error { _, err := c.Embed(ctx, &provider.EmbedRequest{}); return err }},
		{"image", func() error { _, err := c.GenerateImage(ctx, &provider.ImageRequest{}); return err }},
		{"speech", func() error { _, err := c.Speech(ctx, &provider.SpeechRequest{}); return err }},
		{"count tokens", func() error { _, err := c.CountTokens(ctx, &provider.ChatRequest{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := asError(t, tt.call())
			if got.Kind != provider.KindUnsupported {
				t.Errorf("kind = %v, want unsupported (%v)", got.Kind, got)
			}
			if got.Kind.Retryable() {
				t.Error("unsupported must not be retryable")
			}
		})
	}
}

// TestPanicIsContained: a panic in plugin code becomes KindUnavailable, the
// panic value (which may hold request data or a key) stays out of the
// error, and the same server answers the next call.
func TestPanicIsContained(t *testing.T) {
	const secret = "sk-live-123456"
	var mu sync.Mutex
	panics := true
	f := &full{
		chat: func(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			if panics {
				panic("vendor rejected key " + secret)
			}
			return &provider.ChatResponse{Content: "ok"}, nil
		},
		stream: func(_ context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
			_ = send(&provider.ChatChunk{Delta: "a"})
			var m map[string]int
			m[secret]++ // nil map write: a runtime panic, not a deliberate one
			return nil
		},
		configure: func(context.Context, provider.Config) error { panic(secret) },
		embed: func(context.Context, *provider.EmbedRequest) (*provider.EmbedResponse, error) {
			return nil, nil // a nil response is a bug too; it must not kill the plugin
		},
	}
	c := plugintest.Provider(t, f)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"chat", func() error { _, err := c.Chat(ctx, &provider.ChatRequest{}); return err }},
		{"chat stream", func() error {
			return c.ChatStream(ctx, &provider.ChatRequest{}, func(*provider.ChatChunk) error { return nil })
		}},
		{"configure", func() error { return c.Configure(ctx, provider.Config{APIKey: secret}) }},
		{"nil response", func() error { _, err := c.Embed(ctx, &provider.EmbedRequest{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := asError(t, tt.call())
			if got.Kind != provider.KindUnavailable {
				t.Errorf("kind = %v, want unavailable", got.Kind)
			}
			if strings.Contains(got.Error(), secret) {
				t.Errorf("error %q leaks the panic value", got)
			}
		})
	}
	mu.Lock()
	panics = false
	mu.Unlock()
	resp, err := c.Chat(ctx, &provider.ChatRequest{})
	if err != nil || resp.Content != "ok" {
		t.Fatalf("call after panics = %+v, %v; want the server still serving", resp, err)
	}
}

func TestChatStreamOrderAndUsageLast(t *testing.T) {
	const n = 200
	sent := make([]*provider.ChatChunk, 0, n+1)
	for i := range n {
		sent = append(sent, &provider.ChatChunk{ID: "c1", Model: "m", Role: provider.RoleAssistant, Delta: strconv.Itoa(i) + " "})
	}
	sent = append(sent, &provider.ChatChunk{ID: "c1", Model: "m", FinishReason: provider.FinishStop,
		Usage: &provider.Usage{InputTokens: 5, OutputTokens: n}})

	tests := []struct {
		name    string
		tailErr error
		wantErr provider.Kind
	}{
		{"clean end", nil, -1},
		// A failure after chunks arrives after them, with the partial usage.
		{"error after chunks", &provider.Error{Kind: provider.KindUnavailable, Message: "reset", Partial: &provider.Usage{OutputTokens: n}}, provider.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Provider(t, &full{stream: func(_ context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
				chunks := sent
				if tt.tailErr != nil {
					chunks = sent[:n] // no usage chunk: the error carries it
				}
				for _, ch := range chunks {
					if err := send(ch); err != nil {
						return err
					}
				}
				return tt.tailErr
			}})
			var got []*provider.ChatChunk
			err := c.ChatStream(context.Background(), &provider.ChatRequest{}, func(ch *provider.ChatChunk) error {
				got = append(got, ch)
				return nil
			})
			want := sent
			if tt.tailErr != nil {
				want = sent[:n]
				if pe := asError(t, err); pe.Kind != tt.wantErr || pe.Partial == nil || pe.Partial.OutputTokens != n {
					t.Errorf("err = %#v, want kind %v with partial usage", pe, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("ChatStream: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("received %d chunks, want %d in the same order and content", len(got), len(want))
			}
		})
	}
}

// TestChatStreamCancelReachesPlugin: the host cancelling (or its send
// failing because the HTTP client left) must reach the plugin's ctx, so the
// plugin stops paying for the vendor call.
func TestChatStreamCancelReachesPlugin(t *testing.T) {
	errGone := errors.New("client went away")
	tests := []struct {
		name string
		// onFirst is the host's reaction to the first chunk.
		onFirst  func(cancel context.CancelFunc) error
		wantErr  func(error) bool
		wantDesc string
	}{
		{"ctx cancelled", func(cancel context.CancelFunc) error { cancel(); return nil },
			func(err error) bool { return provider.KindOf(err) == provider.KindCanceled }, "KindCanceled"},
		{"send fails", func(context.CancelFunc) error { return errGone },
			func(err error) bool { return errors.Is(err, errGone) }, "the send error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			observed := make(chan error, 1)
			c := plugintest.Provider(t, &full{stream: func(ctx context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
				if err := send(&provider.ChatChunk{Delta: "first"}); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					observed <- ctx.Err()
					return ctx.Err()
				case <-time.After(10 * time.Second):
					observed <- nil
					return errors.New("never cancelled")
				}
			}})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := time.Now()
			err := c.ChatStream(ctx, &provider.ChatRequest{}, func(*provider.ChatChunk) error { return tt.onFirst(cancel) })
			if !tt.wantErr(err) {
				t.Errorf("ChatStream error = %v, want %s", err, tt.wantDesc)
			}
			select {
			case perr := <-observed:
				if !errors.Is(perr, context.Canceled) {
					t.Errorf("plugin ctx error = %v, want context.Canceled", perr)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("plugin did not observe ctx.Done() within 2s")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("cancellation took %v", d)
			}
		})
	}
}

func TestDeadlinePropagates(t *testing.T) {
	t.Run("deadline visible to plugin", func(t *testing.T) {
		deadline := make(chan time.Time, 1)
		c := plugintest.Provider(t, &full{chat: func(ctx context.Context, _ *provider.ChatRequest) (*provider.ChatResponse, error) {
			d, _ := ctx.Deadline()
			deadline <- d
			return &provider.ChatResponse{}, nil
		}})
		want := time.Now().Add(3 * time.Second)
		ctx, cancel := context.WithDeadline(context.Background(), want)
		defer cancel()
		if _, err := c.Chat(ctx, &provider.ChatRequest{}); err != nil {
			t.Fatal(err)
		}
		got := <-deadline
		// gRPC sends a timeout, not an instant, so allow for transit time.
		if got.IsZero() || got.After(want.Add(500*time.Millisecond)) || got.Before(want.Add(-time.Second)) {
			t.Errorf("plugin deadline = %v, want about %v", got, want)
		}
	})
	t.Run("deadline expires in plugin", func(t *testing.T) {
		observed := make(chan error, 1)
		c := plugintest.Provider(t, &full{chat: func(ctx context.Context, _ *provider.ChatRequest) (*provider.ChatResponse, error) {
			<-ctx.Done()
			observed <- ctx.Err()
			return nil, ctx.Err()
		}})
		// Long enough for the call to reach the plugin on a loaded machine.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Chat(ctx, &provider.ChatRequest{})
		if k := provider.KindOf(err); k != provider.KindTimeout {
			t.Errorf("kind = %v (%v), want timeout", k, err)
		}
		select {
		case perr := <-observed:
			// The plugin's own copy of the deadline and the host's
			// cancellation of the expired call race; either ends the ctx.
			if perr == nil {
				t.Error("plugin ctx ended without an error")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("plugin ctx never ended")
		}
	})
}

func TestDescribeCapabilities(t *testing.T) {
	models := []provider.Model{{ID: "m1", Modality: provider.ModalityText, ContextWindow: 128000}, {ID: "e1", Modality: provider.ModalityEmbedding}}
	tests := []struct {
		name string
		p    provider.Provider
		want []provider.Capability
	}{
		{"bare", bare{}, []provider.Capability{}},
		{"chat only", chatOnly{}, []provider.Capability{provider.CapChat}},
		{"everything", &full{info: &provider.Info{Name: "full", Version: "1.2.3", Models: models}},
			[]provider.Capability{provider.CapChat, provider.CapChatStream, provider.CapEmbed, provider.CapImage, provider.CapSpeech, provider.CapCountTokens}},
		// A plugin may narrow what it advertises (say, streaming off for a model family); the sdk keeps its list.
		{"explicit list kept", &full{info: &provider.Info{Name: "full", Version: "1", Models: models, Capabilities: []provider.Capability{provider.CapChat}}},
			[]provider.Capability{provider.CapChat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local, err := tt.p.Describe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, err := plugintest.Provider(t, tt.p).Describe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Capabilities, tt.want) {
				t.Errorf("capabilities = %v, want %v", got.Capabilities, tt.want)
			}
			if got.Name != local.Name || got.Version != local.Version || !reflect.DeepEqual(got.Models, local.Models) {
				t.Errorf("info = %+v, want %+v", got, local)
			}
		})
	}
}

type chatOnly struct{ bare }

func (chatOnly) Chat(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error) {
	return &provider.ChatResponse{}, nil
}

// Fully populated values: every field, at every depth, is non-zero, which
// requireFull checks, so a field added later without conversion code fails
// here instead of being silently dropped on the wire.
func fullChatRequest() *provider.ChatRequest {
	return &provider.ChatRequest{
		Model: "gpt-4o-mini",
		Messages: []provider.Message{
			{Role: provider.RoleSystem, Name: "sys", Content: []provider.ContentPart{{Type: provider.PartText, Text: "be brief", ImageURL: "x"}},
				ToolCalls: []provider.ToolCall{{ID: "call_1", Name: "lookup", Arguments: `{"q":"x"}`}}, ToolCallID: "call_0"},
			{Role: provider.RoleUser, Name: "alice", Content: []provider.ContentPart{
				{Type: provider.PartText, Text: "what is this?", ImageURL: "unused"},
				{Type: provider.PartImage, Text: "alt", ImageURL: "data:image/png;base64,iVBORw0KGgo="},
			}, ToolCalls: []provider.ToolCall{{ID: "call_2", Name: "look", Arguments: "{}"}}, ToolCallID: "call_1"},
		},
		Temperature:         ptr(0.7),
		TopP:                ptr(0.9),
		MaxTokens:           256,
		Stop:                []string{"\n\n", "END"},
		User:                "user-42",
		Seed:                ptr(int64(7)),
		PresencePenalty:     ptr(0.5),
		FrequencyPenalty:    ptr(-0.25),
		Tools:               []provider.Tool{{Name: "lookup", Description: "find a thing", Parameters: []byte(`{"type":"object"}`), Strict: true}},
		ParallelToolCalls:   ptr(true),
		MaxCompletionTokens: true,
		ToolChoice:          provider.ToolChoiceFunction,
		ToolChoiceName:      "lookup",
		ResponseFormat:      []byte(`{"type":"json_object"}`),
		ReasoningEffort:     "low",
		Verbosity:           "high",
		LogitBias:           map[string]int64{"50256": -100},
		Metadata:            map[string]string{"team": "search"},
		Store:               ptr(true),
		SafetyIdentifier:    "user-42-hash",
		PromptCacheKey:      "faq-v1",
	}
}

func fullUsage() provider.Usage {
	return provider.Usage{InputTokens: 12, CachedInputTokens: 5, CacheWriteTokens: 4, OutputTokens: 34, Characters: 56, Images: 2, Estimated: true}
}

func TestRequestsSurviveConversion(t *testing.T) {
	chatReq := fullChatRequest()
	chatResp := &provider.ChatResponse{ID: "chatcmpl-1", Model: "gpt-4o-mini-2024", Content: "an image", FinishReason: provider.FinishLength, Usage: fullUsage(),
		ToolCalls: []provider.ToolCall{{ID: "call_1", Name: "lookup", Arguments: `{"q":"x"}`}}}
	chunk := &provider.ChatChunk{ID: "chatcmpl-1", Model: "gpt-4o-mini-2024", Role: provider.RoleAssistant, Delta: "an", FinishReason: provider.FinishStop, Usage: ptr(fullUsage()),
		ToolCalls: []provider.ToolCallDelta{{Index: 1, ID: "call_1", Name: "lookup", Arguments: `{"q":`}}}
	embedReq := &provider.EmbedRequest{Model: "text-embedding-3-small", Input: []string{"a", "b c"}, Dimensions: 256, User: "user-42"}
	embedResp := &provider.EmbedResponse{Model: "text-embedding-3-small", Vectors: [][]float32{{0.1, -0.2}, {0.3, 0.4}}, Usage: fullUsage()}
	imageReq := &provider.ImageRequest{Model: "sd3", Prompt: "a fox", NegativePrompt: "blur", N: 2, Size: "1024x768",
		Quality: "hd", Style: "vivid", OutputFormat: "webp", Seed: 1234, User: "user-42"}
	imageResp := &provider.ImageResponse{Model: "sd3", Images: []provider.Image{
		{Data: []byte{0x89, 'P', 'N', 'G'}, MIMEType: "image/png", URL: "https://img.example/1.png", RevisedPrompt: "a red fox", Seed: 1234},
	}, Usage: fullUsage()}
	speechReq := &provider.SpeechRequest{Model: "tts-1", Input: "hello", Voice: "alloy", Format: "mp3", Speed: ptr(1.25)}
	speechResp := &provider.SpeechResponse{Audio: []byte{0xff, 0xfb}, MIMEType: "audio/mpeg", Usage: fullUsage()}
	cfg := provider.Config{APIKey: "sk-test", BaseURL: "http://127.0.0.1:1", ConnectTimeout: 1500 * time.Millisecond,
		ReadTimeout: 30 * time.Second, Options: map[string]string{"organization": "org-1", "api_version": "2024-06-01"}}
	info := &provider.Info{Name: "full", Version: "1.0.0",
		Models:       []provider.Model{{ID: "gpt-4o-mini", Modality: provider.ModalityText, ContextWindow: 128000}},
		Capabilities: []provider.Capability{provider.CapChat, provider.CapEmbed}}

	for _, v := range []any{chatReq, chatResp, chunk, embedReq, embedResp, imageReq, imageResp, speechReq, speechResp, cfg, info} {
		requireFull(t, fmt.Sprintf("%T", v), reflect.ValueOf(v))
	}

	var mu sync.Mutex
	got := map[string]any{}
	record := func(name string, v any) {
		mu.Lock()
		defer mu.Unlock()
		got[name] = v
	}
	f := &full{
		info:      info,
		configure: func(_ context.Context, c provider.Config) error { record("config", c); return nil },
		chat: func(_ context.Context, r *provider.ChatRequest) (*provider.ChatResponse, error) {
			record("chat", r)
			return chatResp, nil
		},
		stream: func(_ context.Context, r *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
			record("stream", r)
			return send(chunk)
		},
		embed: func(_ context.Context, r *provider.EmbedRequest) (*provider.EmbedResponse, error) {
			record("embed", r)
			return embedResp, nil
		},
		image: func(_ context.Context, r *provider.ImageRequest) (*provider.ImageResponse, error) {
			record("image", r)
			return imageResp, nil
		},
		speech: func(_ context.Context, r *provider.SpeechRequest) (*provider.SpeechResponse, error) {
			record("speech", r)
			return speechResp, nil
		},
		count: func(_ context.Context, r *provider.ChatRequest) (int64, error) {
			record("count", r)
			return 77, nil
		},
	}
	c := plugintest.Provider(t, f)
	ctx := context.Background()

	tests := []struct {
		name     string
		call     func() (any, error)
		wantReq  any
		wantResp any
	}{
		{"config", func() (any, error) { return nil, c.Configure(ctx, cfg) }, cfg, nil},
		{"describe", func() (any, error) { return c.Describe(ctx) }, nil, info},
		{"chat", func() (any, error) { return c.Chat(ctx, chatReq) }, chatReq, chatResp},
		{"stream", func() (any, error) {
			var chunks []*provider.ChatChunk
			err := c.ChatStream(ctx, chatReq, func(ch *provider.ChatChunk) error { chunks = append(chunks, ch); return nil })
			if len(chunks) != 1 {
				return chunks, err
			}
			return chunks[0], err
		}, chatReq, chunk},
		{"embed", func() (any, error) { return c.Embed(ctx, embedReq) }, embedReq, embedResp},
		{"image", func() (any, error) { return c.GenerateImage(ctx, imageReq) }, imageReq, imageResp},
		{"speech", func() (any, error) { return c.Speech(ctx, speechReq) }, speechReq, speechResp},
		{"count", func() (any, error) { return c.CountTokens(ctx, chatReq) }, chatReq, int64(77)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantResp != nil && !reflect.DeepEqual(resp, tt.wantResp) {
				t.Errorf("response:\n got %#v\nwant %#v", resp, tt.wantResp)
			}
			if tt.wantReq != nil {
				mu.Lock()
				req := got[tt.name]
				mu.Unlock()
				if !reflect.DeepEqual(req, tt.wantReq) {
					t.Errorf("request seen by plugin:\n got %#v\nwant %#v", req, tt.wantReq)
				}
			}
		})
	}
}

// requireFull fails if any field reachable from v is the zero value, or a
// slice or map is empty.
func requireFull(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			t.Errorf("fixture %s is nil", path)
			return
		}
		requireFull(t, path, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			requireFull(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			t.Errorf("fixture %s is empty", path)
		}
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				requireFull(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		}
	default:
		if v.IsZero() {
			t.Errorf("fixture %s is the zero value", path)
		}
	}
}
