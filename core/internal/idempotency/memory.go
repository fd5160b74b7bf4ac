package idempotency

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Every sweepEvery-th call inspects sweepBatch randomly sampled records (Go
// starts each map range at a random position) and drops expired ones, so
// memory follows the live records without a full scan or a goroutine.
const (
	sweepEvery = 8
	sweepBatch = 2 * sweepEvery
)

type memKey struct{ scope, key string }

type memRecord struct {
	fp      Fingerprint
	token   string // holder of the lease; "" once completed
	done    bool
	resp    Response
	expires int64 // Unix ns; the lease's end, or the stored response's
}

// memory is the in-process Store.
type memory struct {
	now func() time.Time

	mu    sync.Mutex
	recs  map[memKey]*memRecord
	seq   uint64 // makes lease tokens unique within this store
	calls uint
}

// NewMemory returns an in-process Store reading time from clock (nil means
// time.Now). Records live in this process only, so duplicates arriving at
// another core replica are not detected: use [NewRedis] with several
// replicas.
func NewMemory(clock func() time.Time) Store {
	if clock == nil {
		clock = time.Now
	}
	return &memory{now: clock, recs: make(map[memKey]*memRecord)}
}

// live returns the unexpired record for k, dropping an expired one.
func (m *memory) live(k memKey, now int64) *memRecord {
	r := m.recs[k]
	if r != nil && r.expires <= now {
		delete(m.recs, k)
		return nil
	}
	return r
}

// Begin implements Store.
func (m *memory) Begin(ctx context.Context, scope, key string, fp Fingerprint, lease time.Duration) (string, *Response, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("begin idempotent request: %w", err)
	}
	if err := validate(scope, key); err != nil {
		return "", nil, err
	}
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	k := memKey{scope, key}
	r := m.live(k, now)
	switch {
	case r == nil:
		m.seq++
		token := strconv.FormatUint(m.seq, 10)
		m.recs[k] = &memRecord{fp: fp, token: token, expires: now + int64(lease)}
		return token, nil, nil
	case r.fp != fp:
		return "", nil, fmt.Errorf("begin idempotent request: %w", ErrConflict)
	case !r.done:
		return "", nil, fmt.Errorf("begin idempotent request: %w", ErrInProgress)
	}
	resp := r.resp.clone()
	return "", &resp, nil
}

// Complete implements Store.
func (m *memory) Complete(ctx context.Context, scope, key, token string, resp Response, ttl time.Duration) error {
	return m.settle(ctx, scope, key, token, func(k memKey, r *memRecord, now int64) {
		r.done, r.token, r.resp, r.expires = true, "", resp.clone(), now+int64(ttl)
	})
}

// Abort implements Store.
func (m *memory) Abort(ctx context.Context, scope, key, token string) error {
	return m.settle(ctx, scope, key, token, func(k memKey, _ *memRecord, _ int64) {
		delete(m.recs, k)
	})
}

// settle applies f to the record if token still holds its lease.
func (m *memory) settle(ctx context.Context, scope, key, token string, f func(memKey, *memRecord, int64)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("settle idempotent request: %w", err)
	}
	if err := validate(scope, key); err != nil {
		return err
	}
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey{scope, key}
	r := m.live(k, now)
	if r == nil || r.done || token == "" || r.token != token {
		return fmt.Errorf("settle idempotent request: %w", ErrLeaseLost)
	}
	f(k, r, now)
	return nil
}

// sweep drops a random sample of expired records every sweepEvery calls.
func (m *memory) sweep(now int64) {
	m.calls++
	if m.calls%sweepEvery != 0 {
		return
	}
	seen := 0
	for k, r := range m.recs {
		if r.expires <= now {
			delete(m.recs, k)
		}
		seen++
		if seen == sweepBatch {
			return
		}
	}
}
