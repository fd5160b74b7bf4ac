package routing

import (
	"math"
	"sort"
	"sync"
	"time"
)

// ewmaAlpha weighs the newest sample; 0.2 follows a change within ~10 calls
// without jumping on one outlier.
const ewmaAlpha = 0.2

// window is how many recent latencies the p95 and error rate look at.
const window = 64

// Stats tracks latency (EWMA and p95) and error rate per target. It is safe
// for concurrent use.
type Stats struct {
	mu sync.Mutex
	m  map[string]*series
}

type series struct {
	ewma    float64
	samples [window]float64
	errs    [window]bool
	n, next int
	// snap caches Get's answer until the next Observe: routing reads far
	// more often than calls finish.
	snap  Snapshot
	dirty bool
}

// Snapshot is a target's measured state.
type Snapshot struct {
	EWMAMillis float64
	P95Millis  float64
	ErrorRate  float64
	Has        bool
}

// NewStats returns empty statistics.
func NewStats() *Stats { return &Stats{m: make(map[string]*series)} }

// Observe records one call to key that took d and failed if failed.
// Failed calls count toward the error rate but not the latency, which
// would otherwise reward fast failures.
func (s *Stats) Observe(key string, d time.Duration, failed bool) {
	ms := float64(d) / float64(time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.m[key]
	if se == nil {
		se = &series{}
		s.m[key] = se
	}
	se.errs[se.next] = failed
	if !failed {
		if se.ewma == 0 {
			se.ewma = ms
		} else {
			se.ewma = ewmaAlpha*ms + (1-ewmaAlpha)*se.ewma
		}
	}
	se.samples[se.next] = ms
	se.next = (se.next + 1) % window
	if se.n < window {
		se.n++
	}
	se.dirty = true
}

// Get returns key's current measurements.
func (s *Stats) Get(key string) Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.m[key]
	if se == nil || se.n == 0 {
		return Snapshot{}
	}
	if !se.dirty {
		return se.snap
	}
	lat := make([]float64, 0, se.n)
	fails := 0
	for i := 0; i < se.n; i++ {
		if se.errs[i] {
			fails++
			continue
		}
		lat = append(lat, se.samples[i])
	}
	snap := Snapshot{EWMAMillis: se.ewma, ErrorRate: float64(fails) / float64(se.n)}
	if len(lat) > 0 {
		sort.Float64s(lat)
		snap.P95Millis = lat[int(math.Ceil(0.95*float64(len(lat))))-1]
		snap.Has = true
	}
	se.snap, se.dirty = snap, false
	return snap
}

// Bucket maps a snapshot to a coarse class that changes only when latency
// moves by about a factor of √2 or the error rate by a tenth, so that
// memoized routing decisions are not dropped on every sample.
func (s Snapshot) Bucket() uint16 {
	if !s.Has {
		return 0
	}
	lb := uint16(1 + math.Max(0, math.Round(2*math.Log2(1+s.EWMAMillis))))
	eb := uint16(math.Round(s.ErrorRate * 10))
	return lb<<4 | eb
}
