package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Every sweepEvery-th Allow inspects sweepBatch buckets for expiry, two per
// call on average. Go starts every map range at a random position, so this
// samples buckets at random, as Redis's active expiry does: whenever more
// than about half the map is expired, more than one bucket is freed per call,
// faster than calls can create new ones, so memory stays within a small
// factor of the live keys without ever stopping to scan the whole map.
// Batching amortises the cost of starting a map iteration.
const (
	sweepEvery = 8
	sweepBatch = 2 * sweepEvery
)

// memory is the in-process Limiter. One mutex guards all buckets: a decision
// takes well under a microsecond, so the lock is never the bottleneck of an
// HTTP request, and a single lock makes multi-key decisions atomic for free.
type memory struct {
	now func() time.Time

	mu sync.Mutex
	// tats maps "name\x00key" to the bucket's theoretical arrival time in
	// Unix nanoseconds. A bucket whose tat is not after now is full, which is
	// the same as absent, so it can be deleted. Values are pointers so that
	// an update writes in place instead of re-inserting (and re-allocating)
	// the string key.
	tats map[string]*int64
	// keyBuf builds map keys under mu without allocating for lookups.
	keyBuf []byte
	// calls counts Allow calls to pace the sweep.
	calls uint
}

// NewMemory returns an in-process Limiter that reads time from clock (nil
// means time.Now). Limits apply to this process only.
func NewMemory(clock func() time.Time) Limiter {
	if clock == nil {
		clock = time.Now
	}
	return &memory{now: clock, tats: make(map[string]*int64)}
}

// Allow implements Limiter.
func (m *memory) Allow(ctx context.Context, checks ...Check) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("rate limit check: %w", err)
	}
	n, err := validate(checks)
	if err != nil {
		return Result{}, err
	}
	if n == 0 {
		return Result{Allowed: true}, nil
	}
	var stack [8]outcome
	var ptrStack [8]*int64
	outs, ptrs := stack[:0], ptrStack[:0]
	if len(checks) > len(stack) {
		outs = make([]outcome, 0, len(checks))
		ptrs = make([]*int64, 0, len(checks))
	}

	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()

	// Decide every check before writing any, so a denial changes nothing.
	allowed := true
	for _, c := range checks {
		if c.Limit.Rate == 0 {
			outs, ptrs = append(outs, outcome{allowed: true}), append(ptrs, nil)
			continue
		}
		p := m.tats[string(m.key(c))]
		var tat int64
		if p != nil {
			tat = *p
		}
		o, _ := gcra(tat, now, c)
		allowed = allowed && o.allowed
		outs, ptrs = append(outs, o), append(ptrs, p)
	}
	if allowed {
		for i, c := range checks {
			if c.Limit.Rate == 0 || c.Cost == 0 {
				continue
			}
			p := ptrs[i]
			if p == nil {
				p = new(int64)
				m.tats[string(m.key(c))] = p
			}
			_, *p = gcra(*p, now, c)
		}
	}
	m.sweep(now)
	return pick(checks, outs), nil
}

// key renders the bucket name into m.keyBuf. The result is only valid until
// the next call; converting it with string() inside a map index does not
// allocate.
func (m *memory) key(c Check) []byte {
	m.keyBuf = append(m.keyBuf[:0], c.Limit.Name...)
	m.keyBuf = append(m.keyBuf, 0)
	m.keyBuf = append(m.keyBuf, c.Key...)
	return m.keyBuf
}

// sweep deletes up to sweepBatch randomly sampled full buckets every
// sweepEvery calls.
func (m *memory) sweep(now int64) {
	m.calls++
	if m.calls%sweepEvery != 0 {
		return
	}
	seen := 0
	for k, tat := range m.tats {
		if *tat <= now {
			delete(m.tats, k)
		}
		seen++
		if seen == sweepBatch {
			return
		}
	}
}

// gcra decides one check against a bucket whose theoretical arrival time is
// tat (0 or past: full), at time now, all in nanoseconds. It returns the
// outcome and the bucket's new tat should the request be allowed.
//
// Each unit advances tat by the emission interval T = Period/Rate; a request
// fits while the advanced tat is no more than one burst (Rate·T) ahead of now.
func gcra(tat, now int64, c Check) (outcome, int64) {
	interval := int64(c.Limit.Period / time.Duration(c.Limit.Rate))
	burst := interval * int64(c.Limit.Rate)
	t := max(tat, now)
	available := (now - (t - burst)) / interval
	if c.Cost > c.Limit.Rate {
		return outcome{oversize: true, remaining: int(available), resetAfter: time.Duration(t - now)}, t
	}
	newTAT := t + int64(c.Cost)*interval
	allowAt := newTAT - burst
	if allowAt > now {
		return outcome{
			remaining:  int(available),
			retryAfter: time.Duration(allowAt - now),
			resetAfter: time.Duration(t - now),
		}, t
	}
	return outcome{
		allowed:    true,
		remaining:  int((now - allowAt) / interval),
		resetAfter: time.Duration(newTAT - now),
	}, newTAT
}
