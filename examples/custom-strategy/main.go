// Command oneflow-strategy-prefer is a complete, tiny OneFlow routing
// strategy: it puts the providers named in the strategy block's "prefer"
// parameter first, in the order given, and orders the rest by estimated
// cost. Copy it to start your own strategy.
package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

func main() { strategy.Serve(&prefer{}) }

type prefer struct{}

func (*prefer) Describe(context.Context) (*strategy.Info, error) {
	return &strategy.Info{Name: "prefer", Version: "0.1.0"}, nil
}

// Route must only reorder or drop the candidates it is given. The order
// depends on nothing but the request, so the core can memoize it.
func (*prefer) Route(_ context.Context, req *strategy.Request) (*strategy.Decision, error) {
	// "prefer" = "anthropic,openai" ranks anthropic first, then openai.
	var preferred []string
	for _, p := range strings.Split(req.Features.Params["prefer"], ",") {
		if p = strings.TrimSpace(p); p != "" {
			preferred = append(preferred, p)
		}
	}
	rank := func(c strategy.Candidate) int {
		if i := slices.Index(preferred, c.Provider); i >= 0 {
			return i
		}
		return len(preferred)
	}

	// An open breaker means the provider is failing right now: skip it.
	cands := slices.DeleteFunc(slices.Clone(req.Candidates), func(c strategy.Candidate) bool {
		return c.Breaker == strategy.BreakerOpen
	})
	slices.SortFunc(cands, func(a, b strategy.Candidate) int {
		return cmp.Or(
			cmp.Compare(rank(a), rank(b)),
			cmp.Compare(a.EstimatedMicroUSD, b.EstimatedMicroUSD),
			strings.Compare(a.Key(), b.Key()),
		)
	})

	d := &strategy.Decision{Reason: fmt.Sprintf("preferred providers %q first, then cheapest", preferred)}
	for _, c := range cands {
		d.Choices = append(d.Choices, strategy.Choice{Provider: c.Provider, Model: c.Model, Score: float64(-rank(c))})
	}
	return d, nil
}
