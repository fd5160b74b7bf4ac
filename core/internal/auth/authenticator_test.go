package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// memKeys is an in-memory KeyStore that counts lookups.
type memKeys struct {
	mu      sync.Mutex
	byID    map[string]KeyRecord
	lookups int
	err     error
}

func (m *memKeys) KeyByPrefix(_ context.Context, prefix string) (KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	if m.err != nil {
		return KeyRecord{}, m.err
	}
	rec, ok := m.byID[prefix]
	if !ok {
		return KeyRecord{}, ErrNotFound
	}
	return rec, nil
}

func (m *memKeys) update(prefix string, f func(*KeyRecord)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.byID[prefix]
	f(&rec)
	m.byID[prefix] = rec
}

func (m *memKeys) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookups
}

func newKeyFixture(t *testing.T, clock *fakeClock) (*memKeys, Key) {
	t.Helper()
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	store := &memKeys{byID: map[string]KeyRecord{k.Prefix: {
		ID: "key-1", Prefix: k.Prefix, Hash: k.Hash, UserID: "user-1", ProjectID: "proj-1",
		Role: RoleMember, CreatedAt: clock.Now(),
	}}}
	return store, k
}

func TestAuthenticateKey(t *testing.T) {
	clock := newFakeClock()
	other, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	tests := []struct {
		name      string
		mutate    func(*KeyRecord)
		storeErr  error
		plaintext func(k Key) string
		wantErr   error
		wantText  string
	}{
		{"valid", nil, nil, func(k Key) string { return k.Plaintext }, nil, ""},
		{"in rotation grace", func(r *KeyRecord) { r.State.GraceUntil = ptr(clock.Now().Add(time.Hour)) }, nil, func(k Key) string { return k.Plaintext }, nil, ""},
		{"malformed", nil, nil, func(Key) string { return "Bearer nonsense" }, ErrInvalidKey, "malformed"},
		{"unknown prefix", nil, nil, func(Key) string { return other.Plaintext }, ErrInvalidKey, other.Prefix},
		{"right prefix wrong secret", nil, nil, func(k Key) string { return KeyPrefix + k.Prefix + "_" + strings.Repeat("Z", 32) }, ErrInvalidKey, ""},
		{"revoked", func(r *KeyRecord) { r.State.RevokedAt = ptr(clock.Now()) }, nil, func(k Key) string { return k.Plaintext }, ErrKeyUnusable, ReasonRevoked},
		{"expired", func(r *KeyRecord) { r.State.ExpiresAt = ptr(clock.Now().Add(-time.Second)) }, nil, func(k Key) string { return k.Plaintext }, ErrKeyUnusable, ReasonExpired},
		{"grace over", func(r *KeyRecord) { r.State.GraceUntil = ptr(clock.Now()) }, nil, func(k Key) string { return k.Plaintext }, ErrKeyUnusable, ReasonRotated},
		{"bad stored role", func(r *KeyRecord) { r.Role = "superuser" }, nil, func(k Key) string { return k.Plaintext }, ErrUnknownRole, ""},
		{"store down", nil, errors.New("connection refused"), func(k Key) string { return k.Plaintext }, nil, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, k := newKeyFixture(t, clock)
			if tt.mutate != nil {
				store.update(k.Prefix, tt.mutate)
			}
			store.err = tt.storeErr
			a, err := NewAuthenticator(AuthenticatorConfig{Store: store, Cache: NewKeyCache(0, clock.Now), Clock: clock.Now})
			if err != nil {
				t.Fatalf("NewAuthenticator: %v", err)
			}
			pt := tt.plaintext(k)
			p, err := a.AuthenticateKey(context.Background(), pt)
			if tt.wantErr == nil && tt.wantText == "" {
				if err != nil {
					t.Fatalf("AuthenticateKey: %v", err)
				}
				if p.UserID != "user-1" || p.ProjectID != "proj-1" || p.Role != RoleMember || p.KeyID != "key-1" || p.KeyPrefix != k.Prefix {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, principal %+v", p)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want text %q", err, tt.wantText)
			}
			assertNoSecrets(t, err, pt, pt[min(len(pt), len(KeyPrefix)+KeyIDLen+1):], k.Plaintext, k.Hash)
		})
	}
}

func TestAuthenticateMalformedSkipsStore(t *testing.T) {
	store := &memKeys{byID: map[string]KeyRecord{}}
	a, err := NewAuthenticator(AuthenticatorConfig{Store: store})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	for _, s := range []string{"", "of_live_", "sk-proj-abc", strings.Repeat("x", 4096)} {
		if _, err := a.AuthenticateKey(context.Background(), s); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("AuthenticateKey(%q) err = %v", s, err)
		}
	}
	if store.count() != 0 {
		t.Fatalf("malformed keys caused %d store lookups", store.count())
	}
	if _, err := NewAuthenticator(AuthenticatorConfig{}); err == nil {
		t.Fatal("NewAuthenticator without a store succeeded")
	}
}

// TestRevocationPropagation is the cross-replica promise: a replica that
// cached a key keeps serving it at most the cache TTL after revocation.
func TestRevocationPropagation(t *testing.T) {
	clock := newFakeClock()
	store, k := newKeyFixture(t, clock)
	a, err := NewAuthenticator(AuthenticatorConfig{Store: store, Cache: NewKeyCache(10*time.Second, clock.Now), Clock: clock.Now})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	ctx := context.Background()
	if _, err := a.AuthenticateKey(ctx, k.Plaintext); err != nil {
		t.Fatalf("first AuthenticateKey: %v", err)
	}
	if _, err := a.AuthenticateKey(ctx, k.Plaintext); err != nil || store.count() != 1 {
		t.Fatalf("second call: err %v, lookups %d (want served from cache)", err, store.count())
	}

	clock.Advance(2 * time.Second)
	store.update(k.Prefix, func(r *KeyRecord) { r.State.RevokedAt = ptr(clock.Now()) }) // revoked by another replica

	clock.Advance(7 * time.Second) // 9 s after caching: still cached here
	if _, err := a.AuthenticateKey(ctx, k.Plaintext); err != nil {
		t.Fatalf("within ttl: %v (the cache should still serve it)", err)
	}
	clock.Advance(time.Second) // 10 s after caching: must be refused
	if _, err := a.AuthenticateKey(ctx, k.Plaintext); !errors.Is(err, ErrKeyUnusable) {
		t.Fatalf("after ttl: err = %v, want ErrKeyUnusable", err)
	}
	// Failures are not cached: every later attempt asks the store.
	before := store.count()
	_, _ = a.AuthenticateKey(ctx, k.Plaintext)
	if store.count() != before+1 {
		t.Fatal("a refused key was cached")
	}
}

func TestGraceEndNotExtendedByCache(t *testing.T) {
	clock := newFakeClock()
	store, k := newKeyFixture(t, clock)
	store.update(k.Prefix, func(r *KeyRecord) { r.State.GraceUntil = ptr(clock.Now().Add(3 * time.Second)) })
	a, err := NewAuthenticator(AuthenticatorConfig{Store: store, Cache: NewKeyCache(10*time.Second, clock.Now), Clock: clock.Now})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	if _, err := a.AuthenticateKey(context.Background(), k.Plaintext); err != nil {
		t.Fatalf("in grace: %v", err)
	}
	clock.Advance(3 * time.Second)
	if _, err := a.AuthenticateKey(context.Background(), k.Plaintext); !errors.Is(err, ErrKeyUnusable) {
		t.Fatalf("after grace: err = %v, want ErrKeyUnusable (cache must not outlive the grace period)", err)
	}
}

func TestBootstrapAdminKey(t *testing.T) {
	const adminKey = "bootstrap-admin-secret-value"
	store := &memKeys{byID: map[string]KeyRecord{}}
	a, err := NewAuthenticator(AuthenticatorConfig{Store: store, AdminKey: adminKey})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	p, err := a.AuthenticateKey(context.Background(), adminKey)
	if err != nil || p.Role != RoleAdmin || p.UserID != BootstrapAdminUserID {
		t.Fatalf("admin key: %+v, %v", p, err)
	}
	for _, s := range []string{adminKey + "x", adminKey[:len(adminKey)-1], ""} {
		_, err := a.AuthenticateKey(context.Background(), s)
		if err == nil {
			t.Fatalf("near miss %q accepted", s)
		}
		assertNoSecrets(t, err, adminKey, s)
	}
	noAdmin, err := NewAuthenticator(AuthenticatorConfig{Store: store})
	if err != nil {
		t.Fatalf("NewAuthenticator: %v", err)
	}
	if _, err := noAdmin.AuthenticateKey(context.Background(), ""); err == nil {
		t.Fatal("empty key accepted when no admin key is configured")
	}
}
