package main

import (
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategytest"
	"slices"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

func TestDescribeAndEmpty(t *testing.T) { strategytest.CheckDescribeAndEmpty(t, &Strategy{}, "cost") }

func TestRoute(t *testing.T) {
	cand := func(model string, cost int64, q float64, has bool, ewma float64) strategy.Candidate {
		return strategy.Candidate{Provider: "p", Model: model, Modality: "text", EstimatedMicroUSD: cost, Quality: q,
			HasLatency: has, LatencyEWMAMillis: ewma}
	}
	tests := []struct {
		name   string
		req    *strategy.Request
		want   []string
		reason string
	}{
		{
			// gpt-4o-mini and claude-3-haiku tie at $0.000150; gpt-4o-mini
			// has the higher quality.
			name: "fixture",
			req:  strategytest.Fixture(),
			want: []string{"openai/gpt-4o-mini", "anthropic/claude-3-haiku", "openai/gpt-3.5-turbo",
				"openai/gpt-4o", "anthropic/claude-3-sonnet", "anthropic/claude-3-opus"},
			reason: "cheapest: openai/gpt-4o-mini at $0.000150 estimated",
		},
		{
			name: "cost and quality tie: lower latency, unmeasured last",
			req: &strategy.Request{Features: strategy.Features{Modality: "text"}, Candidates: []strategy.Candidate{
				cand("unmeasured", 10, 50, false, 0), cand("slow", 10, 50, true, 900), cand("fast", 10, 50, true, 100),
			}},
			want:   []string{"p/fast", "p/slow", "p/unmeasured"},
			reason: "cheapest: p/fast at $0.000010 estimated",
		},
		{
			name: "full tie: by key",
			req: &strategy.Request{Candidates: []strategy.Candidate{
				cand("b", 10, 50, false, 0), cand("a", 10, 50, false, 0),
			}},
			want:   []string{"p/a", "p/b"},
			reason: "cheapest: p/a at $0.000010 estimated",
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
			if d.Reason != tt.reason {
				t.Errorf("Reason = %q, want %q", d.Reason, tt.reason)
			}
			if d.Choices[0].Score != 150 && d.Choices[0].Score != 10 {
				t.Errorf("Score of best = %v, want its estimate in micro-USD", d.Choices[0].Score)
			}
		})
	}
}
