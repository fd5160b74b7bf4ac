package main

import (
	"context"
	"fmt"
	"math"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategykit"
)

// Strategy routes by a weighted score of cost, latency and quality.
type Strategy struct{}

// Describe names the strategy. Its answer depends only on the request
// class, candidate state and params, so the core may memoize it.
func (*Strategy) Describe(context.Context) (*strategy.Info, error) {
	return &strategy.Info{Name: "balanced", Version: "1.0.0"}, nil
}

// weights are the normalised importance of cost, latency and quality.
type weights struct{ cost, latency, quality float64 }

// The default weights, as in the example oneflow.hcl.
const (
	defaultCostWeight    = 0.4
	defaultLatencyWeight = 0.3
	defaultQualityWeight = 0.3
)

// parseWeights reads the weights from params and scales them to sum to 1.
func parseWeights(params map[string]string) (weights, error) {
	var w weights
	for _, p := range []struct {
		name string
		def  float64
		dst  *float64
	}{
		{"cost_weight", defaultCostWeight, &w.cost},
		{"latency_weight", defaultLatencyWeight, &w.latency},
		{"quality_weight", defaultQualityWeight, &w.quality},
	} {
		v, err := strategykit.FloatParam(params, p.name, p.def)
		if err != nil {
			return weights{}, fmt.Errorf("balanced strategy: %w", err)
		}
		if v < 0 {
			return weights{}, fmt.Errorf("balanced strategy: param %s=%v: must not be negative", p.name, v)
		}
		*p.dst = v
	}
	sum := w.cost + w.latency + w.quality
	if sum == 0 || math.IsInf(sum, 0) {
		return weights{}, fmt.Errorf("balanced strategy: weights cost=%v latency=%v quality=%v: need a positive, finite sum",
			w.cost, w.latency, w.quality)
	}
	return weights{cost: w.cost / sum, latency: w.latency / sum, quality: w.quality / sum}, nil
}

// Route orders the eligible candidates by balanced score, best first. An
// invalid weight param is an error: it is a configuration mistake the
// operator must see, not something to route around.
func (*Strategy) Route(_ context.Context, req *strategy.Request) (*strategy.Decision, error) {
	var params map[string]string
	if req != nil {
		params = req.Features.Params
	}
	w, err := parseWeights(params)
	if err != nil {
		return nil, err
	}
	cands, rej := strategykit.Filter(req)
	if len(cands) == 0 {
		return &strategy.Decision{Reason: rej.Reason()}, nil
	}
	scores := scoreAll(cands, w)
	score := func(c strategy.Candidate) float64 { return scores[c.Key()] }
	strategykit.SortStable(cands, strategykit.ByKey)
	return strategykit.Decide(cands, score, true, func(best strategy.Candidate, s float64) string {
		return fmt.Sprintf("balanced: %s scores %.3f (weights cost %.2f, latency %.2f, quality %.2f)",
			best.Key(), s, w.cost, w.latency, w.quality)
	}), nil
}

// scoreAll computes every candidate's score, keyed by Key(); Filter has
// already dropped duplicate keys.
func scoreAll(cands []strategy.Candidate, w weights) map[string]float64 {
	costs := make([]float64, len(cands))
	lats := make([]float64, len(cands))
	quals := make([]float64, len(cands))
	worstLatency := 0.0
	for _, c := range cands {
		if c.HasLatency && isNumber(c.LatencyEWMAMillis) {
			worstLatency = math.Max(worstLatency, c.LatencyEWMAMillis)
		}
	}
	for i, c := range cands {
		costs[i] = float64(c.EstimatedMicroUSD)
		quals[i] = c.Quality
		if !isNumber(quals[i]) {
			quals[i] = 0
		}
		// Unknown latency counts as the worst measured one; with nothing
		// measured, every latency is 0 and normalises to 0.5.
		lats[i] = worstLatency
		if c.HasLatency && isNumber(c.LatencyEWMAMillis) {
			lats[i] = c.LatencyEWMAMillis
		}
	}
	nc, nl, nq := normalize(costs), normalize(lats), normalize(quals)
	out := make(map[string]float64, len(cands))
	for i, c := range cands {
		s := w.cost*(1-nc[i]) + w.latency*(1-nl[i]) + w.quality*nq[i]
		out[c.Key()] = s * (1 - clamp01(c.ErrorRate))
	}
	return out
}

// normalize maps xs linearly onto 0–1 (min → 0, max → 1), or all to 0.5
// when they are equal.
func normalize(xs []float64) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		if hi == lo {
			out[i] = 0.5
			continue
		}
		out[i] = (x - lo) / (hi - lo)
	}
	return out
}

// clamp01 keeps an error rate in 0–1; NaN counts as no errors rather than
// poisoning the score.
func clamp01(x float64) float64 {
	switch {
	case x > 1:
		return 1
	case x >= 0:
		return x
	default:
		return 0
	}
}

func isNumber(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
