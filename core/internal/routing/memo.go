package routing

import (
	"math/bits"
	"sync"

	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// Class is the part of a request a memoized decision depends on.
type Class struct {
	Strategy     string
	Modality     string
	TokenBucket  uint8
	Streaming    bool
	Capabilities string
	// Hypothetical classes (estimates) see a wider candidate set.
	Hypothetical bool
}

// TokenBucket maps a token count to its power-of-two bucket, so requests
// of similar size share a decision.
func TokenBucket(tokens int64) uint8 {
	if tokens <= 0 {
		return 0
	}
	return uint8(bits.Len64(uint64(tokens)))
}

// BucketCeiling is the largest token count in bucket b, sent to the
// strategy as the class's estimate.
func BucketCeiling(b uint8) int64 {
	if b == 0 {
		return 0
	}
	if b >= 63 {
		return 1<<63 - 1
	}
	return 1<<b - 1
}

type memoEntry struct {
	fingerprint uint64
	decision    *strategy.Decision
}

// Memo caches strategy decisions per request class. An entry is used only
// while the fingerprint of the candidate state it was computed from is
// unchanged; callers compute that fingerprint with Fingerprint.
type Memo struct {
	mu sync.RWMutex
	m  map[Class]memoEntry
}

// NewMemo returns an empty memo.
func NewMemo() *Memo { return &Memo{m: make(map[Class]memoEntry)} }

// Get returns the decision for c if it was computed from fingerprint fp.
func (m *Memo) Get(c Class, fp uint64) (*strategy.Decision, bool) {
	m.mu.RLock()
	e, ok := m.m[c]
	m.mu.RUnlock()
	if !ok || e.fingerprint != fp {
		return nil, false
	}
	return e.decision, true
}

// Put stores d for c, computed from fingerprint fp.
func (m *Memo) Put(c Class, fp uint64, d *strategy.Decision) {
	m.mu.Lock()
	m.m[c] = memoEntry{fingerprint: fp, decision: d}
	m.mu.Unlock()
}

// Fingerprint hashes what a strategy sees of the candidates (identity,
// breaker state, latency and error buckets) with FNV-1a. Prices and
// qualities change only with the config, which replaces the memo.
func Fingerprint(cands []strategy.Candidate, buckets []uint16) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	mix := func(b byte) { h ^= uint64(b); h *= prime }
	for i, c := range cands {
		for j := 0; j < len(c.Provider); j++ {
			mix(c.Provider[j])
		}
		mix('/')
		for j := 0; j < len(c.Model); j++ {
			mix(c.Model[j])
		}
		mix(byte(c.Breaker))
		if i < len(buckets) {
			mix(byte(buckets[i]))
			mix(byte(buckets[i] >> 8))
		}
		mix(0)
	}
	return h
}
