// Package strategytest holds what the tests of strategy plugins built on
// strategykit share: a fixed candidate table with every case a strategy
// must handle, and helpers that run a strategy both directly and over the
// real gRPC path and insist the two agree.
package strategytest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// Fixture is the fixed candidate table the strategy tests share: ties on
// cost (gpt-4o-mini, claude-3-haiku), quality (gpt-4o, claude-3-sonnet) and
// latency (gpt-4o-mini, claude-3-sonnet); two unmeasured candidates; a
// half-open and an open breaker; a context window too small; a modality
// mismatch; and a missing capability.
func Fixture() *strategy.Request {
	chat := []string{"chat", "chat_stream"}
	return &strategy.Request{
		Features: strategy.Features{Modality: "text", InputTokens: 1000, OutputTokens: 500, ContextTokens: 10_000, Capabilities: []string{"chat"}},
		Candidates: []strategy.Candidate{
			{Provider: "openai", Model: "gpt-4", Modality: "text", EstimatedMicroUSD: 30_000, Quality: 80, ContextWindow: 8192,
				Capabilities: chat, HasLatency: true, LatencyEWMAMillis: 100, LatencyP95Millis: 150}, // context too small
			{Provider: "openai", Model: "gpt-4o", Modality: "text", EstimatedMicroUSD: 2500, Quality: 90, ContextWindow: 128_000,
				Capabilities: chat, HasLatency: true, LatencyEWMAMillis: 400, LatencyP95Millis: 900},
			{Provider: "anthropic", Model: "claude-3-opus", Modality: "text", EstimatedMicroUSD: 15_000, Quality: 92, ContextWindow: 200_000,
				Capabilities: chat}, // no latency yet
			{Provider: "openai", Model: "gpt-4o-mini", Modality: "text", EstimatedMicroUSD: 150, Quality: 75, ContextWindow: 128_000,
				Capabilities: chat, HasLatency: true, LatencyEWMAMillis: 300, LatencyP95Millis: 600},
			{Provider: "openai", Model: "dall-e-3", Modality: "image", EstimatedMicroUSD: 40_000, Quality: 80,
				Capabilities: []string{"image"}}, // modality mismatch
			{Provider: "local", Model: "llama3.1:8b", Modality: "text", EstimatedMicroUSD: 0, Quality: 55, ContextWindow: 131_072,
				Capabilities: chat, HasLatency: true, LatencyEWMAMillis: 50, LatencyP95Millis: 80, Breaker: strategy.BreakerOpen},
			{Provider: "anthropic", Model: "claude-3-sonnet", Modality: "text", EstimatedMicroUSD: 3000, Quality: 90, ContextWindow: 200_000,
				Capabilities: chat, HasLatency: true, LatencyEWMAMillis: 300, LatencyP95Millis: 550, ErrorRate: 0.1,
				Breaker: strategy.BreakerHalfOpen},
			{Provider: "custom", Model: "embedder", Modality: "text", EstimatedMicroUSD: 100, Quality: 99,
				Capabilities: []string{"embed"}}, // lacks chat
			{Provider: "openai", Model: "gpt-3.5-turbo", Modality: "text", EstimatedMicroUSD: 500, Quality: 60, ContextWindow: 16_385,
				Capabilities: chat}, // no latency yet
			{Provider: "anthropic", Model: "claude-3-haiku", Modality: "text", EstimatedMicroUSD: 150, Quality: 70, ContextWindow: 200_000,
				Capabilities: chat, HasLatency: true, LatencyEWMAMillis: 250, LatencyP95Millis: 500},
		},
	}
}

// ChoiceKeys lists a decision's choices as "provider/model".
func ChoiceKeys(d *strategy.Decision) []string {
	out := make([]string, len(d.Choices))
	for i, c := range d.Choices {
		out[i] = c.Provider + "/" + c.Model
	}
	return out
}

// Route calls s directly and, to check what the core will see, over the
// real gRPC path; both must agree.
func Route(t testing.TB, s strategy.Strategy, req *strategy.Request) (*strategy.Decision, error) {
	t.Helper()
	direct, err := s.Route(context.Background(), req)
	remote, rerr := plugintest.Strategy(t, s).Route(context.Background(), req)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("direct error %v, over gRPC %v", err, rerr)
	}
	if err == nil && (!slices.Equal(ChoiceKeys(direct), ChoiceKeys(remote)) || direct.Reason != remote.Reason) {
		t.Fatalf("direct %+v, over gRPC %+v", direct, remote)
	}
	return direct, err
}

// CheckDescribeAndEmpty checks Describe and the no-candidate answer.
func CheckDescribeAndEmpty(t testing.TB, s strategy.Strategy, name string) {
	t.Helper()
	info, err := s.Describe(context.Background())
	if err != nil || info.Name != name || info.Version != "1.0.0" || info.PerRequest {
		t.Errorf("Describe = %+v, %v", info, err)
	}
	req := Fixture()
	req.Features.Modality = "audio"
	d, err := Route(t, s, req)
	if err != nil || len(d.Choices) != 0 || !strings.Contains(d.Reason, `not of modality "audio"`) {
		t.Errorf("Route with nothing eligible = %+v, %v", d, err)
	}
	d, err = Route(t, s, &strategy.Request{})
	if err != nil || len(d.Choices) != 0 || !strings.Contains(d.Reason, "none were offered") {
		t.Errorf("Route with no candidates = %+v, %v", d, err)
	}
}
