package main

import (
	"context"
	"fmt"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategykit"
)

// Strategy routes to the cheapest eligible candidate.
type Strategy struct{}

// Describe names the strategy. Its answer depends only on the request
// class and candidate state, so the core may memoize it.
func (*Strategy) Describe(context.Context) (*strategy.Info, error) {
	return &strategy.Info{Name: "cost", Version: "1.0.0"}, nil
}

// Route orders the eligible candidates cheapest first.
func (*Strategy) Route(_ context.Context, req *strategy.Request) (*strategy.Decision, error) {
	cands, rej := strategykit.Filter(req)
	if len(cands) == 0 {
		return &strategy.Decision{Reason: rej.Reason()}, nil
	}
	strategykit.SortStable(cands, strategykit.ByCost, strategykit.ByQuality, strategykit.ByLatency, strategykit.ByKey)
	// The score is the estimate in micro-USD: lower is better.
	score := func(c strategy.Candidate) float64 { return float64(c.EstimatedMicroUSD) }
	return strategykit.Ordered(cands, score, func(best strategy.Candidate, _ float64) string {
		return fmt.Sprintf("cheapest: %s at %s estimated", best.Key(), strategykit.FormatMicroUSD(best.EstimatedMicroUSD))
	}), nil
}
