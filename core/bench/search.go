package main

import "fmt"

// searchPlan bounds the search for the highest sustainable rate.
type searchPlan struct {
	Start, Step int // first rate and the increment while probes pass
	Resolution  int // stop bisecting when pass and fail are this close
	MaxRate     int // never probe above this
	MaxProbes   int // total probes, stepping and bisecting
}

// probeFunc runs load at rate req/s and reports whether it met the target.
type probeFunc func(rate int) (bool, error)

// searchResult is the outcome of a rate search.
type searchResult struct {
	Best   int          `json:"best_rps"` // highest passing rate; 0 if none passed
	Failed int          `json:"first_failing_rps"`
	Probes []probeTrace `json:"probes"`
	// Capped is true when the search stopped at MaxRate or MaxProbes
	// rather than converging.
	Capped bool `json:"capped"`
}

type probeTrace struct {
	Rate int  `json:"rps"`
	Pass bool `json:"pass"`
}

// searchRate steps up from Start by Step while probes pass, then bisects
// between the last pass and the first failure down to Resolution. A
// failure at Start bisects between 0 and Start.
func searchRate(p searchPlan, probe probeFunc) (searchResult, error) {
	if p.Start <= 0 || p.Step <= 0 || p.Resolution <= 0 || p.MaxProbes <= 0 {
		return searchResult{}, fmt.Errorf("search plan %+v: start, step, resolution and probes must be positive", p)
	}
	var res searchResult
	run := func(rate int) (bool, error) {
		ok, err := probe(rate)
		if err != nil {
			return false, fmt.Errorf("probe at %d req/s: %w", rate, err)
		}
		res.Probes = append(res.Probes, probeTrace{Rate: rate, Pass: ok})
		return ok, nil
	}
	lo, hi := 0, 0 // lo passed (0: nothing yet); hi failed (0: not yet)
	for rate := p.Start; ; rate += p.Step {
		if p.MaxRate > 0 && rate > p.MaxRate || len(res.Probes) >= p.MaxProbes {
			res.Best, res.Capped = lo, true
			return res, nil
		}
		ok, err := run(rate)
		if err != nil {
			return res, err
		}
		if !ok {
			hi = rate
			break
		}
		lo = rate
	}
	for hi-lo > p.Resolution {
		if len(res.Probes) >= p.MaxProbes {
			res.Capped = true
			break
		}
		mid := lo + (hi-lo)/2
		ok, err := run(mid)
		if err != nil {
			return res, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	res.Best, res.Failed = lo, hi
	return res, nil
}
