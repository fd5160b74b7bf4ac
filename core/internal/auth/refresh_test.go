package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// memRefresh is an in-memory RefreshStore implementing the contract the
// real store must: RotateRefreshToken is a compare-and-swap.
type memRefresh struct {
	mu   sync.Mutex
	recs map[string]RefreshRecord
	err  error // injected failure for every call
}

func newMemRefresh() *memRefresh { return &memRefresh{recs: map[string]RefreshRecord{}} }

func (m *memRefresh) CreateRefreshToken(_ context.Context, rec RefreshRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.recs[rec.Hash] = rec
	return nil
}

func (m *memRefresh) RefreshToken(_ context.Context, hash string) (RefreshRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return RefreshRecord{}, m.err
	}
	rec, ok := m.recs[hash]
	if !ok {
		return RefreshRecord{}, fmt.Errorf("refresh token: %w", ErrNotFound)
	}
	return rec, nil
}

func (m *memRefresh) RotateRefreshToken(_ context.Context, oldHash string, next RefreshRecord, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	old, ok := m.recs[oldHash]
	if !ok || old.RotatedAt != nil || old.RevokedAt != nil {
		return ErrRefreshTokenReused
	}
	old.RotatedAt = &at
	m.recs[oldHash] = old
	m.recs[next.Hash] = next
	return nil
}

func (m *memRefresh) RevokeRefreshFamily(_ context.Context, family string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	for h, r := range m.recs {
		if r.FamilyID == family && r.RevokedAt == nil {
			r.RevokedAt = &at
			m.recs[h] = r
		}
	}
	return nil
}

func newSessionsFixture(t *testing.T, clock *fakeClock, mod func(*SessionsConfig)) (*Sessions, *memRefresh, *Issuer) {
	t.Helper()
	iss, err := NewIssuer(IssuerConfig{Algorithm: "HS256", Secret: []byte(testSecret), Clock: clock.Now})
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	store := newMemRefresh()
	cfg := SessionsConfig{Issuer: iss, Store: store, RefreshTTL: 24 * time.Hour, Clock: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSessions(cfg)
	if err != nil {
		t.Fatalf("NewSessions: %v", err)
	}
	return s, store, iss
}

var member = Principal{UserID: "user-1", ProjectID: "proj-1", Role: RoleMember, KeyID: "key-1"}

func TestNewRefreshToken(t *testing.T) {
	shape := regexp.MustCompile(`^of_rt_[0-9A-Za-z]{43}$`)
	seen := map[string]bool{}
	for i := 0; i < 500; i++ {
		pt, hash, err := NewRefreshToken(rand.Reader)
		if err != nil {
			t.Fatalf("NewRefreshToken: %v", err)
		}
		if !shape.MatchString(pt) || hash != HashRefreshToken(pt) || seen[pt] {
			t.Fatalf("bad or duplicate token %q / %q", pt, hash)
		}
		if _, ok := ParseKey(pt); ok {
			t.Fatal("a refresh token parses as an API key")
		}
		seen[pt] = true
	}
}

func TestSessionsStartAndRefresh(t *testing.T) {
	clock := newFakeClock()
	s, store, iss := newSessionsFixture(t, clock, nil)
	ctx := context.Background()

	first, err := s.Start(ctx, member)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if c, err := iss.Verify(first.AccessToken); err != nil || c.UserID != "user-1" || c.Role != RoleMember || c.ProjectID != "proj-1" {
		t.Fatalf("access token: %+v, %v", c, err)
	}
	if !first.RefreshExpiresAt.Equal(clock.Now().Add(24 * time.Hour)) {
		t.Fatalf("refresh expiry %v", first.RefreshExpiresAt)
	}
	rec, err := store.RefreshToken(ctx, HashRefreshToken(first.RefreshToken))
	if err != nil || rec.KeyID != "key-1" || rec.FamilyID == "" {
		t.Fatalf("stored record %+v, %v", rec, err)
	}
	for _, r := range store.recs {
		if strings.Contains(fmt.Sprintf("%+v", r), first.RefreshToken) {
			t.Fatal("store holds the plaintext refresh token")
		}
	}

	clock.Advance(time.Hour)
	second, err := s.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	if !second.RefreshExpiresAt.Equal(first.RefreshExpiresAt) {
		t.Fatalf("rotation extended the family: %v, want %v", second.RefreshExpiresAt, first.RefreshExpiresAt)
	}
	next, _ := store.RefreshToken(ctx, HashRefreshToken(second.RefreshToken))
	if next.FamilyID != rec.FamilyID {
		t.Fatal("successor is in another family")
	}

	clock.Advance(time.Hour)
	third, err := s.Refresh(ctx, second.RefreshToken)
	if err != nil {
		t.Fatalf("second Refresh: %v", err)
	}

	// Logout revokes the family.
	if err := s.Revoke(ctx, third.RefreshToken); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := s.Refresh(ctx, third.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
		t.Fatalf("refresh after logout: %v", err)
	}
	if err := s.Revoke(ctx, "of_rt_unknown"); err != nil {
		t.Fatalf("Revoke of an unknown token: %v", err)
	}
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	clock := newFakeClock()
	s, _, _ := newSessionsFixture(t, clock, nil)
	ctx := context.Background()
	first, err := s.Start(ctx, member)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	other, err := s.Start(ctx, member) // another login, another family
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	second, err := s.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	// The thief (or a buggy client) replays the rotated token.
	_, err = s.Refresh(ctx, first.RefreshToken)
	if !errors.Is(err, ErrRefreshTokenReused) {
		t.Fatalf("replay err = %v, want ErrRefreshTokenReused", err)
	}
	assertNoSecrets(t, err, first.RefreshToken, second.RefreshToken)
	// The whole family is dead, including the legitimate successor...
	if _, err := s.Refresh(ctx, second.RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
		t.Fatalf("successor after reuse: err = %v, want ErrInvalidRefreshToken", err)
	}
	// ...but other sessions are untouched.
	if _, err := s.Refresh(ctx, other.RefreshToken); err != nil {
		t.Fatalf("unrelated family: %v", err)
	}
}

func TestRefreshConcurrentUseOneWinner(t *testing.T) {
	clock := newFakeClock()
	s, _, _ := newSessionsFixture(t, clock, nil)
	ctx := context.Background()
	first, err := s.Start(ctx, member)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	pairs := make([]TokenPair, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			pairs[i], results[i] = s.Refresh(ctx, first.RefreshToken)
		}(i)
	}
	close(start)
	wg.Wait()
	wins, reuses, winner := 0, 0, -1
	for i, err := range results {
		switch {
		case err == nil:
			wins, winner = wins+1, i
		case errors.Is(err, ErrRefreshTokenReused):
			reuses++
		case errors.Is(err, ErrInvalidRefreshToken):
			// Arrived after the family was already revoked.
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent refreshes of one token succeeded, want exactly 1", wins)
	}
	if reuses == 0 {
		t.Fatal("no loser reported reuse")
	}
	// Someone replayed the token, so the winner's successor died with the
	// family.
	if _, err := s.Refresh(ctx, pairs[winner].RefreshToken); !errors.Is(err, ErrInvalidRefreshToken) {
		t.Fatalf("winner's successor after reuse: err = %v", err)
	}
}

func TestRefreshRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(t *testing.T, s *Sessions, store *memRefresh, clock *fakeClock) string
		wantErr error
		text    string
	}{
		{"unknown", func(*testing.T, *Sessions, *memRefresh, *fakeClock) string { return "of_rt_nope" }, ErrInvalidRefreshToken, ""},
		{"empty", func(*testing.T, *Sessions, *memRefresh, *fakeClock) string { return "" }, ErrInvalidRefreshToken, ""},
		{"an access token", func(t *testing.T, s *Sessions, _ *memRefresh, _ *fakeClock) string {
			p, err := s.Start(ctx, member)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			return p.AccessToken
		}, ErrInvalidRefreshToken, ""},
		{"expired family", func(t *testing.T, s *Sessions, _ *memRefresh, clock *fakeClock) string {
			p, err := s.Start(ctx, member)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			clock.Advance(24 * time.Hour)
			return p.RefreshToken
		}, ErrInvalidRefreshToken, "expired"},
		{"store down", func(t *testing.T, s *Sessions, store *memRefresh, _ *fakeClock) string {
			p, err := s.Start(ctx, member)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			store.err = errors.New("db unreachable")
			return p.RefreshToken
		}, nil, "db unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s, store, _ := newSessionsFixture(t, clock, nil)
			pt := tt.setup(t, s, store, clock)
			_, err := s.Refresh(ctx, pt)
			if err == nil {
				t.Fatal("Refresh succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v, want text %q", err, tt.text)
			}
			assertNoSecrets(t, err, pt, testSecret)
		})
	}
}

func TestRefreshReauthorize(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	role, deny := RoleMember, error(nil)
	clock := newFakeClock()
	s, _, iss := newSessionsFixture(t, clock, func(c *SessionsConfig) {
		c.Reauthorize = func(_ context.Context, rec RefreshRecord) (Role, error) {
			mu.Lock()
			defer mu.Unlock()
			if rec.KeyID != "key-1" {
				return "", errors.New("wrong record")
			}
			return role, deny
		}
	})
	p, err := s.Start(ctx, member)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	mu.Lock()
	role = RoleViewer // demoted
	mu.Unlock()
	p, err = s.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if c, err := iss.Verify(p.AccessToken); err != nil || c.Role != RoleViewer {
		t.Fatalf("after demotion: %+v, %v", c, err)
	}
	mu.Lock()
	deny = fmt.Errorf("key revoked: %w", ErrKeyUnusable)
	mu.Unlock()
	if _, err := s.Refresh(ctx, p.RefreshToken); !errors.Is(err, ErrKeyUnusable) {
		t.Fatalf("after key revocation: %v", err)
	}
}

func TestNewSessionsRequiresDeps(t *testing.T) {
	if _, err := NewSessions(SessionsConfig{}); err == nil {
		t.Fatal("NewSessions without issuer and store succeeded")
	}
}
