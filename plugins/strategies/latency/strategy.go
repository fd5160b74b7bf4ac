package main

import (
	"context"
	"fmt"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategykit"
)

// Strategy routes to the eligible candidate with the lowest measured
// latency.
type Strategy struct{}

// Describe names the strategy. Its answer depends only on the request
// class and candidate state, so the core may memoize it.
func (*Strategy) Describe(context.Context) (*strategy.Info, error) {
	return &strategy.Info{Name: "latency", Version: "1.0.0"}, nil
}

// unmeasured is the score of a candidate without latency data.
const unmeasured = -1

// Route orders the eligible candidates fastest first.
func (*Strategy) Route(_ context.Context, req *strategy.Request) (*strategy.Decision, error) {
	cands, rej := strategykit.Filter(req)
	if len(cands) == 0 {
		return &strategy.Decision{Reason: rej.Reason()}, nil
	}
	// ByLatency puts measured before unmeasured and compares only measured
	// ones, so ByCost then orders the unmeasured.
	strategykit.SortStable(cands, strategykit.ByBreaker, strategykit.ByLatency, strategykit.ByCost, strategykit.ByKey)
	// The score is the EWMA latency in milliseconds, or -1 when unmeasured.
	score := func(c strategy.Candidate) float64 {
		if !c.HasLatency {
			return unmeasured
		}
		return c.LatencyEWMAMillis
	}
	return strategykit.Ordered(cands, score, reason), nil
}

func reason(best strategy.Candidate, _ float64) string {
	var s string
	if best.HasLatency {
		s = fmt.Sprintf("fastest: %s at %.0f ms (p95 %.0f ms)", best.Key(), best.LatencyEWMAMillis, best.LatencyP95Millis)
	} else {
		s = fmt.Sprintf("no latency measured yet; cheapest unmeasured: %s at %s estimated",
			best.Key(), strategykit.FormatMicroUSD(best.EstimatedMicroUSD))
	}
	if best.Breaker == strategy.BreakerHalfOpen {
		s += ", breaker half-open"
	}
	return s
}
