package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/clocktest"
)

func TestKeyCacheTTL(t *testing.T) {
	clock := newFakeClock()
	p := Principal{UserID: "u1", Role: RoleMember}
	tests := []struct {
		name      string
		ttl       time.Duration
		principal Principal
		after     time.Duration
		hit       bool
	}{
		{"fresh", 10 * time.Second, p, 0, true},
		{"just inside ttl", 10 * time.Second, p, 10*time.Second - time.Nanosecond, true},
		{"at ttl", 10 * time.Second, p, 10 * time.Second, false},
		{"past ttl", 10 * time.Second, p, time.Minute, false},
		{"default ttl is 10s, inside", 0, p, 9 * time.Second, true},
		{"default ttl is 10s, past", 0, p, 10 * time.Second, false},
		{"capped by key expiry", 10 * time.Second, Principal{UserID: "u1", ExpiresAt: clock.Now().Add(3 * time.Second)}, 3 * time.Second, false},
		{"key expiry after ttl does not extend", 10 * time.Second, Principal{UserID: "u1", ExpiresAt: clock.Now().Add(time.Hour)}, 10 * time.Second, false},
		{"already expired key is not cached", 10 * time.Second, Principal{UserID: "u1", ExpiresAt: clock.Now().Add(-time.Second)}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clocktest.New(clock.Now())
			cache := NewKeyCache(tt.ttl, c.Now)
			cache.Put("h", tt.principal)
			c.Advance(tt.after)
			got, ok := cache.Get("h")
			if ok != tt.hit {
				t.Fatalf("hit = %v, want %v", ok, tt.hit)
			}
			if ok && got != tt.principal {
				t.Fatalf("got %+v", got)
			}
			if !ok && cache.Len() != 0 {
				t.Fatalf("expired entry kept after Get: Len = %d", cache.Len())
			}
		})
	}
	if NewKeyCache(0, nil).TTL() != DefaultKeyCacheTTL || DefaultKeyCacheTTL != 10*time.Second {
		t.Fatal("default ttl is not 10s")
	}
}

func TestKeyCachePutRefreshes(t *testing.T) {
	clock := newFakeClock()
	cache := NewKeyCache(10*time.Second, clock.Now)
	cache.Put("h", Principal{UserID: "old"})
	clock.Advance(8 * time.Second)
	cache.Put("h", Principal{UserID: "new"})
	clock.Advance(8 * time.Second)
	if p, ok := cache.Get("h"); !ok || p.UserID != "new" {
		t.Fatalf("Get = %+v, %v", p, ok)
	}
	if cache.Len() != 1 {
		t.Fatalf("Len = %d", cache.Len())
	}
}

func TestKeyCacheDelete(t *testing.T) {
	cache := NewKeyCache(time.Minute, nil)
	cache.Put("h", Principal{UserID: "u"})
	cache.Delete("h")
	cache.Delete("missing")
	if _, ok := cache.Get("h"); ok {
		t.Fatal("deleted entry still served")
	}
}

func TestKeyCacheLRUBound(t *testing.T) {
	clock := newFakeClock()
	cache := newKeyCache(time.Minute, clock.Now, 3)
	for _, h := range []string{"a", "b", "c"} {
		cache.Put(h, Principal{UserID: h})
	}
	cache.Get("a") // a is now most recently used; b is the oldest
	cache.Put("d", Principal{UserID: "d"})
	if cache.Len() != 3 {
		t.Fatalf("Len = %d, want 3", cache.Len())
	}
	for h, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := cache.Get(h); ok != want {
			t.Errorf("Get(%q) hit = %v, want %v", h, ok, want)
		}
	}
	big := NewKeyCache(time.Minute, clock.Now)
	for i := 0; i < DefaultKeyCacheSize+50; i++ {
		big.Put(fmt.Sprint(i), Principal{})
	}
	if big.Len() != DefaultKeyCacheSize {
		t.Fatalf("Len = %d, want bound %d", big.Len(), DefaultKeyCacheSize)
	}
}

func TestKeyCachePrune(t *testing.T) {
	clock := newFakeClock()
	cache := NewKeyCache(10*time.Second, clock.Now)
	cache.Put("old1", Principal{})
	cache.Put("old2", Principal{})
	clock.Advance(6 * time.Second)
	cache.Put("new", Principal{})
	clock.Advance(5 * time.Second)
	cache.Prune()
	if cache.Len() != 1 {
		t.Fatalf("Len after prune = %d, want 1", cache.Len())
	}
	if _, ok := cache.Get("new"); !ok {
		t.Fatal("live entry pruned")
	}
}

func TestKeyCacheConcurrent(t *testing.T) {
	clock := newFakeClock()
	cache := newKeyCache(time.Second, clock.Now, 64)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				h := fmt.Sprint(i % 100)
				switch i % 5 {
				case 0:
					cache.Put(h, Principal{UserID: h})
				case 1:
					cache.Delete(h)
				case 2:
					cache.Prune()
				case 3:
					clock.Advance(time.Millisecond)
				default:
					if p, ok := cache.Get(h); ok && p.UserID != h {
						t.Errorf("Get(%q) returned %q", h, p.UserID)
					}
				}
			}
		}(g)
	}
	wg.Wait()
	if cache.Len() > 64 {
		t.Fatalf("Len = %d exceeds bound", cache.Len())
	}
}
