package main

import (
	"slices"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// TestConformance runs the strategy through the real gRPC path with the
// checks the core relies on.
func TestConformance(t *testing.T) {
	plugintest.CheckStrategy(t, &prefer{})
}

func TestRoute(t *testing.T) {
	cands := []strategy.Candidate{
		{Provider: "openai", Model: "gpt-4o-mini", EstimatedMicroUSD: 300},
		{Provider: "anthropic", Model: "claude-haiku", EstimatedMicroUSD: 900},
		{Provider: "mistral", Model: "small", EstimatedMicroUSD: 200},
		{Provider: "groq", Model: "llama", EstimatedMicroUSD: 100, Breaker: strategy.BreakerOpen},
	}
	tests := []struct {
		name   string
		prefer string
		want   []string
	}{
		{"no preference: cheapest first", "", []string{"mistral/small", "openai/gpt-4o-mini", "anthropic/claude-haiku"}},
		{"one preferred", "anthropic", []string{"anthropic/claude-haiku", "mistral/small", "openai/gpt-4o-mini"}},
		{"list order counts", " openai, anthropic ", []string{"openai/gpt-4o-mini", "anthropic/claude-haiku", "mistral/small"}},
		{"open breaker never chosen", "groq", []string{"mistral/small", "openai/gpt-4o-mini", "anthropic/claude-haiku"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &strategy.Request{Features: strategy.Features{Params: map[string]string{"prefer": tt.prefer}}, Candidates: cands}
			d, err := plugintest.Strategy(t, &prefer{}).Route(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range d.Choices {
				got = append(got, c.Provider+"/"+c.Model)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("choices = %v, want %v", got, tt.want)
			}
		})
	}
}
