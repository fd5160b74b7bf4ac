package main

import (
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategytest"
	"slices"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

func TestDescribeAndEmpty(t *testing.T) {
	strategytest.CheckDescribeAndEmpty(t, &Strategy{}, "quality")
}

func TestRoute(t *testing.T) {
	cand := func(model string, q float64, cost int64) strategy.Candidate {
		return strategy.Candidate{Provider: "p", Model: model, Quality: q, EstimatedMicroUSD: cost}
	}
	tests := []struct {
		name   string
		req    *strategy.Request
		want   []string
		reason string
	}{
		{
			// gpt-4o and claude-3-sonnet tie at 90; gpt-4o is cheaper. The
			// embedder's 99 does not count: it cannot chat.
			name: "fixture",
			req:  strategytest.Fixture(),
			want: []string{"anthropic/claude-3-opus", "openai/gpt-4o", "anthropic/claude-3-sonnet",
				"openai/gpt-4o-mini", "anthropic/claude-3-haiku", "openai/gpt-3.5-turbo"},
			reason: "highest quality: anthropic/claude-3-opus at 92, $0.015000 estimated",
		},
		{
			name:   "quality and cost tie: by key",
			req:    &strategy.Request{Candidates: []strategy.Candidate{cand("b", 80, 5), cand("a", 80, 5), cand("c", 80, 4)}},
			want:   []string{"p/c", "p/a", "p/b"},
			reason: "highest quality: p/c at 80, $0.000004 estimated",
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
		})
	}
}
