package main

import (
	"context"
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategytest"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

func TestDescribeAndEmpty(t *testing.T) {
	strategytest.CheckDescribeAndEmpty(t, &Strategy{}, "balanced")
}

// TestRouteFixture checks the scores against a hand computation with the
// default weights 0.4/0.3/0.3 over the six eligible candidates:
//
//	cost     150..15000  → mini 0, haiku 0, 3.5 350/14850, 4o 2350/14850, sonnet 2850/14850, opus 1
//	latency  250..400    → haiku 0, mini 1/3, sonnet 1/3, 4o 1; 3.5 and opus unmeasured → worst (400) → 1
//	quality  60..92      → 3.5 0, haiku 10/32, mini 15/32, 4o 30/32, sonnet 30/32, opus 1
//
//	haiku  .4·1 + .3·1 + .3·10/32                        = .79375
//	mini   .4·1 + .3·2/3 + .3·15/32                      = .740625
//	sonnet (.4·(1−2850/14850) + .3·2/3 + .3·30/32) × 0.9 = .7240337…  (error rate 0.1)
//	4o     .4·(1−2350/14850) + 0 + .3·30/32              = .6179503…
//	3.5    .4·(1−350/14850)                              = .3905724…
//	opus   .3·1                                          = .3
func TestRouteFixture(t *testing.T) {
	want := []struct {
		key   string
		score float64
	}{
		{"anthropic/claude-3-haiku", 0.79375},
		{"openai/gpt-4o-mini", 0.740625},
		{"anthropic/claude-3-sonnet", (0.4*(1-2850.0/14850) + 0.3*2/3 + 0.3*30/32) * 0.9},
		{"openai/gpt-4o", 0.4*(1-2350.0/14850) + 0.3*30/32},
		{"openai/gpt-3.5-turbo", 0.4 * (1 - 350.0/14850)},
		{"anthropic/claude-3-opus", 0.3},
	}
	d, err := strategytest.Route(t, &Strategy{}, strategytest.Fixture())
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	if len(d.Choices) != len(want) {
		t.Fatalf("choices = %v, want %d", strategytest.ChoiceKeys(d), len(want))
	}
	for i, w := range want {
		c := d.Choices[i]
		if c.Provider+"/"+c.Model != w.key || math.Abs(c.Score-w.score) > 1e-9 {
			t.Errorf("Choices[%d] = %s %.6f, want %s %.6f", i, c.Provider+"/"+c.Model, c.Score, w.key, w.score)
		}
	}
	if wantReason := "balanced: anthropic/claude-3-haiku scores 0.794 (weights cost 0.40, latency 0.30, quality 0.30)"; d.Reason != wantReason {
		t.Errorf("Reason = %q, want %q", d.Reason, wantReason)
	}
}

func TestRouteWeights(t *testing.T) {
	defaultOrder := []string{"anthropic/claude-3-haiku", "openai/gpt-4o-mini", "anthropic/claude-3-sonnet",
		"openai/gpt-4o", "openai/gpt-3.5-turbo", "anthropic/claude-3-opus"}
	tests := []struct {
		name   string
		params map[string]string
		want   []string
	}{
		{"defaults", nil, defaultOrder},
		{"explicit defaults", map[string]string{"cost_weight": "0.4", "latency_weight": "0.3", "quality_weight": "0.3"}, defaultOrder},
		{"scaled defaults", map[string]string{"cost_weight": "4", "latency_weight": "3", "quality_weight": "3"}, defaultOrder},
		// Pure cost: mini and haiku tie at 1 and are ordered by key; the
		// half-open sonnet's 0.1 error rate costs it a place to gpt-4o.
		{"cost only", map[string]string{"cost_weight": "1", "latency_weight": "0", "quality_weight": "0"},
			[]string{"anthropic/claude-3-haiku", "openai/gpt-4o-mini", "openai/gpt-3.5-turbo", "openai/gpt-4o",
				"anthropic/claude-3-sonnet", "anthropic/claude-3-opus"}},
		// Pure quality: 4o (0.9375) beats sonnet (0.9375 × 0.9).
		{"quality only", map[string]string{"cost_weight": "0", "latency_weight": "0", "quality_weight": "1"},
			[]string{"anthropic/claude-3-opus", "openai/gpt-4o", "anthropic/claude-3-sonnet", "openai/gpt-4o-mini",
				"anthropic/claude-3-haiku", "openai/gpt-3.5-turbo"}},
		// Pure latency: unmeasured rank with the slowest (gpt-4o, 400 ms),
		// all scoring 0 and ordered by key.
		{"latency only", map[string]string{"cost_weight": "0", "latency_weight": "1", "quality_weight": "0"},
			[]string{"anthropic/claude-3-haiku", "openai/gpt-4o-mini", "anthropic/claude-3-sonnet",
				"anthropic/claude-3-opus", "openai/gpt-3.5-turbo", "openai/gpt-4o"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := strategytest.Fixture()
			req.Features.Params = tt.params
			d, err := strategytest.Route(t, &Strategy{}, req)
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			if got := strategytest.ChoiceKeys(d); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRouteEdgeCases(t *testing.T) {
	cand := func(model string, cost int64, q float64, has bool, ewma float64) strategy.Candidate {
		return strategy.Candidate{Provider: "p", Model: model, EstimatedMicroUSD: cost, Quality: q, HasLatency: has, LatencyEWMAMillis: ewma}
	}
	tests := []struct {
		name   string
		cands  []strategy.Candidate
		want   []string
		scores []float64
	}{
		// Every figure equal: each normalises to 0.5, score 0.4·.5+.3·.5+.3·.5.
		{"all equal: 0.5 each, by key", []strategy.Candidate{cand("b", 5, 50, true, 100), cand("a", 5, 50, true, 100)},
			[]string{"p/a", "p/b"}, []float64{0.5, 0.5}},
		// Nothing measured: latency 0.5 for all; cost decides.
		{"no latency anywhere", []strategy.Candidate{cand("dear", 10, 50, false, 0), cand("cheap", 0, 50, false, 0)},
			[]string{"p/cheap", "p/dear"}, []float64{0.4 + 0.15 + 0.15, 0.15 + 0.15}},
		// One measured: the unmeasured one takes its latency, so both 0.5.
		{"one measured", []strategy.Candidate{cand("b", 5, 50, false, 0), cand("a", 5, 50, true, 700)},
			[]string{"p/a", "p/b"}, []float64{0.5, 0.5}},
		{"single candidate", []strategy.Candidate{cand("only", 5, 50, true, 100)}, []string{"p/only"}, []float64{0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := strategytest.Route(t, &Strategy{}, &strategy.Request{Candidates: tt.cands})
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			if got := strategytest.ChoiceKeys(d); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
			for i, s := range tt.scores {
				if math.Abs(d.Choices[i].Score-s) > 1e-9 {
					t.Errorf("Choices[%d].Score = %v, want %v", i, d.Choices[i].Score, s)
				}
			}
		})
	}
}

func TestRouteErrorRate(t *testing.T) {
	req := &strategy.Request{Candidates: []strategy.Candidate{
		{Provider: "p", Model: "flaky", ErrorRate: 0.5},
		{Provider: "p", Model: "broken", ErrorRate: 7}, // clamped to 1: score 0
		{Provider: "p", Model: "solid"},
	}}
	d, err := strategytest.Route(t, &Strategy{}, req)
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	if got, want := strategytest.ChoiceKeys(d), []string{"p/solid", "p/flaky", "p/broken"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	if d.Choices[1].Score != 0.25 || d.Choices[2].Score != 0 {
		t.Errorf("scores = %v, %v; want 0.25, 0", d.Choices[1].Score, d.Choices[2].Score)
	}
}

func TestRouteInvalidParams(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		wantIn string
	}{
		{"not a number", map[string]string{"cost_weight": "cheap"}, "cost_weight"},
		{"negative", map[string]string{"latency_weight": "-0.1"}, "latency_weight"},
		{"NaN", map[string]string{"quality_weight": "NaN"}, "quality_weight"},
		{"Inf", map[string]string{"cost_weight": "Inf"}, "cost_weight"},
		{"overflowing sum", map[string]string{"cost_weight": "1e308", "latency_weight": "1e308"}, "finite sum"},
		{"all zero", map[string]string{"cost_weight": "0", "latency_weight": "0", "quality_weight": "0"}, "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := strategytest.Fixture()
			req.Features.Params = tt.params
			d, err := (&Strategy{}).Route(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("Route = %+v, %v; want an error mentioning %q", d, err, tt.wantIn)
			}
			if _, rerr := strategytest.Route(t, &Strategy{}, req); rerr == nil {
				t.Error("over gRPC: want an error")
			}
		})
	}
}
