package strategykit_test

import (
	"fmt"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
	"github.com/oneflow-ai/oneflow/sdk/strategy/strategykit"
)

// A strategy that prefers the highest quality: filter, order with a
// deterministic tie-break, explain.
func Example() {
	req := &strategy.Request{
		Features: strategy.Features{Modality: "text"},
		Candidates: []strategy.Candidate{
			{Provider: "openai", Model: "gpt-4o-mini", Modality: "text", Quality: 75, EstimatedMicroUSD: 150},
			{Provider: "openai", Model: "dall-e-3", Modality: "image", Quality: 80},
			{Provider: "anthropic", Model: "claude-3-opus", Modality: "text", Quality: 92, EstimatedMicroUSD: 15_000},
		},
	}
	cands, rej := strategykit.Filter(req)
	if len(cands) == 0 {
		fmt.Println(rej.Reason())
		return
	}
	strategykit.SortStable(cands, strategykit.ByKey)
	d := strategykit.Decide(cands, func(c strategy.Candidate) float64 { return c.Quality }, true,
		func(best strategy.Candidate, q float64) string {
			return fmt.Sprintf("best: %s (quality %g, %s)", best.Key(), q, strategykit.FormatMicroUSD(best.EstimatedMicroUSD))
		})
	for _, c := range d.Choices {
		fmt.Println(c.Provider + "/" + c.Model)
	}
	fmt.Println(d.Reason)
	// Output:
	// anthropic/claude-3-opus
	// openai/gpt-4o-mini
	// best: anthropic/claude-3-opus (quality 92, $0.015000)
}
