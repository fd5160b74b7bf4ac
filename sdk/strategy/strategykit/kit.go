package strategykit

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// Rejections counts the candidates Filter dropped, by the first reason
// that applied, so a strategy can say why nothing was eligible.
type Rejections struct {
	// Offered is the number of candidates in the request.
	Offered       int
	BreakerOpen   int
	Modality      int
	ContextWindow int
	Capability    int
	// Duplicate counts repeats of a provider/model already accepted.
	Duplicate int

	// The request's needs, for the explanation.
	wantModality string
	wantContext  int64
	missingCaps  []string
}

// Reason explains, in one sentence, why no candidate is eligible.
func (r Rejections) Reason() string {
	if r.Offered == 0 {
		return "no eligible candidates: none were offered"
	}
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(r.BreakerOpen, "with an open breaker")
	add(r.Modality, fmt.Sprintf("not of modality %q", r.wantModality))
	add(r.ContextWindow, fmt.Sprintf("with a context window under %d tokens", r.wantContext))
	add(r.Capability, "lacking "+strings.Join(r.missingCaps, ", "))
	add(r.Duplicate, "duplicates")
	return fmt.Sprintf("no eligible candidates: %d offered, %s", r.Offered, strings.Join(parts, "; "))
}

// Filter returns the candidates of req that can serve it, in request
// order, as a new slice (sorting it does not disturb req), and counts the
// rest. A candidate is dropped when:
//   - its breaker is open;
//   - Features.Modality is set and the candidate's modality differs;
//   - its ContextWindow is known (> 0) and smaller than
//     Features.ContextTokens;
//   - it does not list every capability in Features.Capabilities;
//   - its provider/model was already accepted (the first one wins), so a
//     strategy can key per-candidate figures by Key.
func Filter(req *strategy.Request) ([]strategy.Candidate, Rejections) {
	var rej Rejections
	if req == nil {
		return nil, rej
	}
	f := req.Features
	rej.Offered = len(req.Candidates)
	rej.wantModality, rej.wantContext = f.Modality, f.ContextTokens
	out := make([]strategy.Candidate, 0, len(req.Candidates))
	seen := make(map[string]bool, len(req.Candidates))
	for _, c := range req.Candidates {
		switch {
		case c.Breaker == strategy.BreakerOpen:
			rej.BreakerOpen++
		case f.Modality != "" && c.Modality != f.Modality:
			rej.Modality++
		case c.ContextWindow > 0 && c.ContextWindow < f.ContextTokens:
			rej.ContextWindow++
		default:
			if missing := missingCapability(c.Capabilities, f.Capabilities); missing != "" {
				rej.Capability++
				if !slices.Contains(rej.missingCaps, missing) {
					rej.missingCaps = append(rej.missingCaps, missing)
				}
				continue
			}
			k := c.Key()
			if seen[k] {
				rej.Duplicate++
				continue
			}
			seen[k] = true
			out = append(out, c)
		}
	}
	return out, rej
}

// Eligible returns the candidates of req that can serve it; see Filter.
func Eligible(req *strategy.Request) []strategy.Candidate {
	out, _ := Filter(req)
	return out
}

// missingCapability returns the first needed capability not in have, or "".
func missingCapability(have, need []string) string {
	for _, n := range need {
		if !slices.Contains(have, n) {
			return n
		}
	}
	return ""
}

// Compare orders two candidates like cmp.Compare: negative when a comes
// first.
type Compare func(a, b strategy.Candidate) int

// ByKey orders candidates by "provider/model"; it is the last tie-breaker
// of every built-in strategy, which makes their decisions deterministic.
func ByKey(a, b strategy.Candidate) int {
	if c := cmp.Compare(a.Provider, b.Provider); c != 0 {
		return c
	}
	return cmp.Compare(a.Model, b.Model)
}

// ByCost orders cheaper estimates first.
func ByCost(a, b strategy.Candidate) int {
	return cmp.Compare(a.EstimatedMicroUSD, b.EstimatedMicroUSD)
}

// ByQuality orders higher quality first.
func ByQuality(a, b strategy.Candidate) int {
	return cmp.Compare(nanTo(b.Quality, math.Inf(-1)), nanTo(a.Quality, math.Inf(-1)))
}

// ByLatency orders measured candidates before unmeasured ones, and
// measured ones by lower EWMA latency, then lower p95.
func ByLatency(a, b strategy.Candidate) int {
	if a.HasLatency != b.HasLatency {
		if a.HasLatency {
			return -1
		}
		return 1
	}
	if !a.HasLatency {
		return 0
	}
	inf := math.Inf(1)
	if c := cmp.Compare(nanTo(a.LatencyEWMAMillis, inf), nanTo(b.LatencyEWMAMillis, inf)); c != 0 {
		return c
	}
	return cmp.Compare(nanTo(a.LatencyP95Millis, inf), nanTo(b.LatencyP95Millis, inf))
}

// ByBreaker orders closed breakers before half-open ones, so a candidate
// that is still being probed is only a fallback.
func ByBreaker(a, b strategy.Candidate) int { return cmp.Compare(a.Breaker, b.Breaker) }

// SortStable sorts cands in place by the comparisons in order: the first
// one that tells two candidates apart decides. Candidates equal under all
// of them keep their order.
func SortStable(cands []strategy.Candidate, by ...Compare) {
	slices.SortStableFunc(cands, func(a, b strategy.Candidate) int {
		for _, f := range by {
			if c := f(a, b); c != 0 {
				return c
			}
		}
		return 0
	})
}

// Decide sorts cands stably by score (best first: highest when
// higherIsBetter, lowest otherwise; NaN scores last) and returns the
// decision. Candidates with equal scores keep their incoming order, so
// sort by tie-breakers first (at least ByKey) to make the result
// deterministic. reason builds the explanation from the best candidate and
// its score. With no candidates the decision is empty, with a generic
// reason.
func Decide(cands []strategy.Candidate, score func(strategy.Candidate) float64, higherIsBetter bool,
	reason func(best strategy.Candidate, score float64) string) *strategy.Decision {
	type scored struct {
		c strategy.Candidate
		s float64
	}
	ss := make([]scored, len(cands))
	for i, c := range cands {
		ss[i] = scored{c, score(c)}
	}
	slices.SortStableFunc(ss, func(a, b scored) int {
		switch an, bn := math.IsNaN(a.s), math.IsNaN(b.s); {
		case an && bn:
			return 0
		case an:
			return 1
		case bn:
			return -1
		}
		if higherIsBetter {
			return cmp.Compare(b.s, a.s)
		}
		return cmp.Compare(a.s, b.s)
	})
	for i := range ss {
		cands[i] = ss[i].c
	}
	return Ordered(cands, score, reason)
}

// Ordered returns the decision that keeps cands in the given order, with
// each choice's Score from score and the reason built from the first.
func Ordered(cands []strategy.Candidate, score func(strategy.Candidate) float64,
	reason func(best strategy.Candidate, score float64) string) *strategy.Decision {
	if len(cands) == 0 {
		return &strategy.Decision{Reason: "no eligible candidates"}
	}
	d := &strategy.Decision{Choices: make([]strategy.Choice, len(cands))}
	for i, c := range cands {
		d.Choices[i] = strategy.Choice{Provider: c.Provider, Model: c.Model, Score: score(c)}
	}
	d.Reason = reason(cands[0], d.Choices[0].Score)
	return d
}

// FormatMicroUSD renders micro-USD as dollars with all six decimals, using
// integer arithmetic so the figure is exact: 150 → "$0.000150".
func FormatMicroUSD(v int64) string {
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", -u
	}
	return fmt.Sprintf("%s$%d.%06d", sign, u/1_000_000, u%1_000_000)
}

// FloatParam reads a finite number from a strategy's params, or def when
// the param is absent or empty.
func FloatParam(params map[string]string, name string, def float64) (float64, error) {
	s, ok := params[name]
	if !ok || strings.TrimSpace(s) == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("read strategy param %s=%q: want a finite number", name, s)
	}
	return v, nil
}

// nanTo replaces NaN, which cmp.Compare sorts before everything, by the
// worst value for the ordering at hand, so one bad figure from the core
// cannot promote a candidate.
func nanTo(f, worst float64) float64 {
	if math.IsNaN(f) {
		return worst
	}
	return f
}
