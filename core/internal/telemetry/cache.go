package telemetry

import (
	"sync"
	"sync/atomic"
)

// cowCache is a copy-on-write map for label-value lookups on the hot path.
// Readers load an immutable map through an atomic pointer: no lock, no
// allocation, no cache-line contention between cores. Writers copy the map,
// which is fine because the key set is small and stops growing after
// warm-up. The zero value is ready to use.
type cowCache[K comparable, V any] struct {
	mu sync.Mutex // serializes writers only
	m  atomic.Pointer[map[K]V]
}

func (c *cowCache[K, V]) load(k K) (V, bool) {
	if p := c.m.Load(); p != nil {
		v, ok := (*p)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// store adds k unless the cache holds maxCachedSeries entries already; the
// caller has resolved v itself and simply skips caching it then.
func (c *cowCache[K, V]) store(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	n := 0
	if old != nil {
		if _, ok := (*old)[k]; ok {
			return
		}
		n = len(*old)
	}
	if n >= maxCachedSeries {
		return
	}
	next := make(map[K]V, n+1)
	if old != nil {
		for kk, vv := range *old {
			next[kk] = vv
		}
	}
	next[k] = v
	c.m.Store(&next)
}

func (c *cowCache[K, V]) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Store(nil)
}
