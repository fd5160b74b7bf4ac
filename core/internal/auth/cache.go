package auth

import (
	"container/list"
	"sync"
	"time"
)

const (
	// DefaultKeyCacheTTL bounds how long a replica trusts a key lookup it
	// made earlier, and therefore how long a revocation takes to reach
	// every replica.
	DefaultKeyCacheTTL = 10 * time.Second
	// DefaultKeyCacheSize bounds memory: beyond it the least recently used
	// entry is evicted.
	DefaultKeyCacheSize = 10_000
)

// KeyCache remembers resolved principals by API key hash for at most a TTL,
// so the store is not queried on every request.
//
// Revocation takes effect on every replica within 10 s (the default TTL):
// a replica that cached a key before it was revoked serves it for at most
// the rest of that entry's TTL, then asks the store again and is refused.
// The replica that handled the revocation can call Delete for an immediate
// local effect. Failed lookups are not cached, so a newly created key works
// at once and an unknown key costs a store lookup each time (the rate
// limiter bounds that).
//
// It is safe for concurrent use; it holds hashes, never plaintext keys.
type KeyCache struct {
	ttl   time.Duration
	max   int
	clock func() time.Time

	mu      sync.Mutex
	order   *list.List // front = most recently used; values are *cacheEntry
	entries map[string]*list.Element
}

type cacheEntry struct {
	hash      string
	principal Principal
	expires   time.Time
}

// NewKeyCache returns a cache whose entries live at most ttl
// (DefaultKeyCacheTTL if ttl ≤ 0) by clock (time.Now if nil), holding at
// most DefaultKeyCacheSize entries.
func NewKeyCache(ttl time.Duration, clock func() time.Time) *KeyCache {
	return newKeyCache(ttl, clock, DefaultKeyCacheSize)
}

func newKeyCache(ttl time.Duration, clock func() time.Time, max int) *KeyCache {
	if ttl <= 0 {
		ttl = DefaultKeyCacheTTL
	}
	if clock == nil {
		clock = time.Now
	}
	if max <= 0 {
		max = DefaultKeyCacheSize
	}
	return &KeyCache{ttl: ttl, max: max, clock: clock, order: list.New(), entries: make(map[string]*list.Element)}
}

// TTL is the longest an entry is trusted.
func (c *KeyCache) TTL() time.Duration { return c.ttl }

// Get returns the principal cached for keyHash if it has not expired.
func (c *KeyCache) Get(keyHash string) (Principal, bool) {
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[keyHash]
	if !ok {
		return Principal{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.removeLocked(el)
		return Principal{}, false
	}
	c.order.MoveToFront(el)
	return e.principal, true
}

// Put caches p under keyHash until now+TTL, or until p.ExpiresAt if that
// comes first, so a cached key never outlives its own expiry or rotation
// grace period.
func (c *KeyCache) Put(keyHash string, p Principal) {
	now := c.clock()
	expires := now.Add(c.ttl)
	if !p.ExpiresAt.IsZero() && p.ExpiresAt.Before(expires) {
		expires = p.ExpiresAt
	}
	if !now.Before(expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[keyHash]; ok {
		e := el.Value.(*cacheEntry)
		e.principal, e.expires = p, expires
		c.order.MoveToFront(el)
		return
	}
	c.entries[keyHash] = c.order.PushFront(&cacheEntry{hash: keyHash, principal: p, expires: expires})
	for c.order.Len() > c.max {
		c.removeLocked(c.order.Back())
	}
}

// Delete forgets keyHash, for an immediate effect on this replica when a
// key is revoked or rotated here.
func (c *KeyCache) Delete(keyHash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[keyHash]; ok {
		c.removeLocked(el)
	}
}

// Len is the number of entries, expired ones included until they are
// touched or evicted.
func (c *KeyCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// Prune drops every expired entry. Calling it is optional (the size bound
// holds without it); it returns memory sooner after a burst of keys.
func (c *KeyCache) Prune() {
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.order.Back(); el != nil; {
		prev := el.Prev()
		if !now.Before(el.Value.(*cacheEntry).expires) {
			c.removeLocked(el)
		}
		el = prev
	}
}

func (c *KeyCache) removeLocked(el *list.Element) {
	c.order.Remove(el)
	delete(c.entries, el.Value.(*cacheEntry).hash)
}
