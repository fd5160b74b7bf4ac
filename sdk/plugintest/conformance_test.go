package plugintest_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// recorder is a testing.TB that collects failures instead of failing the
// test, so that a check can be shown to reject a bad implementation.
// Cleanup, Helper, Log and the rest go to the real test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
}

func (r *recorder) Fail()                          { r.add("Fail called") }
func (r *recorder) Error(args ...any)              { r.add(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, a ...any) { r.add(fmt.Sprintf(format, a...)) }
func (r *recorder) FailNow()                       { r.Fail(); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)              { r.Error(args...); runtime.Goexit() }
func (r *recorder) Fatalf(format string, a ...any) { r.Errorf(format, a...); runtime.Goexit() }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs) > 0
}

// record runs check against a recorder in its own goroutine (FailNow ends
// it, as in a real test) and returns the failures.
func record(t *testing.T, check func(testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs
}

// ---------------------------------------------------------------- providers

// words is a well-behaved provider: it answers with the last message
// prefixed, word by word when streaming, and counts usage in words.
type words struct {
	configured atomic.Bool
}

func (*words) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{Name: "words", Version: "1.0.0", Models: []provider.Model{{ID: "words-1", Modality: provider.ModalityText, ContextWindow: 1000}}}, nil
}

func (w *words) Configure(_ context.Context, cfg provider.Config) error {
	if cfg.APIKey == "" {
		return provider.Errorf(provider.KindUnconfigured, "api key required")
	}
	w.configured.Store(true)
	return nil
}

func (*words) answer(req *provider.ChatRequest) (string, provider.Usage) {
	in := 0
	for _, m := range req.Messages {
		in += len(strings.Fields(m.Text()))
	}
	out := "you said: " + req.Messages[len(req.Messages)-1].Text()
	return out, provider.Usage{InputTokens: int64(in), OutputTokens: int64(len(strings.Fields(out)))}
}

func (w *words) Chat(_ context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	out, u := w.answer(req)
	return &provider.ChatResponse{Content: out, FinishReason: provider.FinishStop, Usage: u}, nil
}

func (w *words) ChatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	out, u := w.answer(req)
	for i, f := range strings.SplitAfter(out, " ") {
		if i > 0 {
			// A vendor takes time per token; honour cancellation meanwhile.
			select {
			case <-ctx.Done():
				return provider.Errorf(provider.KindCanceled, "stream cancelled")
			case <-time.After(5 * time.Millisecond):
			}
		}
		if err := send(&provider.ChatChunk{Delta: f}); err != nil {
			return err
		}
	}
	return send(&provider.ChatChunk{FinishReason: provider.FinishStop, Usage: &u})
}

func goodCase() plugintest.ProviderCase {
	return plugintest.ProviderCase{
		Request: &provider.ChatRequest{Model: "words-1", Messages: []provider.Message{
			provider.TextMessage(provider.RoleSystem, "be kind"),
			provider.TextMessage(provider.RoleUser, "hello there general kenobi"),
		}},
		Config:      &provider.Config{APIKey: "k"},
		SameContent: true,
		SameUsage:   true,
	}
}

// chatOnlyWords offers Chat alone; stream checks must not run.
type chatOnlyWords struct{ w words }

func (c *chatOnlyWords) Describe(ctx context.Context) (*provider.Info, error) {
	return c.w.Describe(ctx)
}
func (c *chatOnlyWords) Configure(ctx context.Context, cfg provider.Config) error {
	return c.w.Configure(ctx, cfg)
}
func (c *chatOnlyWords) Chat(ctx context.Context, r *provider.ChatRequest) (*provider.ChatResponse, error) {
	return c.w.Chat(ctx, r)
}

func TestCheckProviderPasses(t *testing.T) {
	tests := []struct {
		name string
		p    provider.Provider
	}{
		{"chat and stream", &words{}},
		{"chat only", &chatOnlyWords{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugintest.CheckProvider(t, tt.p, goodCase())
		})
		t.Run(tt.name+"/any TB", func(t *testing.T) {
			if msgs := record(t, func(tb testing.TB) { plugintest.CheckProvider(tb, tt.p, goodCase()) }); len(msgs) != 0 {
				t.Errorf("good provider failed: %q", msgs)
			}
		})
	}
}

// Each bad provider breaks one rule; its methods override words'.
type (
	anonymous      struct{ words }
	overAdvertised struct{ words }
	twinModels     struct{ words }
	emptyChat      struct{ words }
	panicChat      struct{ words }
	usageFirst     struct{ words }
	usageTwice     struct{ words }
	noUsage        struct{ words }
	otherContent   struct{ words }
	otherUsage     struct{ words }
	cacheOnTop     struct{ words }
	failingStream  struct{ words }
	ignoresCancel  struct{ words }
)

func (*anonymous) Describe(context.Context) (*provider.Info, error) { return &provider.Info{}, nil }

func (*overAdvertised) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{Name: "x", Version: "1", Models: []provider.Model{{ID: "m", Modality: provider.ModalityText}},
		Capabilities: []provider.Capability{provider.CapChat, provider.CapEmbed}}, nil
}

func (*twinModels) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{Name: "x", Version: "1", Models: []provider.Model{{ID: "m", Modality: provider.ModalityText}, {ID: "m", Modality: provider.ModalityText}, {ID: "n"}}}, nil
}

func (*emptyChat) Chat(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error) {
	return &provider.ChatResponse{}, nil
}

func (*panicChat) Chat(context.Context, *provider.ChatRequest) (*provider.ChatResponse, error) {
	panic("bug")
}

func (*usageFirst) ChatStream(_ context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	if err := send(&provider.ChatChunk{Delta: "a", Usage: &provider.Usage{InputTokens: 1, OutputTokens: 1}}); err != nil {
		return err
	}
	return send(&provider.ChatChunk{Delta: "b"})
}

func (*usageTwice) ChatStream(_ context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	u := &provider.Usage{InputTokens: 1, OutputTokens: 1}
	if err := send(&provider.ChatChunk{Delta: "a", Usage: u}); err != nil {
		return err
	}
	return send(&provider.ChatChunk{Delta: "b", Usage: u})
}

func (*noUsage) ChatStream(_ context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	return send(&provider.ChatChunk{Delta: "a", FinishReason: provider.FinishStop})
}

func (o *otherContent) ChatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	_, u := o.answer(req)
	if err := send(&provider.ChatChunk{Delta: "something else"}); err != nil {
		return err
	}
	return send(&provider.ChatChunk{Usage: &u})
}

func (o *otherUsage) ChatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	out, u := o.answer(req)
	u.OutputTokens++
	if err := send(&provider.ChatChunk{Delta: out}); err != nil {
		return err
	}
	return send(&provider.ChatChunk{Usage: &u})
}

// Chat reports Anthropic's cache reads on top of the input tokens
// instead of as a part of them.
func (c *cacheOnTop) Chat(_ context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	out, u := c.answer(req)
	u.CachedInputTokens = u.InputTokens + 1
	return &provider.ChatResponse{Content: out, FinishReason: provider.FinishStop, Usage: u}, nil
}

func (*failingStream) ChatStream(context.Context, *provider.ChatRequest, func(*provider.ChatChunk) error) error {
	return provider.Errorf(provider.KindUnavailable, "vendor down")
}

// ChatStream keeps "reading the vendor" after cancellation, ignoring both
// ctx and send's errors: the host has moved on, but the plugin still pays.
func (*ignoresCancel) ChatStream(_ context.Context, _ *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	for range 20 {
		_ = send(&provider.ChatChunk{Delta: "x "})
		time.Sleep(50 * time.Millisecond)
	}
	return send(&provider.ChatChunk{Usage: &provider.Usage{InputTokens: 1, OutputTokens: 20}})
}

func TestCheckProviderFails(t *testing.T) {
	noRequest := goodCase()
	noRequest.Request = nil
	badConfig := goodCase()
	badConfig.Config = &provider.Config{} // words refuses an empty key
	quickCancel := goodCase()
	quickCancel.CancelWithin = 200 * time.Millisecond

	tests := []struct {
		name string
		p    provider.Provider
		c    plugintest.ProviderCase
		want []string
	}{
		{"no name, version or models", &anonymous{}, goodCase(), []string{"Describe: empty Name", "Describe: empty Version", "Describe: no Models"}},
		{"advertises a missing ability", &overAdvertised{}, goodCase(), []string{`advertises "embed"`}},
		{"duplicate and incomplete models", &twinModels{}, goodCase(), []string{`model "m" listed twice`, "want an ID and a Modality"}},
		{"empty chat", &emptyChat{}, goodCase(), []string{"empty Content", "want positive InputTokens"}},
		{"panicking chat", &panicChat{}, goodCase(), []string{"Chat: call failed: unavailable"}},
		{"usage on the first chunk", &usageFirst{}, goodCase(), []string{"ChatStream: chunks [0] of 2 carry Usage; want exactly one, the last"}},
		{"usage twice", &usageTwice{}, goodCase(), []string{"chunks [0 1] of 2 carry Usage"}},
		{"no usage", &noUsage{}, goodCase(), []string{"chunks [] of 1 carry Usage"}},
		{"stream content differs", &otherContent{}, goodCase(), []string{"deltas join to"}},
		{"stream usage differs", &otherUsage{}, goodCase(), []string{"Chat reported"}},
		{"cache counts on top of input", &cacheOnTop{}, goodCase(), []string{"exceed InputTokens"}},
		{"stream fails", &failingStream{}, goodCase(), []string{"ChatStream: call failed: unavailable: vendor down"}},
		{"ignores cancellation", &ignoresCancel{}, quickCancel, []string{"ChatStreamCancel: the plugin's ChatStream still runs"}},
		{"no request", &words{}, noRequest, []string{"ProviderCase.Request is nil"}},
		{"configure fails", &words{}, badConfig, []string{"Configure: call failed: unconfigured"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := record(t, func(tb testing.TB) { plugintest.CheckProvider(tb, tt.p, tt.c) })
			t.Logf("failures reported: %q", msgs)
			all := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("failures %q lack %q", msgs, w)
				}
			}
		})
	}
}

// ---------------------------------------------------------------- strategies

// cheapest is a well-behaved strategy: closed and half-open candidates,
// cheapest first, ties broken by key so that the order is deterministic.
type cheapest struct{}

func (cheapest) Describe(context.Context) (*strategy.Info, error) {
	return &strategy.Info{Name: "cheapest", Version: "1.0.0"}, nil
}

func (cheapest) Route(_ context.Context, req *strategy.Request) (*strategy.Decision, error) {
	cs := slices.DeleteFunc(slices.Clone(req.Candidates), func(c strategy.Candidate) bool { return c.Breaker == strategy.BreakerOpen })
	slices.SortFunc(cs, func(a, b strategy.Candidate) int {
		return cmp.Or(cmp.Compare(a.EstimatedMicroUSD, b.EstimatedMicroUSD), strings.Compare(a.Key(), b.Key()))
	})
	d := &strategy.Decision{Reason: "cheapest estimated cost first"}
	for _, c := range cs {
		d.Choices = append(d.Choices, strategy.Choice{Provider: c.Provider, Model: c.Model, Score: float64(-c.EstimatedMicroUSD)})
	}
	return d, nil
}

// rotating answers differently each call, which is fine only because it
// asks for PerRequest.
type rotating struct {
	n          atomic.Int64
	perRequest bool
}

func (r *rotating) Describe(context.Context) (*strategy.Info, error) {
	return &strategy.Info{Name: "rotating", Version: "1.0.0", PerRequest: r.perRequest}, nil
}

func (r *rotating) Route(ctx context.Context, req *strategy.Request) (*strategy.Decision, error) {
	d, err := cheapest{}.Route(ctx, req)
	if err != nil || len(d.Choices) == 0 {
		return d, err
	}
	k := int(r.n.Add(1)) % len(d.Choices)
	d.Choices = append(d.Choices[k:], d.Choices[:k]...)
	return d, nil
}

func TestCheckStrategyPasses(t *testing.T) {
	tests := []struct {
		name string
		s    strategy.Strategy
	}{
		{"cheapest", cheapest{}},
		{"per-request rotation", &rotating{perRequest: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { plugintest.CheckStrategy(t, tt.s) })
		t.Run(tt.name+"/any TB", func(t *testing.T) {
			if msgs := record(t, func(tb testing.TB) { plugintest.CheckStrategy(tb, tt.s) }); len(msgs) != 0 {
				t.Errorf("good strategy failed: %q", msgs)
			}
		})
	}
}

// badStrategy turns cheapest's decision into a bad one.
type badStrategy struct {
	info   strategy.Info
	mangle func(req *strategy.Request, d *strategy.Decision) (*strategy.Decision, error)
}

func (b badStrategy) Describe(context.Context) (*strategy.Info, error) { return &b.info, nil }

func (b badStrategy) Route(ctx context.Context, req *strategy.Request) (*strategy.Decision, error) {
	d, _ := cheapest{}.Route(ctx, req)
	return b.mangle(req, d)
}

func TestCheckStrategyFails(t *testing.T) {
	named := strategy.Info{Name: "bad", Version: "1"}
	tests := []struct {
		name string
		s    strategy.Strategy
		want []string
	}{
		{"no name", badStrategy{info: strategy.Info{}, mangle: func(_ *strategy.Request, d *strategy.Decision) (*strategy.Decision, error) { return d, nil }},
			[]string{"want a Name and a Version"}},
		{"invents a candidate", badStrategy{info: named, mangle: func(_ *strategy.Request, d *strategy.Decision) (*strategy.Decision, error) {
			d.Choices = append(d.Choices, strategy.Choice{Provider: "ghost", Model: "phantom-1"})
			return d, nil
		}}, []string{`"ghost/phantom-1" is not among the candidates`, "Route/empty: chose"}},
		{"duplicates", badStrategy{info: named, mangle: func(_ *strategy.Request, d *strategy.Decision) (*strategy.Decision, error) {
			if len(d.Choices) > 0 {
				d.Choices = append(d.Choices, d.Choices[0])
			}
			return d, nil
		}}, []string{"appears twice"}},
		{"open breaker", badStrategy{info: named, mangle: func(req *strategy.Request, d *strategy.Decision) (*strategy.Decision, error) {
			d.Choices = nil
			for _, c := range req.Candidates {
				d.Choices = append(d.Choices, strategy.Choice{Provider: c.Provider, Model: c.Model})
			}
			return d, nil
		}}, []string{`Route/cheapest and best are open: choice 0 "groq/llama-3.1-8b" has an open breaker`}},
		{"empty reason", badStrategy{info: named, mangle: func(_ *strategy.Request, d *strategy.Decision) (*strategy.Decision, error) {
			d.Reason = ""
			return d, nil
		}}, []string{"empty Reason"}},
		{"drops everything", badStrategy{info: named, mangle: func(_ *strategy.Request, d *strategy.Decision) (*strategy.Decision, error) {
			d.Choices = nil
			return d, nil
		}}, []string{"no choices, though 3 candidates have a closed breaker"}},
		{"fails on an empty list", badStrategy{info: named, mangle: func(req *strategy.Request, d *strategy.Decision) (*strategy.Decision, error) {
			if len(req.Candidates) == 0 {
				return nil, errors.New("nothing to route")
			}
			return d, nil
		}}, []string{"Route/empty: call with no candidates failed: route: rpc error"}},
		{"nondeterministic without PerRequest", &rotating{}, []string{"same request, different decisions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := record(t, func(tb testing.TB) { plugintest.CheckStrategy(tb, tt.s) })
			t.Logf("failures reported: %q", msgs)
			all := strings.Join(msgs, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("failures %q lack %q", msgs, w)
				}
			}
		})
	}
}
