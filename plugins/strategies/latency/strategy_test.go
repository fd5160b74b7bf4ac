package main

import (
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategytest"
	"slices"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

func TestDescribeAndEmpty(t *testing.T) {
	strategytest.CheckDescribeAndEmpty(t, &Strategy{}, "latency")
}

func TestRoute(t *testing.T) {
	cand := func(model string, has bool, ewma, p95 float64, cost int64, b strategy.BreakerState) strategy.Candidate {
		return strategy.Candidate{Provider: "p", Model: model, HasLatency: has, LatencyEWMAMillis: ewma,
			LatencyP95Millis: p95, EstimatedMicroUSD: cost, Breaker: b}
	}
	closed, half := strategy.BreakerClosed, strategy.BreakerHalfOpen
	tests := []struct {
		name   string
		req    *strategy.Request
		want   []string
		scores []float64
		reason string
	}{
		{
			// Closed and measured by EWMA; closed and unmeasured by cost;
			// then the half-open claude-3-sonnet, although its 300 ms ties
			// gpt-4o-mini's. The open local model (50 ms) is dropped.
			name: "fixture",
			req:  strategytest.Fixture(),
			want: []string{"anthropic/claude-3-haiku", "openai/gpt-4o-mini", "openai/gpt-4o",
				"openai/gpt-3.5-turbo", "anthropic/claude-3-opus", "anthropic/claude-3-sonnet"},
			scores: []float64{250, 300, 400, -1, -1, 300},
			reason: "fastest: anthropic/claude-3-haiku at 250 ms (p95 500 ms)",
		},
		{
			name: "ewma tie: p95 then key",
			req: &strategy.Request{Candidates: []strategy.Candidate{
				cand("c", true, 100, 300, 0, closed), cand("b", true, 100, 200, 0, closed), cand("a", true, 100, 300, 0, closed),
			}},
			want:   []string{"p/b", "p/a", "p/c"},
			reason: "fastest: p/b at 100 ms (p95 200 ms)",
		},
		{
			name: "nothing measured: cheapest first",
			req: &strategy.Request{Candidates: []strategy.Candidate{
				cand("dear", false, 0, 0, 900, closed), cand("cheap", false, 0, 0, 100, closed),
			}},
			want:   []string{"p/cheap", "p/dear"},
			reason: "no latency measured yet; cheapest unmeasured: p/cheap at $0.000100 estimated",
		},
		{
			name: "only half-open",
			req: &strategy.Request{Candidates: []strategy.Candidate{
				cand("slow", true, 900, 900, 0, half), cand("fast", true, 90, 120, 0, half),
			}},
			want:   []string{"p/fast", "p/slow"},
			reason: "fastest: p/fast at 90 ms (p95 120 ms), breaker half-open",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := strategytest.Route(t, &Strategy{}, tt.req)
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			if got := strategytest.ChoiceKeys(d); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
			for i, s := range tt.scores {
				if d.Choices[i].Score != s {
					t.Errorf("Choices[%d].Score = %v, want %v", i, d.Choices[i].Score, s)
				}
			}
			if d.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", d.Reason, tt.reason)
			}
		})
	}
}
