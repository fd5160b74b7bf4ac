package main

import (
	"context"
	"fmt"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategykit"
)

// Strategy routes to the highest-quality eligible candidate.
type Strategy struct{}

// Describe names the strategy. Its answer depends only on the request
// class and candidate state, so the core may memoize it.
func (*Strategy) Describe(context.Context) (*strategy.Info, error) {
	return &strategy.Info{Name: "quality", Version: "1.0.0"}, nil
}

// Route orders the eligible candidates by quality, best first.
func (*Strategy) Route(_ context.Context, req *strategy.Request) (*strategy.Decision, error) {
	cands, rej := strategykit.Filter(req)
	if len(cands) == 0 {
		return &strategy.Decision{Reason: rej.Reason()}, nil
	}
	strategykit.SortStable(cands, strategykit.ByQuality, strategykit.ByCost, strategykit.ByKey)
	score := func(c strategy.Candidate) float64 { return c.Quality }
	return strategykit.Ordered(cands, score, func(best strategy.Candidate, q float64) string {
		return fmt.Sprintf("highest quality: %s at %g, %s estimated", best.Key(), q, strategykit.FormatMicroUSD(best.EstimatedMicroUSD))
	}), nil
}
