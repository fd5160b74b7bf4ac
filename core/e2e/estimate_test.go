package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestEstimateAgainstPriceTable checks /api/v1/estimate on the shipped
// oneflow.hcl against prices computed by hand from the published table.
func TestEstimateAgainstPriceTable(t *testing.T) {
	c := startCore(t, shippedConfig(t))
	c.waitReady()
	tests := []struct {
		name         string
		body         map[string]any
		model        string
		credits, usd string
	}{
		// $30/M × 1500 + $60/M × 500 = $0.045 + $0.030 = $0.075 = 7.5 credits.
		{"gpt-4 headline", map[string]any{"model": "gpt-4", "input_tokens": 1500, "output_tokens": 500}, "gpt-4", "7.5", "0.075"},
		// $2.50/M × 1000 + $10/M × 1000 = $0.0125.
		{"gpt-4o", map[string]any{"model": "gpt-4o", "input_tokens": 1000, "output_tokens": 1000}, "gpt-4o", "1.25", "0.0125"},
		// $0.25 + $1.25 for a million each, through the alias.
		{"claude-3-haiku alias", map[string]any{"model": "claude-3-haiku", "input_tokens": 1000000, "output_tokens": 1000000}, "claude-3-haiku-20240307", "150", "1.5"},
		// $15/M × 2000 + $75/M × 1000 = $0.03 + $0.075.
		{"claude-3-opus", map[string]any{"model": "claude-3-opus", "input_tokens": 2000, "output_tokens": 1000}, "claude-3-opus-20240229", "10.5", "0.105"},
		// $0.50/M × 1 token: 0.00005 credits, exact.
		{"gpt-3.5 one token", map[string]any{"model": "gpt-3.5-turbo", "input_tokens": 1, "output_tokens": 0}, "gpt-3.5-turbo", "0.00005", "0.0000005"},
		// DALL·E 3 standard 1024×1024 is $0.04.
		{"dall-e-3", map[string]any{"model": "dall-e-3", "modality": "image"}, "dall-e-3", "4", "0.04"},
		// A named model without a modality is estimated as what it is.
		{"dall-e-3 without modality", map[string]any{"model": "dall-e-3"}, "dall-e-3", "4", "0.04"},
		{"elevenlabs without modality", map[string]any{"model": "eleven_multilingual_v2", "prompt": "hello"}, "eleven_multilingual_v2", "0.15", "0.0015"},
		// ElevenLabs $0.30 per 1000 characters × 5.
		{"elevenlabs", map[string]any{"model": "eleven_multilingual_v2", "modality": "audio", "prompt": "hello"}, "eleven_multilingual_v2", "0.15", "0.0015"},
		// Cheapest text model for 1000/1000: gpt-4o-mini at $0.00015 + $0.0006.
		{"auto:cost", map[string]any{"strategy": "cost", "input_tokens": 1000, "output_tokens": 1000}, "gpt-4o-mini", "0.075", "0.00075"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := c.do("POST", "/api/v1/estimate", tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			var out struct {
				PrimaryModel     string `json:"primary_model"`
				Provider         string `json:"provider"`
				EstimatedCredits string `json:"estimated_credits"`
				EstimatedUSD     string `json:"estimated_usd"`
				Reason           string `json:"reason"`
				FallbackChain    []any  `json:"fallback_chain"`
			}
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			if out.PrimaryModel != tt.model || out.EstimatedCredits != tt.credits || out.EstimatedUSD != tt.usd || out.Reason == "" || out.FallbackChain == nil {
				t.Fatalf("got %s", b)
			}
		})
	}
	// A modality that contradicts the named model is the caller's mistake.
	resp, b := c.do("POST", "/api/v1/estimate", map[string]any{"model": "dall-e-3", "modality": "text", "input_tokens": 10})
	wantError(t, resp, b, http.StatusBadRequest, "model_unsupported")
}

func TestEstimateCountsPromptTokens(t *testing.T) {
	c := startCore(t, shippedConfig(t))
	c.waitReady()
	// "Hello world" is 2 tokens in o200k_base; with OpenAI's chat framing
	// (3 per message + 3 priming) a single user message counts 8.
	resp, b := c.do("POST", "/api/v1/estimate", map[string]any{"model": "gpt-4o", "prompt": "Hello world", "output_tokens": 0})
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var out struct {
		InputTokens int64 `json:"input_tokens"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.InputTokens != 9 && out.InputTokens != 8 {
		t.Fatalf("input_tokens %d for one short message: %s", out.InputTokens, b)
	}
}

// TestModelListShowsCallableModels: with the shipped config and no vendor
// keys, /v1/models offers only what can be called (the routing aliases);
// retrieving a known model whose provider lacks its key says what to set.
func TestModelListShowsCallableModels(t *testing.T) {
	c := startCore(t, shippedConfig(t))
	c.waitReady()
	resp, b := c.do("GET", "/v1/models", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var list struct {
		Data []struct {
			ID      string `json:"id"`
			OwnedBy string `json:"owned_by"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	for _, m := range list.Data {
		if m.OwnedBy != "oneflow" {
			t.Errorf("listed %s of %s, whose provider has no key", m.ID, m.OwnedBy)
		}
	}
	if len(list.Data) != 5 {
		t.Errorf("want the 5 routing aliases, got %s", b)
	}
	resp, b = c.do("GET", "/v1/models/gpt-4o", nil)
	if resp.StatusCode != 503 || !strings.Contains(string(b), "provider_unconfigured") || !strings.Contains(string(b), "OPENAI_API_KEY") {
		t.Errorf("retrieve an unconfigured model: %d %s", resp.StatusCode, b)
	}
	if resp, b = c.do("GET", "/v1/models/nope", nil); resp.StatusCode != 404 {
		t.Errorf("retrieve an unknown model: %d %s", resp.StatusCode, b)
	}
}
