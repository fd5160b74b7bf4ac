package main

import (
	"math"
	"slices"
	"time"
)

// Summary describes a sample of durations.
type Summary struct {
	N    int           `json:"n"`
	Min  time.Duration `json:"min_ns"`
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
}

// summarize sorts ds in place and describes it. An empty sample gives the
// zero Summary.
func summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	slices.Sort(ds)
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	return Summary{
		N:    len(ds),
		Min:  ds[0],
		Mean: time.Duration(sum / float64(len(ds))),
		P50:  percentile(ds, 50),
		P90:  percentile(ds, 90),
		P99:  percentile(ds, 99),
		Max:  ds[len(ds)-1],
	}
}

// percentile is the nearest-rank percentile of an ascending sample: the
// smallest value with at least p% of the sample at or below it. Nearest
// rank never invents a latency nobody saw, which interpolation would.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 {
		return sorted[0]
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// linearFit is the least-squares line y = slope·x + intercept; ok is false
// when fewer than two distinct x values make the slope undefined.
func linearFit(xs, ys []float64) (slope, intercept float64, ok bool) {
	n := min(len(xs), len(ys))
	if n < 2 {
		return 0, 0, false
	}
	var sx, sy float64
	for i := range n {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/float64(n), sy/float64(n)
	var sxx, sxy float64
	for i := range n {
		dx := xs[i] - mx
		sxx += dx * dx
		sxy += dx * (ys[i] - my)
	}
	if sxx == 0 {
		return 0, 0, false
	}
	slope = sxy / sxx
	return slope, my - slope*mx, true
}

// ms renders a duration in milliseconds for tables and JSON.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
