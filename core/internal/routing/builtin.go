package routing

import (
	"sort"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// BuiltinOrder is the safe order used when a strategy plugin is down or
// too slow: candidates that fit the request (modality, context window,
// breaker not open), closed breakers before half-open ones, then highest
// quality, then lowest estimated cost, then name. It favours answering
// well over answering cheaply because it runs when something is broken.
func BuiltinOrder(req *strategy.Request) *strategy.Decision {
	f := req.Features
	var fit []strategy.Candidate
	for _, c := range req.Candidates {
		if c.Modality != f.Modality || c.Breaker == strategy.BreakerOpen {
			continue
		}
		if c.ContextWindow > 0 && f.ContextTokens > c.ContextWindow {
			continue
		}
		fit = append(fit, c)
	}
	sort.SliceStable(fit, func(i, j int) bool {
		a, b := fit[i], fit[j]
		if a.Breaker != b.Breaker {
			return a.Breaker < b.Breaker
		}
		if a.Quality != b.Quality {
			return a.Quality > b.Quality
		}
		if a.EstimatedMicroUSD != b.EstimatedMicroUSD {
			return a.EstimatedMicroUSD < b.EstimatedMicroUSD
		}
		return a.Key() < b.Key()
	})
	d := &strategy.Decision{Reason: "built-in order (strategy unavailable): best quality first"}
	for _, c := range fit {
		d.Choices = append(d.Choices, strategy.Choice{Provider: c.Provider, Model: c.Model, Score: c.Quality})
	}
	return d
}
