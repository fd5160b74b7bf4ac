package plugintest

import (
	"context"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// callTimeout bounds every call a check makes, so a plugin that hangs
// fails its test instead of stalling the whole suite.
const callTimeout = 30 * time.Second

// defaultCancelWithin is how long a stream may take to end after its
// context is cancelled.
const defaultCancelWithin = 2 * time.Second

// ProviderCase is what CheckProvider needs to exercise a provider.
type ProviderCase struct {
	// Request is a chat request the provider answers successfully, for
	// example against the author's fake vendor server. It is required
	// when the provider implements Chatter or ChatStreamer.
	Request *provider.ChatRequest
	// Config, when set, is sent through Configure over gRPC first, as the
	// core does after launching a plugin. Leave it nil if the provider
	// was configured before the call.
	Config *provider.Config
	// SameContent requires the concatenated stream deltas to equal Chat's
	// content; set it when the fake vendor answers deterministically.
	SameContent bool
	// SameUsage requires the stream's usage to equal Chat's.
	SameUsage bool
	// CancelWithin bounds how long ChatStream, the host's call and the
	// plugin's own method, may run after the host cancels it. Zero means
	// two seconds.
	CancelWithin time.Duration
}

// CheckProvider runs p through the real gRPC path and checks what the core
// relies on:
//
//   - Describe reports a name, a version and at least one model with an ID
//     and a modality, and advertises no capability p does not implement;
//   - Chat (if p is a Chatter) returns non-empty content and usage whose
//     prompt-cache counts are parts of its input tokens;
//   - ChatStream (if p is a ChatStreamer) sends at least one chunk,
//     exactly one chunk carries Usage and it is the last, and the deltas
//     and usage match Chat's when the case asks for it;
//   - a stream cancelled right after its first chunk ends, at the host and
//     in the plugin, within CancelWithin, with KindCanceled, KindTimeout or
//     no error.
//
// t may be any testing.TB; when it is a *testing.T each check is a subtest.
func CheckProvider(t testing.TB, p provider.Provider, c ProviderCase) {
	t.Helper()
	client := Provider(t, p)
	_, isChat := p.(provider.Chatter)
	_, isStream := p.(provider.ChatStreamer)
	if (isChat || isStream) && c.Request == nil {
		t.Fatalf("plugintest: ProviderCase.Request is nil, but %T chats", p)
		return
	}

	if c.Config != nil {
		ok := run(t, "Configure", func(t testing.TB) {
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			if err := client.Configure(ctx, *c.Config); err != nil {
				t.Errorf("call failed: %v", err)
			}
		})
		if !ok {
			return
		}
	}

	run(t, "Describe", func(t testing.TB) { checkDescribe(t, client, p) })

	var chat *provider.ChatResponse
	if isChat {
		run(t, "Chat", func(t testing.TB) { chat = checkChat(t, client, c.Request) })
	}
	if isStream {
		run(t, "ChatStream", func(t testing.TB) { checkStream(t, client, c, chat) })
		run(t, "ChatStreamCancel", func(t testing.TB) { checkStreamCancel(t, p, c) })
	}
}

// run runs f as a subtest when t can have them. For any other testing.TB
// it gives f the same footing: its own goroutine, so that a fatal failure
// ends only this check, and messages prefixed with the check's name. It
// reports whether f passed.
func run(t testing.TB, name string, f func(testing.TB)) bool {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		return tt.Run(name, func(t *testing.T) { f(t) })
	}
	sub := &subTB{TB: t, prefix: name + ": "}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(sub)
	}()
	<-done
	return !sub.failed.Load()
}

// subTB stands in for a subtest under a testing.TB that is not a
// *testing.T. Only the methods that fail or end a test are its own.
type subTB struct {
	testing.TB
	prefix string
	failed atomic.Bool
}

func (s *subTB) Fail() {
	s.failed.Store(true)
	s.TB.Fail()
}

func (s *subTB) Failed() bool { return s.failed.Load() }

// FailNow ends the check's goroutine, as testing.T's does.
func (s *subTB) FailNow() {
	s.Fail()
	runtime.Goexit()
}

func (s *subTB) Error(args ...any) {
	s.TB.Helper()
	s.failed.Store(true)
	s.TB.Error(append([]any{s.prefix}, args...)...)
}

func (s *subTB) Errorf(format string, args ...any) {
	s.TB.Helper()
	s.failed.Store(true)
	s.TB.Errorf(s.prefix+format, args...)
}

func (s *subTB) Fatal(args ...any) {
	s.TB.Helper()
	s.Error(args...)
	runtime.Goexit()
}

func (s *subTB) Fatalf(format string, args ...any) {
	s.TB.Helper()
	s.Errorf(format, args...)
	runtime.Goexit()
}

func checkDescribe(t testing.TB, client provider.Client, p provider.Provider) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	info, err := client.Describe(ctx)
	if err != nil {
		t.Fatalf("call failed: %v", err)
		return
	}
	if info.Name == "" {
		t.Errorf("empty Name")
	}
	if info.Version == "" {
		t.Errorf("empty Version")
	}
	if len(info.Models) == 0 {
		t.Errorf("no Models")
	}
	seen := map[string]bool{}
	for i, m := range info.Models {
		if m.ID == "" || m.Modality == "" {
			t.Errorf("model %d = %+v, want an ID and a Modality", i, m)
		}
		if seen[m.ID] {
			t.Errorf("model %q listed twice", m.ID)
		}
		seen[m.ID] = true
	}
	have := provider.Capabilities(p)
	for _, c := range info.Capabilities {
		if !slices.Contains(have, c) {
			t.Errorf("advertises %q, but %T does not implement it", c, p)
		}
	}
}

func checkChat(t testing.TB, client provider.Client, req *provider.ChatRequest) *provider.ChatResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := client.Chat(ctx, req)
	if err != nil {
		t.Fatalf("call failed: %v", err)
		return nil
	}
	if resp.Content == "" {
		t.Errorf("empty Content")
	}
	checkUsage(t, resp.Usage)
	return resp
}

func checkUsage(t testing.TB, u provider.Usage) {
	t.Helper()
	if u.InputTokens <= 0 || u.OutputTokens <= 0 {
		t.Errorf("usage %+v, want positive InputTokens and OutputTokens", u)
	}
	if u.Characters < 0 || u.Images < 0 || u.CachedInputTokens < 0 || u.CacheWriteTokens < 0 {
		t.Errorf("negative usage %+v", u)
	}
	// The cache counts are parts of InputTokens. A plugin that adds them
	// on top instead (Anthropic reports them that way) is billed at the
	// full input price for everything, so the mistake costs its users.
	if !u.CacheCountsValid() {
		t.Errorf("usage %+v: CachedInputTokens + CacheWriteTokens exceed InputTokens; they must be parts of it", u)
	}
}

func checkStream(t testing.TB, client provider.Client, c ProviderCase, chat *provider.ChatResponse) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var chunks []*provider.ChatChunk
	err := client.ChatStream(ctx, c.Request, func(ch *provider.ChatChunk) error {
		chunks = append(chunks, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("call failed: %v (after %d chunks)", err, len(chunks))
		return
	}
	if len(chunks) == 0 {
		t.Fatalf("no chunks")
		return
	}
	var withUsage []int
	var content strings.Builder
	for i, ch := range chunks {
		if ch.Usage != nil {
			withUsage = append(withUsage, i)
		}
		content.WriteString(ch.Delta)
	}
	if len(withUsage) != 1 || withUsage[0] != len(chunks)-1 {
		t.Fatalf("chunks %v of %d carry Usage; want exactly one, the last", withUsage, len(chunks))
		return
	}
	usage := *chunks[len(chunks)-1].Usage
	checkUsage(t, usage)
	if chat == nil {
		return
	}
	if c.SameContent && content.String() != chat.Content {
		t.Errorf("deltas join to %q, Chat returned %q", content.String(), chat.Content)
	}
	if c.SameUsage && !reflect.DeepEqual(usage, chat.Usage) {
		t.Errorf("usage %+v, Chat reported %+v", usage, chat.Usage)
	}
}

// streamProbe serves only the streaming ability of a provider and records
// when the plugin's own ChatStream returns, which the host cannot see: the
// host's call ends as soon as it cancels, whether or not the plugin stopped
// its vendor call.
type streamProbe struct {
	provider.Provider
	s        provider.ChatStreamer
	returned chan struct{}
}

func (p *streamProbe) ChatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	defer close(p.returned)
	return p.s.ChatStream(ctx, req, send)
}

func checkStreamCancel(t testing.TB, p provider.Provider, c ProviderCase) {
	t.Helper()
	within := c.CancelWithin
	if within <= 0 {
		within = defaultCancelWithin
	}
	probe := &streamProbe{Provider: p, s: p.(provider.ChatStreamer), returned: make(chan struct{})}
	client := Provider(t, probe)

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var cancelledAt time.Time
	done := make(chan error, 1)
	go func() {
		done <- client.ChatStream(ctx, c.Request, func(*provider.ChatChunk) error {
			if cancelledAt.IsZero() {
				cancelledAt = time.Now()
				cancel()
			}
			return nil
		})
	}()

	var err error
	select {
	case err = <-done:
	case <-time.After(callTimeout):
		t.Fatalf("call did not return within %v", callTimeout)
		return
	}
	if cancelledAt.IsZero() {
		t.Fatalf("stream ended before its first chunk (err %v)", err)
		return
	}
	if d := time.Since(cancelledAt); d > within {
		t.Errorf("host call returned %v after cancel, want within %v", d, within)
	}
	if err != nil {
		if k := provider.KindOf(err); k != provider.KindCanceled && k != provider.KindTimeout {
			t.Errorf("cancelled call failed with %v (kind %v), want KindCanceled, KindTimeout or nil", err, k)
		}
	}
	select {
	case <-probe.returned:
	case <-time.After(within - time.Since(cancelledAt)):
		t.Errorf("the plugin's ChatStream still runs %v after its context was cancelled; it must stop the vendor call", within)
	}
}

// A built-in candidate table for CheckStrategy: realistic prices (micro-USD
// per million tokens), qualities and live measurements, including an open
// breaker, a half-open one, a candidate without latency data, and the same
// model at two providers.
func strategyCases() []struct {
	name string
	req  *strategy.Request
} {
	text := func(provider, model string, in, out int64, quality float64, latency float64, b strategy.BreakerState) strategy.Candidate {
		return strategy.Candidate{
			Provider: provider, Model: model, Modality: "text",
			InputMicroUSDPerMTok: in, OutputMicroUSDPerMTok: out, EstimatedMicroUSD: (in*1000 + out*200) / 1_000_000,
			Quality: quality, ContextWindow: 128_000, Capabilities: []string{"chat", "chat_stream"},
			LatencyEWMAMillis: latency, LatencyP95Millis: latency * 2, HasLatency: latency > 0, ErrorRate: 0.01, Breaker: b,
		}
	}
	textFeatures := strategy.Features{Modality: "text", InputTokens: 1000, OutputTokens: 200, ContextTokens: 1200, Capabilities: []string{"chat"}}
	three := []strategy.Candidate{
		text("openai", "gpt-4o-mini", 150_000, 600_000, 70, 450, strategy.BreakerClosed),
		text("anthropic", "claude-3-5-haiku", 800_000, 4_000_000, 75, 600, strategy.BreakerClosed),
		text("mistral", "mistral-small", 200_000, 600_000, 65, 380, strategy.BreakerClosed),
	}
	streaming := textFeatures
	streaming.Streaming = true
	streaming.Capabilities = []string{"chat", "chat_stream"}
	streaming.Params = map[string]string{"prefer": "anthropic", "cost_weight": "0.5", "quality_weight": "0.3", "latency_weight": "0.2"}

	return []struct {
		name string
		req  *strategy.Request
	}{
		{"three closed", &strategy.Request{Features: textFeatures, Candidates: three}},
		{"cheapest and best are open", &strategy.Request{Features: textFeatures, Candidates: []strategy.Candidate{
			text("groq", "llama-3.1-8b", 50_000, 80_000, 90, 120, strategy.BreakerOpen),
			three[0],
			text("together", "qwen-2.5-72b", 100_000, 100_000, 60, 900, strategy.BreakerHalfOpen),
		}}},
		{"streaming with params", &strategy.Request{Features: streaming, Candidates: three}},
		{"no latency data", &strategy.Request{Features: textFeatures, Candidates: []strategy.Candidate{
			text("openai", "gpt-4o", 2_500_000, 10_000_000, 90, 0, strategy.BreakerClosed),
			text("anthropic", "claude-sonnet-4", 3_000_000, 15_000_000, 92, 0, strategy.BreakerClosed),
		}}},
		{"same model at two providers", &strategy.Request{Features: textFeatures, Candidates: []strategy.Candidate{
			text("together", "llama-3.3-70b", 880_000, 880_000, 72, 700, strategy.BreakerClosed),
			text("groq", "llama-3.3-70b", 590_000, 790_000, 72, 300, strategy.BreakerClosed),
		}}},
		{"single candidate", &strategy.Request{Features: textFeatures, Candidates: three[:1]}},
		{"image", &strategy.Request{
			Features: strategy.Features{Modality: "image", Capabilities: []string{"image"}},
			Candidates: []strategy.Candidate{
				{Provider: "openai", Model: "gpt-image-1", Modality: "image", UnitMicroUSD: 40_000, EstimatedMicroUSD: 40_000, Quality: 85, Capabilities: []string{"image"}},
				{Provider: "stability", Model: "sd3.5-large", Modality: "image", UnitMicroUSD: 65_000, EstimatedMicroUSD: 65_000, Quality: 80, Capabilities: []string{"image"}, HasLatency: true, LatencyEWMAMillis: 4000, LatencyP95Millis: 9000},
			},
		}},
	}
}

// CheckStrategy runs s through the real gRPC path and checks, on a built-in
// table of candidate sets:
//
//   - Describe reports a name and a version;
//   - Route returns only candidates from its input, none twice, never one
//     whose breaker is open, at least one when a closed candidate exists,
//     and a non-empty Reason;
//   - unless Info.PerRequest is set, the same request gets the same
//     decision, since the core memoizes it per request class;
//   - an empty candidate list yields no choices and no error.
//
// t may be any testing.TB; when it is a *testing.T each check is a subtest.
func CheckStrategy(t testing.TB, s strategy.Strategy) {
	t.Helper()
	client := Strategy(t, s)
	var info *strategy.Info
	ok := run(t, "Describe", func(t testing.TB) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		var err error
		info, err = client.Describe(ctx)
		if err != nil {
			t.Fatalf("call failed: %v", err)
			return
		}
		if info.Name == "" || info.Version == "" {
			t.Errorf("info %+v, want a Name and a Version", info)
		}
	})
	if !ok || info == nil {
		return
	}
	for _, tc := range strategyCases() {
		run(t, "Route/"+tc.name, func(t testing.TB) { checkRoute(t, client, tc.req, info.PerRequest) })
	}
	run(t, "Route/empty", func(t testing.TB) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		d, err := client.Route(ctx, &strategy.Request{Features: strategy.Features{Modality: "text"}})
		if err != nil {
			t.Errorf("call with no candidates failed: %v, want no error", err)
			return
		}
		if len(d.Choices) != 0 {
			t.Errorf("chose %+v from no candidates", d.Choices)
		}
	})
}

func checkRoute(t testing.TB, client strategy.Strategy, req *strategy.Request, perRequest bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	d, err := client.Route(ctx, req)
	if err != nil {
		t.Fatalf("call failed: %v", err)
		return
	}
	in := map[string]strategy.Candidate{}
	anyClosed := false
	for _, c := range req.Candidates {
		in[c.Key()] = c
		anyClosed = anyClosed || c.Breaker == strategy.BreakerClosed
	}
	seen := map[string]bool{}
	for i, ch := range d.Choices {
		key := strategy.Candidate{Provider: ch.Provider, Model: ch.Model}.Key()
		c, ok := in[key]
		switch {
		case !ok:
			t.Errorf("choice %d %q is not among the candidates", i, key)
		case c.Breaker == strategy.BreakerOpen:
			t.Errorf("choice %d %q has an open breaker", i, key)
		}
		if seen[key] {
			t.Errorf("choice %q appears twice", key)
		}
		seen[key] = true
	}
	if anyClosed && len(d.Choices) == 0 {
		t.Errorf("no choices, though %d candidates have a closed breaker", countClosed(req.Candidates))
	}
	if d.Reason == "" {
		t.Errorf("empty Reason")
	}
	if perRequest {
		return
	}
	again, err := client.Route(ctx, req)
	if err != nil {
		t.Errorf("second call failed: %v", err)
		return
	}
	if !reflect.DeepEqual(again, d) {
		t.Errorf("same request, different decisions (%+v then %+v); the core memoizes decisions unless Info.PerRequest is set", d, again)
	}
}

func countClosed(cs []strategy.Candidate) int {
	n := 0
	for _, c := range cs {
		if c.Breaker == strategy.BreakerClosed {
			n++
		}
	}
	return n
}
