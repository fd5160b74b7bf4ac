package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AuthRefreshToken is one refresh token as the auth package's rotation
// protocol keeps it (see auth.RefreshStore), in the auth_refresh_tokens
// table. Hash is an opaque digest computed by the auth package; UserID is
// the token's subject, which need not be a row of users (an API key without
// a user, or the bootstrap admin key, can start a session too).
type AuthRefreshToken struct {
	Hash      string
	FamilyID  string
	UserID    string
	ProjectID string
	Role      Role
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// RotatedAt is set when the token was exchanged for its successor.
	RotatedAt *time.Time
	// RevokedAt is set on every token of a revoked family.
	RevokedAt *time.Time
}

type authRefreshRow struct {
	Hash      string `gorm:"primaryKey"`
	FamilyID  string
	UserID    string
	ProjectID string
	Role      string
	KeyID     string
	IssuedAt  time.Time
	ExpiresAt time.Time
	RotatedAt *time.Time
	RevokedAt *time.Time
}

func (authRefreshRow) TableName() string { return "auth_refresh_tokens" }

func (r authRefreshRow) token() AuthRefreshToken {
	return AuthRefreshToken{
		Hash: r.Hash, FamilyID: r.FamilyID, UserID: r.UserID, ProjectID: r.ProjectID, Role: Role(r.Role),
		KeyID: r.KeyID, IssuedAt: r.IssuedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		RotatedAt: utcPtr(r.RotatedAt), RevokedAt: utcPtr(r.RevokedAt),
	}
}

func authRefreshRowFor(t AuthRefreshToken) (authRefreshRow, error) {
	if t.Hash == "" || t.FamilyID == "" || t.ExpiresAt.IsZero() || t.IssuedAt.IsZero() {
		return authRefreshRow{}, fmt.Errorf("hash, family, issue and expiry times are required: %w", ErrInvalidArgument)
	}
	if !t.Role.Valid() {
		return authRefreshRow{}, fmt.Errorf("role %q: %w", t.Role, ErrInvalidArgument)
	}
	return authRefreshRow{
		Hash: t.Hash, FamilyID: t.FamilyID, UserID: t.UserID, ProjectID: t.ProjectID, Role: string(t.Role),
		KeyID: t.KeyID, IssuedAt: dbTime(t.IssuedAt), ExpiresAt: dbTime(t.ExpiresAt),
		RotatedAt: dbTimePtr(t.RotatedAt), RevokedAt: dbTimePtr(t.RevokedAt),
	}, nil
}

// CreateAuthRefreshToken inserts the first token of a new family. A taken
// hash returns ErrConflict.
func (s *Store) CreateAuthRefreshToken(ctx context.Context, t AuthRefreshToken) error {
	row, err := authRefreshRowFor(t)
	if err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return dbErr("create refresh token", s.wdb.WithContext(ctx).Create(&row).Error)
}

// AuthRefreshTokenByHash returns the token with hash, rotated, revoked or
// expired (the caller decides), or ErrNotFound.
func (s *Store) AuthRefreshTokenByHash(ctx context.Context, hash string) (AuthRefreshToken, error) {
	var rows []authRefreshRow
	// A stale read is harmless: RotateAuthRefreshToken's compare-and-swap
	// is what decides.
	if err := s.read(ctx).Where("hash = ?", hash).Limit(1).Find(&rows).Error; err != nil {
		return AuthRefreshToken{}, dbErr("get refresh token", err)
	}
	if len(rows) == 0 {
		return AuthRefreshToken{}, fmt.Errorf("get refresh token: %w", ErrNotFound)
	}
	return rows[0].token(), nil
}

// RotateAuthRefreshToken retires oldHash and inserts next in one
// transaction. The retirement is a compare-and-swap: rotated_at = at only
// where the old token is neither rotated nor revoked. When it matches no
// row (the token was used before, or a concurrent rotation won), nothing is
// inserted and the error wraps ErrRefreshTokenReused; the caller then
// revokes the family. The row lock the UPDATE takes on PostgreSQL, and the
// single writer on SQLite, make two racing rotations of one token end with
// exactly one success.
func (s *Store) RotateAuthRefreshToken(ctx context.Context, oldHash string, next AuthRefreshToken, at time.Time) error {
	row, err := authRefreshRowFor(next)
	if err != nil {
		return fmt.Errorf("rotate refresh token: %w", err)
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&authRefreshRow{}).
			Where("hash = ? AND rotated_at IS NULL AND revoked_at IS NULL", oldHash).
			Update("rotated_at", dbTime(at))
		if res.Error != nil {
			return dbErr("rotate refresh token: retire predecessor", res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("rotate refresh token: %w", ErrRefreshTokenReused)
		}
		return dbErr("rotate refresh token: insert successor", tx.Create(&row).Error)
	})
}

// RevokeAuthRefreshFamily sets revoked_at = at on every token of familyID
// not revoked yet. An unknown or already revoked family is not an error.
func (s *Store) RevokeAuthRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	err := s.wdb.WithContext(ctx).Model(&authRefreshRow{}).
		Where("family_id = ? AND revoked_at IS NULL", familyID).Update("revoked_at", dbTime(at)).Error
	return dbErr("revoke refresh token family", err)
}

// DeleteAuthRefreshTokensExpiredBefore deletes tokens whose family expired
// before t (they can never be used again, and reuse detection no longer
// matters for them) and returns how many it deleted.
func (s *Store) DeleteAuthRefreshTokensExpiredBefore(ctx context.Context, t time.Time) (int64, error) {
	res := s.wdb.WithContext(ctx).Where("expires_at < ?", dbTime(t)).Delete(&authRefreshRow{})
	if res.Error != nil {
		return 0, dbErr("delete expired refresh tokens", res.Error)
	}
	return res.RowsAffected, nil
}
