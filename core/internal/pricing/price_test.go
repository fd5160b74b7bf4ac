package pricing

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// testTable is the price list of oneflow.hcl in micro-USD.
func testTable(t *testing.T, allowUnpriced bool) *Table {
	t.Helper()
	tb := NewTable(100, allowUnpriced)
	tb.Set("openai", "gpt-4", Price{InputPerMTok: 30_000_000, OutputPerMTok: 60_000_000, Version: "2023-03-14", Priced: true})
	tb.Set("openai", "gpt-4o", Price{InputPerMTok: 2_500_000, OutputPerMTok: 10_000_000, Priced: true})            // $2.50 / $10.00
	tb.Set("openai", "gpt-4o-mini", Price{InputPerMTok: 150_000, OutputPerMTok: 600_000, Priced: true})            // $0.15 / $0.60
	tb.Set("openai", "gpt-4-turbo", Price{InputPerMTok: 10_000_000, OutputPerMTok: 30_000_000, Priced: true})      // $10 / $30
	tb.Set("openai", "gpt-3.5-turbo", Price{InputPerMTok: 500_000, OutputPerMTok: 1_500_000, Priced: true})        // $0.50 / $1.50
	tb.Set("anthropic", "claude-3-opus", Price{InputPerMTok: 15_000_000, OutputPerMTok: 75_000_000, Priced: true}) // $15 / $75
	tb.Set("anthropic", "claude-3-sonnet", Price{InputPerMTok: 3_000_000, OutputPerMTok: 15_000_000, Priced: true})
	tb.Set("anthropic", "claude-3-haiku", Price{InputPerMTok: 250_000, OutputPerMTok: 1_250_000, Priced: true})
	tb.Set("openai", "dall-e-3", Price{Priced: true, Image: map[string]int64{
		"1024x1024": 40_000, "1024x1792": 80_000, "1792x1024": 80_000,
		"1024x1024/hd": 80_000, "1024x1792/hd": 120_000, "1792x1024/hd": 120_000,
	}})
	tb.Set("stability", "stable-image-ultra", Price{Priced: true, Image: map[string]int64{"*": 80_000}})
	tb.Set("elevenlabs", "eleven_multilingual_v2", Price{PerKChar: 300_000, Priced: true}) // $0.30 / 1K chars
	tb.Set("openai", "tts-1", Price{PerKChar: 15_000, Priced: true})                       // $0.015 / 1K chars
	tb.Set("local", "llama3.1:8b", Price{Priced: true})                                    // free on purpose
	tb.Set("openai", "gpt-unpriced", Price{})
	tb.Set("custom", "tiny", Price{InputPerMTok: 1, Priced: true})
	// Prompt-cache prices as OpenAI and Anthropic publish them: cached
	// input at half the input price for gpt-4o; cache reads at 0.1× and
	// 5-minute cache writes at 1.25× the input price for Claude 3.5 Sonnet.
	tb.Set("openai", "gpt-4o-cached", Price{InputPerMTok: 2_500_000, OutputPerMTok: 10_000_000,
		CachedInputPerMTok: 1_250_000, HasCachedInputPrice: true, Priced: true})
	tb.Set("anthropic", "claude-3-5-sonnet", Price{InputPerMTok: 3_000_000, OutputPerMTok: 15_000_000,
		CachedInputPerMTok: 300_000, HasCachedInputPrice: true, CacheWritePerMTok: 3_750_000, HasCacheWritePrice: true, Priced: true})
	// A cache that costs nothing to read is a price, not a missing one.
	tb.Set("custom", "free-cache", Price{InputPerMTok: 1_000_000, HasCachedInputPrice: true, Priced: true})
	return tb
}

// TestHeadline is the example the README promises: 1500 input and 500
// output tokens on gpt-4 cost exactly $0.075, i.e. 7.5 credits.
func TestHeadline(t *testing.T) {
	tb := testTable(t, false)
	c, err := tb.Cost("openai", "gpt-4", Usage{InputTokens: 1500, OutputTokens: 500})
	if err != nil {
		t.Fatalf("Cost: %v", err)
	}
	want := Cost{MicroCredits: 7_500_000, MicroUSD: 75_000, Exact: true, PriceVersion: "2023-03-14"}
	if c != want {
		t.Fatalf("Cost = %+v, want %+v", c, want)
	}
	if got := FormatCredits(c.MicroCredits); got != "7.5" {
		t.Errorf("FormatCredits = %q, want 7.5", got)
	}
	if got := FormatUSD(c.MicroCredits, tb.CreditsPerUSD()); got != "0.075" {
		t.Errorf("FormatUSD = %q, want 0.075", got)
	}
}

func TestCost(t *testing.T) {
	tests := []struct {
		name            string
		provider, model string
		usage           Usage
		wantMC          int64 // micro-credits, hand computed at 100 credits/USD
		wantUSD         int64 // micro-USD, rounded up
		wantExact       bool
	}{
		// 1000×2.5e6 + 1000×10e6 = 1.25e10 pico-USD = $0.0125 = 1.25 credits.
		{"gpt-4o", "openai", "gpt-4o", Usage{InputTokens: 1000, OutputTokens: 1000}, 1_250_000, 12_500, true},
		// 1000×150000 + 1000×600000 = 7.5e8 pico-USD = $0.00075 = 0.075 credits.
		{"gpt-4o-mini", "openai", "gpt-4o-mini", Usage{InputTokens: 1000, OutputTokens: 1000}, 75_000, 750, true},
		// One token: 150000 pico-USD = $0.00000015 = 0.000015 credits; 0.15 micro-USD rounds up to 1.
		{"gpt-4o-mini one token", "openai", "gpt-4o-mini", Usage{InputTokens: 1}, 15, 1, true},
		// 2000×10e6 + 1000×30e6 = 5e10 pico-USD = $0.05 = 5 credits.
		{"gpt-4-turbo", "openai", "gpt-4-turbo", Usage{InputTokens: 2000, OutputTokens: 1000}, 5_000_000, 50_000, true},
		// 3×5e5 + 7×1.5e6 = 1.2e7 pico-USD = $0.000012 = 0.0012 credits.
		{"gpt-3.5-turbo", "openai", "gpt-3.5-turbo", Usage{InputTokens: 3, OutputTokens: 7}, 1_200, 12, true},
		// 1.5e6 pico-USD = 1.5 micro-USD → 2 when rounded up; 150 micro-credits exactly.
		{"gpt-3.5-turbo one output token", "openai", "gpt-3.5-turbo", Usage{OutputTokens: 1}, 150, 2, true},
		// 1000×15e6 + 2000×75e6 = 1.65e11 pico-USD = $0.165 = 16.5 credits.
		{"claude-3-opus", "anthropic", "claude-3-opus", Usage{InputTokens: 1000, OutputTokens: 2000}, 16_500_000, 165_000, true},
		// 10000×3e6 + 1000×15e6 = 4.5e10 pico-USD = $0.045 = 4.5 credits.
		{"claude-3-sonnet", "anthropic", "claude-3-sonnet", Usage{InputTokens: 10_000, OutputTokens: 1000}, 4_500_000, 45_000, true},
		// 1M×0.25 + 1M×1.25 = $1.50 = 150 credits.
		{"claude-3-haiku", "anthropic", "claude-3-haiku", Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}, 150_000_000, 1_500_000, true},
		// 2 × $0.040 = $0.08 = 8 credits.
		{"dall-e-3 standard by size", "openai", "dall-e-3", Usage{Images: 2, ImageSize: "1024x1024"}, 8_000_000, 80_000, true},
		// "1024x1024/standard" is not listed, so the size entry applies.
		{"dall-e-3 unknown quality falls back to size", "openai", "dall-e-3", Usage{Images: 1, ImageSize: "1024x1024", ImageQuality: "standard"}, 4_000_000, 40_000, true},
		// $0.080 per hd square image.
		{"dall-e-3 hd", "openai", "dall-e-3", Usage{Images: 1, ImageSize: "1024x1024", ImageQuality: "hd"}, 8_000_000, 80_000, true},
		// $0.120 per hd wide image, 3 images = $0.36 = 36 credits.
		{"dall-e-3 hd wide", "openai", "dall-e-3", Usage{Images: 3, ImageSize: "1792x1024", ImageQuality: "hd"}, 36_000_000, 360_000, true},
		{"stability wildcard", "stability", "stable-image-ultra", Usage{Images: 1, ImageSize: "640x1536"}, 8_000_000, 80_000, true},
		{"stability wildcard no size", "stability", "stable-image-ultra", Usage{Images: 1}, 8_000_000, 80_000, true},
		// 1000 chars × $0.30/1K = $0.30 = 30 credits.
		{"elevenlabs 1k chars", "elevenlabs", "eleven_multilingual_v2", Usage{Characters: 1000}, 30_000_000, 300_000, true},
		// 1234 × 0.30/1000 = $0.3702 = 37.02 credits.
		{"elevenlabs 1234 chars", "elevenlabs", "eleven_multilingual_v2", Usage{Characters: 1234}, 37_020_000, 370_200, true},
		// 1 char × $0.015/1K = $0.000015 = 0.0015 credits.
		{"tts-1 one char", "openai", "tts-1", Usage{Characters: 1}, 1_500, 15, true},
		{"free local model", "local", "llama3.1:8b", Usage{InputTokens: 1e9, OutputTokens: 1e9}, 0, 0, true},
		{"zero usage", "openai", "gpt-4", Usage{}, 0, 0, true},
		// 1 pico-USD × 100 / 1e6 = 0.0001 micro-credits → rounded up to 1.
		{"rounding up", "custom", "tiny", Usage{InputTokens: 1}, 1, 1, false},
		// 10000 pico-USD × 100 / 1e6 = exactly 1 micro-credit.
		{"exact smallest", "custom", "tiny", Usage{InputTokens: 10_000}, 1, 1, true},
		{"image count zero ignores size", "openai", "dall-e-3", Usage{ImageSize: "1x1"}, 0, 0, true},

		// Prompt cache. 2000 input of which 1500 cached: 500×2.5e6 +
		// 1500×1.25e6 + 100×10e6 = 4.125e9 pico-USD = 0.4125 credits.
		{"gpt-4o cached input", "openai", "gpt-4o-cached", Usage{InputTokens: 2000, CachedInputTokens: 1500, OutputTokens: 100}, 412_500, 4_125, true},
		// Without a cached price the same usage costs what it always did:
		// 2000×2.5e6 + 100×10e6 = 6e9 pico-USD = 0.6 credits.
		{"cached input without a cached price", "openai", "gpt-4o", Usage{InputTokens: 2000, CachedInputTokens: 1500, OutputTokens: 100}, 600_000, 6_000, true},
		// A model with no cached price bills a cache write at the input
		// price too.
		{"cache write without a write price", "openai", "gpt-4o-cached", Usage{InputTokens: 2000, CacheWriteTokens: 2000}, 500_000, 5_000, true},
		// Anthropic reports 2095 uncached + 2051 written + 2051 read (the
		// Usage example of its API): 2095×3e6 + 2051×3.75e6 + 2051×0.3e6 +
		// 503×15e6 = 22_136_550_000 pico-USD = 2.213655 credits, and
		// 22136.55 micro-USD rounded up to 22137. At the input price
		// throughout it would have been 2.6136 credits.
		{"anthropic cache reads and writes", "anthropic", "claude-3-5-sonnet",
			Usage{InputTokens: 2095 + 2051 + 2051, CachedInputTokens: 2051, CacheWriteTokens: 2051, OutputTokens: 503}, 2_213_655, 22_137, true},
		// Everything read from the cache, nothing fresh: 1M × $0.30 = 30 credits.
		{"all input cached", "anthropic", "claude-3-5-sonnet", Usage{InputTokens: 1_000_000, CachedInputTokens: 1_000_000}, 30_000_000, 300_000, true},
		// Everything written: 1M × $3.75 = 375 credits.
		{"all input written", "anthropic", "claude-3-5-sonnet", Usage{InputTokens: 1_000_000, CacheWriteTokens: 1_000_000}, 375_000_000, 3_750_000, true},
		{"free cache reads", "custom", "free-cache", Usage{InputTokens: 10, CachedInputTokens: 10}, 0, 0, true},
		{"cache counts on an unpriced-cache free model", "local", "llama3.1:8b", Usage{InputTokens: 9, CachedInputTokens: 9}, 0, 0, true},
	}
	tb := testTable(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tb.Cost(tt.provider, tt.model, tt.usage)
			if err != nil {
				t.Fatalf("Cost: %v", err)
			}
			if c.MicroCredits != tt.wantMC || c.MicroUSD != tt.wantUSD || c.Exact != tt.wantExact || c.Unpriced || c.CacheIgnored {
				t.Errorf("Cost = %+v, want MicroCredits %d MicroUSD %d Exact %v", c, tt.wantMC, tt.wantUSD, tt.wantExact)
			}
		})
	}
}

func TestCostErrors(t *testing.T) {
	tests := []struct {
		name            string
		provider, model string
		usage           Usage
		want            error
		wantIn          []string
	}{
		{"not in table", "openai", "gpt-5", Usage{InputTokens: 1}, ErrUnpriced,
			[]string{"model openai/gpt-5 has no price; set its prices in oneflow.hcl or set pricing.allow_unpriced = true"}},
		{"priced false", "openai", "gpt-unpriced", Usage{InputTokens: 1}, ErrUnpriced, []string{"openai/gpt-unpriced"}},
		{"image size missing", "openai", "dall-e-3", Usage{Images: 1, ImageSize: "512x512"}, ErrImageSizeUnpriced,
			[]string{`"512x512"`, "openai/dall-e-3"}},
		{"image model without image prices", "openai", "gpt-4", Usage{Images: 1, ImageSize: "256x256", ImageQuality: "hd"}, ErrImageSizeUnpriced,
			[]string{`"256x256"`, `"hd"`}},
		{"negative tokens", "openai", "gpt-4", Usage{InputTokens: -1}, ErrNegative, nil},
		{"negative images", "openai", "dall-e-3", Usage{Images: -1}, ErrNegative, nil},
		{"negative chars", "openai", "tts-1", Usage{Characters: -5}, ErrNegative, nil},
		{"negative cached price", "custom", "negative-cached", Usage{InputTokens: 1}, ErrNegative, []string{"price"}},
		{"negative write price", "custom", "negative-write", Usage{InputTokens: 1}, ErrNegative, []string{"price"}},
	}
	tb := testTable(t, false)
	// A negative cache price is refused even when it is not used: config
	// validation never lets one through, so it is a bug to report.
	tb.Set("custom", "negative-cached", Price{InputPerMTok: 1, CachedInputPerMTok: -1, HasCachedInputPrice: true, Priced: true})
	tb.Set("custom", "negative-write", Price{InputPerMTok: 1, CacheWritePerMTok: -1, HasCacheWritePrice: true, Priced: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tb.Cost(tt.provider, tt.model, tt.usage)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Cost = %+v, %v; want error %v", c, err, tt.want)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// TestInconsistentCacheCounts: a plugin's cache counts that cannot be
// parts of its input tokens are ignored, and the input is billed in full.
func TestInconsistentCacheCounts(t *testing.T) {
	// 1000 input and 10 output at $3 / $15: 3e9 + 1.5e8 pico-USD = 0.315 credits.
	const full = 315_000
	tests := []struct {
		name string
		u    Usage
	}{
		{"reads exceed input", Usage{InputTokens: 1000, CachedInputTokens: 1001, OutputTokens: 10}},
		{"writes exceed input", Usage{InputTokens: 1000, CacheWriteTokens: 5000, OutputTokens: 10}},
		{"reads and writes exceed input together", Usage{InputTokens: 1000, CachedInputTokens: 600, CacheWriteTokens: 401, OutputTokens: 10}},
		{"negative reads", Usage{InputTokens: 1000, CachedInputTokens: -1, OutputTokens: 10}},
		{"negative writes", Usage{InputTokens: 1000, CacheWriteTokens: -500, OutputTokens: 10}},
		// The sum would overflow int64 if it were added up.
		{"huge counts", Usage{InputTokens: 1000, CachedInputTokens: math.MaxInt64, CacheWriteTokens: math.MaxInt64, OutputTokens: 10}},
	}
	tb := testTable(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tb.Cost("anthropic", "claude-3-5-sonnet", tt.u)
			if err != nil {
				t.Fatalf("Cost: %v", err)
			}
			if c.MicroCredits != full || !c.CacheIgnored {
				t.Errorf("Cost = %+v, want %d micro-credits with CacheIgnored", c, full)
			}
		})
	}
	// The boundary is consistent: every input token read or written.
	c, err := tb.Cost("anthropic", "claude-3-5-sonnet", Usage{InputTokens: 1000, CachedInputTokens: 600, CacheWriteTokens: 400})
	if err != nil || c.CacheIgnored {
		t.Errorf("Cost of a full split = %+v, %v; want it used", c, err)
	}
}

// TestMaxCost: a hold prices every prompt token at the dearer of the
// input and cached-input rates, never at the cache-write rate.
func TestMaxCost(t *testing.T) {
	tests := []struct {
		name            string
		provider, model string
		usage           Usage
		wantMC          int64
	}{
		// Cache writes at $3.75 are not reserved for: 1000×3e6 + 100×15e6 =
		// 4.5e9 pico-USD = 0.45 credits, the estimate at the input price.
		{"write price above input", "anthropic", "claude-3-5-sonnet", Usage{InputTokens: 1000, OutputTokens: 100}, 450_000},
		// Cache counts in the bound are ignored: it is a worst case.
		{"cache counts ignored", "anthropic", "claude-3-5-sonnet", Usage{InputTokens: 1000, CachedInputTokens: 1000, OutputTokens: 100}, 450_000},
		// A cached price above the input price (a config mistake, which
		// validation warns about) is reserved for: 1000×4e6 = 0.4 credits.
		{"cached price above input", "custom", "inverted-cache", Usage{InputTokens: 1000}, 400_000},
		// A cheaper cached price does not lower the bound: 1000×2.5e6 =
		// 2.5e9 pico-USD = 0.25 credits.
		{"cached price below input", "openai", "gpt-4o-cached", Usage{InputTokens: 1000}, 250_000},
		{"no cache prices", "openai", "gpt-4", Usage{InputTokens: 1500, OutputTokens: 500}, 7_500_000},
	}
	tb := testTable(t, false)
	tb.Set("custom", "inverted-cache", Price{InputPerMTok: 1_000_000, CachedInputPerMTok: 4_000_000, HasCachedInputPrice: true, Priced: true})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tb.MaxCost(tt.provider, tt.model, tt.usage)
			if err != nil {
				t.Fatalf("MaxCost: %v", err)
			}
			if c.MicroCredits != tt.wantMC {
				t.Errorf("MaxCost = %+v, want %d micro-credits", c, tt.wantMC)
			}
		})
	}
	if _, err := tb.MaxCost("openai", "gpt-5", Usage{InputTokens: 1}); !errors.Is(err, ErrUnpriced) {
		t.Errorf("MaxCost of an unknown model: err = %v, want ErrUnpriced", err)
	}
	if c, err := testTable(t, true).MaxCost("openai", "gpt-5", Usage{InputTokens: 1}); err != nil || !c.Unpriced {
		t.Errorf("MaxCost with allow_unpriced = %+v, %v; want unpriced", c, err)
	}
}

func TestUnpricedError(t *testing.T) {
	tb := testTable(t, false)
	_, err := tb.Cost("openai", "gpt-5", Usage{})
	var ue *UnpricedError
	if !errors.As(err, &ue) || ue.Provider != "openai" || ue.Model != "gpt-5" {
		t.Fatalf("error %v is not an *UnpricedError naming openai/gpt-5", err)
	}
}

func TestAllowUnpriced(t *testing.T) {
	tb := testTable(t, true)
	for _, model := range []string{"gpt-5", "gpt-unpriced"} {
		t.Run(model, func(t *testing.T) {
			c, err := tb.Cost("openai", model, Usage{InputTokens: 1000, OutputTokens: 1000})
			if err != nil {
				t.Fatalf("Cost: %v", err)
			}
			if !c.Unpriced || c.MicroCredits != 0 || c.MicroUSD != 0 {
				t.Errorf("Cost = %+v, want unpriced and zero", c)
			}
		})
	}
	// A priced image model still fails on an unpriced size.
	if _, err := tb.Cost("openai", "dall-e-3", Usage{Images: 1, ImageSize: "1x1"}); !errors.Is(err, ErrImageSizeUnpriced) {
		t.Errorf("unpriced size with allow_unpriced: err = %v, want ErrImageSizeUnpriced", err)
	}
}

func TestOverflow(t *testing.T) {
	tests := []struct {
		name  string
		price Price
		usage Usage
	}{
		// Fits in 128 bits but not in int64 micro-credits.
		{"int64 result", Price{InputPerMTok: math.MaxInt64}, Usage{InputTokens: 1e12}},
		// Overflows the 128-bit intermediate itself.
		{"128-bit product", Price{InputPerMTok: math.MaxInt64, OutputPerMTok: math.MaxInt64},
			Usage{InputTokens: math.MaxInt64, OutputTokens: math.MaxInt64}},
		{"128-bit chars", Price{PerKChar: math.MaxInt64}, Usage{Characters: math.MaxInt64}},
		{"128-bit images", Price{Image: map[string]int64{"*": math.MaxInt64}}, Usage{Images: math.MaxInt64}},
		{"128-bit cache terms", Price{InputPerMTok: math.MaxInt64, CachedInputPerMTok: math.MaxInt64, HasCachedInputPrice: true,
			CacheWritePerMTok: math.MaxInt64, HasCacheWritePrice: true},
			Usage{InputTokens: math.MaxInt64, CachedInputTokens: math.MaxInt64 / 2, CacheWriteTokens: math.MaxInt64 / 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Compute(tt.price, tt.usage, 100)
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("Compute = %+v, %v; want ErrOverflow", c, err)
			}
		})
	}
}

func TestComputeRate(t *testing.T) {
	gpt4 := Price{InputPerMTok: 30_000_000, OutputPerMTok: 60_000_000, Priced: true}
	u := Usage{InputTokens: 1500, OutputTokens: 500}
	tests := []struct {
		rate    int64
		wantMC  int64
		wantFmt string
	}{
		{1, 75_000, "0.075"},     // $0.075 = 0.075 credits
		{3, 225_000, "0.225"},    // 0.075 × 3
		{1000, 75_000_000, "75"}, // 0.075 × 1000
		{7, 525_000, "0.525"},    // 0.075 × 7
		{100, 7_500_000, "7.5"},  // the default
		{1_000_000, 75_000_000_000, "75000"},
	}
	for _, tt := range tests {
		t.Run(FormatCredits(tt.rate*MicroPerUnit), func(t *testing.T) {
			c, err := Compute(gpt4, u, tt.rate)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if c.MicroCredits != tt.wantMC || FormatCredits(c.MicroCredits) != tt.wantFmt {
				t.Errorf("Compute = %d (%s), want %d (%s)", c.MicroCredits, FormatCredits(c.MicroCredits), tt.wantMC, tt.wantFmt)
			}
			if got := FormatUSD(c.MicroCredits, tt.rate); got != "0.075" {
				t.Errorf("FormatUSD = %q, want 0.075", got)
			}
		})
	}
	if _, err := Compute(gpt4, u, 0); err == nil {
		t.Error("Compute with rate 0: want error")
	}
}

func TestTableLookup(t *testing.T) {
	img := map[string]int64{"*": 10}
	tb := NewTable(0, false)
	if tb.CreditsPerUSD() != DefaultCreditsPerUSD {
		t.Errorf("CreditsPerUSD = %d, want default %d", tb.CreditsPerUSD(), DefaultCreditsPerUSD)
	}
	tb.Set("p", "m", Price{Image: img, Priced: true, Version: "v1"})
	img["*"] = 99 // the table keeps its own copy
	p, ok := tb.Lookup("p", "m")
	if !ok || p.Image["*"] != 10 || p.Version != "v1" || !p.Priced {
		t.Fatalf("Lookup = %+v, %v", p, ok)
	}
	p.Image["*"] = 77 // and hands out copies
	if p2, _ := tb.Lookup("p", "m"); p2.Image["*"] != 10 {
		t.Errorf("Lookup result aliases the table: %v", p2.Image)
	}
	if _, ok := tb.Lookup("p", "other"); ok {
		t.Error("Lookup of a missing model reported ok")
	}
}

func BenchmarkCost(b *testing.B) {
	tb := NewTable(100, false)
	tb.Set("openai", "gpt-4", Price{InputPerMTok: 30_000_000, OutputPerMTok: 60_000_000, Priced: true})
	u := Usage{InputTokens: 1500, OutputTokens: 500}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tb.Cost("openai", "gpt-4", u); err != nil {
			b.Fatal(err)
		}
	}
}
