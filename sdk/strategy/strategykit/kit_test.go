package strategykit

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

func keys(cs []strategy.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Key()
	}
	return out
}

func choiceKeys(d *strategy.Decision) []string {
	out := make([]string, len(d.Choices))
	for i, c := range d.Choices {
		out[i] = c.Provider + "/" + c.Model
	}
	return out
}

func textCand(provider, model string) strategy.Candidate {
	return strategy.Candidate{Provider: provider, Model: model, Modality: "text", Capabilities: []string{"chat", "chat_stream"}}
}

func TestFilter(t *testing.T) {
	withCW := func(c strategy.Candidate, cw int64) strategy.Candidate { c.ContextWindow = cw; return c }
	withBreaker := func(c strategy.Candidate, b strategy.BreakerState) strategy.Candidate { c.Breaker = b; return c }
	image := textCand("openai", "dall-e-3")
	image.Modality = "image"
	embedOnly := textCand("custom", "embedder")
	embedOnly.Capabilities = []string{"embed"}
	noCaps := textCand("custom", "bare")
	noCaps.Capabilities = nil

	tests := []struct {
		name     string
		features strategy.Features
		cands    []strategy.Candidate
		want     []string
		wantRej  Rejections
		reason   []string // substrings of Reason() when nothing is eligible
	}{
		{
			name:     "all eligible keeps request order",
			features: strategy.Features{Modality: "text", ContextTokens: 1000, Capabilities: []string{"chat"}},
			cands:    []strategy.Candidate{textCand("b", "2"), textCand("a", "1"), withBreaker(textCand("c", "3"), strategy.BreakerHalfOpen)},
			want:     []string{"b/2", "a/1", "c/3"},
			wantRej:  Rejections{Offered: 3},
		},
		{
			name:     "open breaker dropped, half-open kept",
			features: strategy.Features{Modality: "text"},
			cands:    []strategy.Candidate{withBreaker(textCand("a", "1"), strategy.BreakerOpen), withBreaker(textCand("b", "2"), strategy.BreakerHalfOpen)},
			want:     []string{"b/2"},
			wantRej:  Rejections{Offered: 2, BreakerOpen: 1},
		},
		{
			name:     "modality mismatch",
			features: strategy.Features{Modality: "text"},
			cands:    []strategy.Candidate{image, textCand("a", "1")},
			want:     []string{"a/1"},
			wantRej:  Rejections{Offered: 2, Modality: 1},
		},
		{
			name:     "no modality wanted keeps all",
			features: strategy.Features{},
			cands:    []strategy.Candidate{image, textCand("a", "1")},
			want:     []string{"openai/dall-e-3", "a/1"},
			wantRej:  Rejections{Offered: 2},
		},
		{
			name:     "context window too small; unknown and exact fit kept",
			features: strategy.Features{Modality: "text", ContextTokens: 8192},
			cands:    []strategy.Candidate{withCW(textCand("a", "small"), 4096), withCW(textCand("a", "exact"), 8192), textCand("a", "unknown")},
			want:     []string{"a/exact", "a/unknown"},
			wantRej:  Rejections{Offered: 3, ContextWindow: 1},
		},
		{
			name:     "missing capability",
			features: strategy.Features{Modality: "text", Capabilities: []string{"chat", "chat_stream"}},
			cands:    []strategy.Candidate{embedOnly, noCaps, textCand("a", "1")},
			want:     []string{"a/1"},
			wantRej:  Rejections{Offered: 3, Capability: 2},
		},
		{
			name:     "duplicate key keeps the first",
			features: strategy.Features{Modality: "text"},
			cands:    []strategy.Candidate{textCand("a", "1"), textCand("a", "1")},
			want:     []string{"a/1"},
			wantRej:  Rejections{Offered: 2, Duplicate: 1},
		},
		{
			name:     "nothing eligible",
			features: strategy.Features{Modality: "text", ContextTokens: 100_000, Capabilities: []string{"chat_stream"}},
			cands: []strategy.Candidate{
				withBreaker(textCand("a", "open"), strategy.BreakerOpen), image,
				withCW(textCand("a", "small"), 8192), embedOnly,
			},
			want:    []string{},
			wantRej: Rejections{Offered: 4, BreakerOpen: 1, Modality: 1, ContextWindow: 1, Capability: 1},
			reason: []string{"4 offered", "1 with an open breaker", `1 not of modality "text"`,
				"1 with a context window under 100000 tokens", "1 lacking chat_stream"},
		},
		{
			name:    "none offered",
			want:    []string{},
			wantRej: Rejections{},
			reason:  []string{"none were offered"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &strategy.Request{Features: tt.features, Candidates: tt.cands}
			before := keys(req.Candidates)
			got, rej := Filter(req)
			if !slices.Equal(keys(got), tt.want) {
				t.Errorf("Filter = %v, want %v", keys(got), tt.want)
			}
			if rej.Offered != tt.wantRej.Offered || rej.BreakerOpen != tt.wantRej.BreakerOpen ||
				rej.Modality != tt.wantRej.Modality || rej.ContextWindow != tt.wantRej.ContextWindow ||
				rej.Capability != tt.wantRej.Capability || rej.Duplicate != tt.wantRej.Duplicate {
				t.Errorf("Rejections = %+v, want %+v", rej, tt.wantRej)
			}
			for _, s := range tt.reason {
				if !strings.Contains(rej.Reason(), s) {
					t.Errorf("Reason() = %q, missing %q", rej.Reason(), s)
				}
			}
			if !slices.Equal(keys(Eligible(req)), tt.want) {
				t.Errorf("Eligible disagrees with Filter")
			}
			if len(got) > 1 {
				slices.Reverse(got)
			}
			if !slices.Equal(keys(req.Candidates), before) {
				t.Errorf("Filter's result aliases the request")
			}
		})
	}
	if got, rej := Filter(nil); len(got) != 0 || rej.Offered != 0 {
		t.Errorf("Filter(nil) = %v, %+v", got, rej)
	}
}

func TestOrderings(t *testing.T) {
	lat := func(key string, has bool, ewma, p95 float64) strategy.Candidate {
		return strategy.Candidate{Provider: "p", Model: key, HasLatency: has, LatencyEWMAMillis: ewma, LatencyP95Millis: p95}
	}
	tests := []struct {
		name  string
		cands []strategy.Candidate
		by    []Compare
		want  []string
	}{
		{
			name:  "by key",
			cands: []strategy.Candidate{{Provider: "b", Model: "a"}, {Provider: "a", Model: "b"}, {Provider: "a", Model: "a"}},
			by:    []Compare{ByKey},
			want:  []string{"a/a", "a/b", "b/a"},
		},
		{
			name:  "by latency: ewma, p95 tie-break, unmeasured last, NaN worst among measured",
			cands: []strategy.Candidate{lat("none", false, 0, 0), lat("nan", true, math.NaN(), 0), lat("slow", true, 300, 400), lat("fastp95", true, 200, 250), lat("fast", true, 200, 300)},
			by:    []Compare{ByLatency, ByKey},
			want:  []string{"p/fastp95", "p/fast", "p/slow", "p/nan", "p/none"},
		},
		{
			name: "by quality, NaN last",
			cands: []strategy.Candidate{
				{Provider: "p", Model: "nan", Quality: math.NaN()}, {Provider: "p", Model: "low", Quality: 10},
				{Provider: "p", Model: "high", Quality: 90},
			},
			by:   []Compare{ByQuality},
			want: []string{"p/high", "p/low", "p/nan"},
		},
		{
			name: "by breaker then cost, stable for full ties",
			cands: []strategy.Candidate{
				{Provider: "p", Model: "half", Breaker: strategy.BreakerHalfOpen}, {Provider: "p", Model: "dear", EstimatedMicroUSD: 9},
				{Provider: "p", Model: "z-cheap", EstimatedMicroUSD: 1}, {Provider: "p", Model: "a-cheap", EstimatedMicroUSD: 1},
			},
			by:   []Compare{ByBreaker, ByCost},
			want: []string{"p/z-cheap", "p/a-cheap", "p/dear", "p/half"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			SortStable(tt.cands, tt.by...)
			if got := keys(tt.cands); !slices.Equal(got, tt.want) {
				t.Errorf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	mk := func(model string, q float64) strategy.Candidate {
		return strategy.Candidate{Provider: "p", Model: model, Quality: q}
	}
	score := func(c strategy.Candidate) float64 { return c.Quality }
	reason := func(best strategy.Candidate, s float64) string { return best.Model + " wins" }
	tests := []struct {
		name   string
		cands  []strategy.Candidate
		higher bool
		want   []string
		scores []float64
	}{
		{"higher is better, ties keep order", []strategy.Candidate{mk("b", 1), mk("a", 3), mk("c", 1)}, true,
			[]string{"p/a", "p/b", "p/c"}, []float64{3, 1, 1}},
		{"lower is better", []strategy.Candidate{mk("b", 1), mk("a", 3), mk("c", 2)}, false,
			[]string{"p/b", "p/c", "p/a"}, []float64{1, 2, 3}},
		{"NaN last either way", []strategy.Candidate{mk("nan", math.NaN()), mk("a", 3)}, false,
			[]string{"p/a", "p/nan"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.cands, score, tt.higher, reason)
			if got := choiceKeys(d); !slices.Equal(got, tt.want) {
				t.Fatalf("Decide = %v, want %v", got, tt.want)
			}
			if want := d.Choices[0].Model + " wins"; d.Reason != want {
				t.Errorf("Reason = %q, want %q", d.Reason, want)
			}
			for i, s := range tt.scores {
				if d.Choices[i].Score != s {
					t.Errorf("Choices[%d].Score = %v, want %v", i, d.Choices[i].Score, s)
				}
			}
		})
	}
	if d := Decide(nil, score, true, reason); len(d.Choices) != 0 || d.Reason == "" {
		t.Errorf("Decide(nil) = %+v, want no choices and a reason", d)
	}
}

func TestFormatMicroUSD(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{150, "$0.000150"},
		{0, "$0.000000"},
		{75_000, "$0.075000"},
		{12_345_678, "$12.345678"},
		{-1, "-$0.000001"},
		{math.MinInt64, "-$9223372036854.775808"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatMicroUSD(tt.in); got != tt.want {
				t.Errorf("FormatMicroUSD(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFloatParam(t *testing.T) {
	params := map[string]string{"ok": "0.25", "spaced": " 2 ", "empty": "", "bad": "abc", "nan": "NaN", "inf": "+Inf"}
	tests := []struct {
		name    string
		want    float64
		wantErr bool
	}{
		{"ok", 0.25, false},
		{"spaced", 2, false},
		{"empty", 7, false},
		{"absent", 7, false},
		{"bad", 0, true},
		{"nan", 0, true},
		{"inf", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FloatParam(params, tt.name, 7)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("FloatParam(%s) = %v, %v; want %v, error %v", tt.name, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.name) {
				t.Errorf("error %q does not name the param", err)
			}
		})
	}
}
