package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

const (
	// RefreshTokenPrefix starts every refresh token so scanners can spot
	// one and it is never mistaken for an API key.
	RefreshTokenPrefix = "of_rt_"
	// refreshSecretLen base62 characters ≈ 256 bits.
	refreshSecretLen = 43
	// DefaultRefreshTTL is the absolute lifetime of a refresh-token family.
	DefaultRefreshTTL = 30 * 24 * time.Hour
)

// NewRefreshToken makes an opaque refresh token: the plaintext goes to the
// client once, the hash (hex SHA-256, see HashKey for why a fast hash is
// right for high-entropy tokens) goes to the store.
func NewRefreshToken(rand io.Reader) (plaintext, hash string, err error) {
	s, err := randomBase62(rand, refreshSecretLen)
	if err != nil {
		return "", "", fmt.Errorf("auth: generating refresh token: %w", err)
	}
	pt := RefreshTokenPrefix + s
	return pt, HashRefreshToken(pt), nil
}

// HashRefreshToken is the store's lookup key for a refresh token.
func HashRefreshToken(plaintext string) string { return HashKey(plaintext) }

// RefreshRecord is what the store keeps for one refresh token.
type RefreshRecord struct {
	// Hash is HashRefreshToken(plaintext), the primary key.
	Hash string
	// FamilyID is shared by every token rotated from the same login.
	FamilyID  string
	UserID    string
	ProjectID string
	Role      Role
	// KeyID is the API key the family was started with, so Reauthorize can
	// end sessions of a revoked key.
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// RotatedAt is set when the token was exchanged for its successor.
	RotatedAt *time.Time
	// RevokedAt is set on every token of a revoked family.
	RevokedAt *time.Time
}

// RefreshStore is the persistence the refresh protocol needs (see doc.go).
type RefreshStore interface {
	// CreateRefreshToken inserts the first token of a new family.
	CreateRefreshToken(ctx context.Context, rec RefreshRecord) error
	// RefreshToken returns the token with this hash, or an error wrapping
	// ErrNotFound.
	RefreshToken(ctx context.Context, hash string) (RefreshRecord, error)
	// RotateRefreshToken atomically (one transaction) sets RotatedAt=at on
	// oldHash only if it is neither rotated nor revoked, and inserts next.
	// If the conditional update matches no row it inserts nothing and
	// returns an error wrapping ErrRefreshTokenReused.
	RotateRefreshToken(ctx context.Context, oldHash string, next RefreshRecord, at time.Time) error
	// RevokeRefreshFamily sets RevokedAt=at on every token of the family
	// that is not revoked yet.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
}

// SessionsConfig configures NewSessions.
type SessionsConfig struct {
	Issuer *Issuer
	Store  RefreshStore
	// RefreshTTL is the absolute lifetime of a family: rotation hands out
	// new tokens but never extends it, so a stolen-and-rotated chain dies
	// on schedule. Defaults to DefaultRefreshTTL.
	RefreshTTL time.Duration
	Clock      func() time.Time
	Rand       io.Reader
	// Reauthorize, if set, runs on every refresh and returns the
	// subject's current role, or an error to refuse the refresh (user
	// deleted, key revoked, membership removed). Without it the role of
	// the login is kept for the family's life.
	Reauthorize func(ctx context.Context, rec RefreshRecord) (Role, error)
}

// TokenPair is what /api/v1/auth/token and /api/v1/auth/refresh return.
type TokenPair struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// String redacts both tokens.
func (TokenPair) String() string { return "auth.TokenPair{<redacted>}" }

// GoString redacts both tokens for %#v too.
func (p TokenPair) GoString() string { return p.String() }

// Sessions runs the refresh-token protocol over a RefreshStore.
type Sessions struct {
	issuer      *Issuer
	store       RefreshStore
	ttl         time.Duration
	clock       func() time.Time
	rand        io.Reader
	reauthorize func(ctx context.Context, rec RefreshRecord) (Role, error)
}

// NewSessions builds Sessions.
func NewSessions(cfg SessionsConfig) (*Sessions, error) {
	if cfg.Issuer == nil || cfg.Store == nil {
		return nil, errors.New("auth: building sessions: issuer and store are required")
	}
	s := &Sessions{issuer: cfg.Issuer, store: cfg.Store, ttl: cfg.RefreshTTL, clock: cfg.Clock, rand: cfg.Rand, reauthorize: cfg.Reauthorize}
	if s.ttl <= 0 {
		s.ttl = DefaultRefreshTTL
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

// Start opens a new session (a new family) for a principal that has just
// authenticated with an API key.
func (s *Sessions) Start(ctx context.Context, p Principal) (TokenPair, error) {
	family, err := randomBase62(s.rand, 22) // ≈ 131 bits: unique, not secret
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth: starting session: family id: %w", err)
	}
	now := s.clock()
	rec := RefreshRecord{
		FamilyID:  family,
		UserID:    p.UserID,
		ProjectID: p.ProjectID,
		Role:      p.Role,
		KeyID:     p.KeyID,
		IssuedAt:  now,
		ExpiresAt: now.Add(s.ttl),
	}
	pt, hash, err := NewRefreshToken(s.rand)
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth: starting session: %w", err)
	}
	rec.Hash = hash
	access, exp, err := s.issuer.Issue(p.UserID, p.ProjectID, p.Role)
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth: starting session: %w", err)
	}
	if err := s.store.CreateRefreshToken(ctx, rec); err != nil {
		return TokenPair{}, fmt.Errorf("auth: starting session: storing refresh token: %w", err)
	}
	return TokenPair{AccessToken: access, AccessExpiresAt: exp, RefreshToken: pt, RefreshExpiresAt: rec.ExpiresAt}, nil
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token, retiring the old one. Presenting a retired token revokes
// its whole family and returns ErrRefreshTokenReused. Errors wrapping
// ErrInvalidRefreshToken or ErrRefreshTokenReused mean 401; others are
// store or reauthorization failures.
func (s *Sessions) Refresh(ctx context.Context, plaintext string) (TokenPair, error) {
	now := s.clock()
	hash := HashRefreshToken(plaintext)
	rec, err := s.store.RefreshToken(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return TokenPair{}, fmt.Errorf("auth: refreshing session: %w", ErrInvalidRefreshToken)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth: refreshing session: looking up token: %w", err)
	}
	switch {
	case rec.RevokedAt != nil:
		return TokenPair{}, fmt.Errorf("auth: refreshing session: %w: family revoked", ErrInvalidRefreshToken)
	case rec.RotatedAt != nil:
		return TokenPair{}, s.reused(ctx, rec.FamilyID, now)
	case !now.Before(rec.ExpiresAt):
		return TokenPair{}, fmt.Errorf("auth: refreshing session: %w: expired", ErrInvalidRefreshToken)
	}
	role := rec.Role
	if s.reauthorize != nil {
		if role, err = s.reauthorize(ctx, rec); err != nil {
			return TokenPair{}, fmt.Errorf("auth: refreshing session: reauthorizing subject: %w", err)
		}
	}
	pt, nextHash, err := NewRefreshToken(s.rand)
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth: refreshing session: %w", err)
	}
	next := rec
	next.Hash, next.Role, next.IssuedAt, next.RotatedAt, next.RevokedAt = nextHash, role, now, nil, nil
	access, exp, err := s.issuer.Issue(rec.UserID, rec.ProjectID, role)
	if err != nil {
		return TokenPair{}, fmt.Errorf("auth: refreshing session: %w", err)
	}
	if err := s.store.RotateRefreshToken(ctx, hash, next, now); err != nil {
		if errors.Is(err, ErrRefreshTokenReused) {
			// Lost the race against a concurrent use of the same
			// token: that is reuse too.
			return TokenPair{}, s.reused(ctx, rec.FamilyID, now)
		}
		return TokenPair{}, fmt.Errorf("auth: refreshing session: rotating token: %w", err)
	}
	return TokenPair{AccessToken: access, AccessExpiresAt: exp, RefreshToken: pt, RefreshExpiresAt: next.ExpiresAt}, nil
}

// Revoke ends the session a refresh token belongs to (logout). An unknown
// token is not an error: the session is gone either way.
func (s *Sessions) Revoke(ctx context.Context, plaintext string) error {
	rec, err := s.store.RefreshToken(ctx, HashRefreshToken(plaintext))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: revoking session: looking up token: %w", err)
	}
	if err := s.store.RevokeRefreshFamily(ctx, rec.FamilyID, s.clock()); err != nil {
		return fmt.Errorf("auth: revoking session: %w", err)
	}
	return nil
}

func (s *Sessions) reused(ctx context.Context, family string, now time.Time) error {
	if err := s.store.RevokeRefreshFamily(ctx, family, now); err != nil {
		return fmt.Errorf("auth: refreshing session: %w; revoking its family failed: %w", ErrRefreshTokenReused, err)
	}
	return fmt.Errorf("auth: refreshing session: %w: family revoked", ErrRefreshTokenReused)
}
