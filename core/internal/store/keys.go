package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// APIKey is a stored API key. The secret itself is never stored: Hash is
// whatever opaque digest the auth package computed, Prefix is the public,
// unique lookup part of the key.
type APIKey struct {
	ID        string
	Prefix    string
	Hash      string
	ProjectID string
	UserID    string // "" when the key belongs to no user
	Name      string
	Role      Role
	CreatedAt time.Time
	ExpiresAt *time.Time
	RevokedAt *time.Time
	// RotatedTo is the ID of the key that replaced this one; the old key
	// keeps working until GraceUntil.
	RotatedTo  string
	GraceUntil *time.Time
	LastUsedAt *time.Time
}

type apiKeyRow struct {
	ID         string `gorm:"primaryKey"`
	Prefix     string
	Hash       string
	ProjectID  string
	UserID     *string
	Name       string
	Role       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	RotatedTo  *string
	GraceUntil *time.Time
	LastUsedAt *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

func (r apiKeyRow) key() APIKey {
	return APIKey{
		ID: r.ID, Prefix: r.Prefix, Hash: r.Hash, ProjectID: r.ProjectID, UserID: deref(r.UserID),
		Name: r.Name, Role: Role(r.Role), CreatedAt: r.CreatedAt.UTC(), ExpiresAt: utcPtr(r.ExpiresAt),
		RevokedAt: utcPtr(r.RevokedAt), RotatedTo: deref(r.RotatedTo), GraceUntil: utcPtr(r.GraceUntil),
		LastUsedAt: utcPtr(r.LastUsedAt),
	}
}

// RefreshToken is one link of a refresh-token family. Hash is an opaque
// digest computed by the auth package.
type RefreshToken struct {
	ID         string
	UserID     string
	Hash       string
	FamilyID   string // every token rotated from the same sign-in shares it
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	ReplacedBy string // ID of the token this one was rotated into
}

type refreshRow struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	Hash       string
	FamilyID   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	ReplacedBy *string
}

func (refreshRow) TableName() string { return "refresh_tokens" }

func (r refreshRow) token() RefreshToken {
	return RefreshToken{
		ID: r.ID, UserID: r.UserID, Hash: r.Hash, FamilyID: r.FamilyID, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), RevokedAt: utcPtr(r.RevokedAt), ReplacedBy: deref(r.ReplacedBy),
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// InsertAPIKey stores k, generating its ID when empty. A taken prefix
// returns ErrConflict; an unknown project or user returns ErrNotFound.
func (s *Store) InsertAPIKey(ctx context.Context, k APIKey) (APIKey, error) {
	if k.Prefix == "" || k.Hash == "" || k.ProjectID == "" {
		return APIKey{}, fmt.Errorf("insert api key: prefix, hash and project are required: %w", ErrInvalidArgument)
	}
	now := s.stamp()
	if k.ID == "" {
		k.ID = newID("key", now)
	}
	row := apiKeyRow{
		ID: k.ID, Prefix: k.Prefix, Hash: k.Hash, ProjectID: k.ProjectID, UserID: ptr(k.UserID), Name: k.Name,
		Role: string(k.Role), CreatedAt: now, ExpiresAt: dbTimePtr(k.ExpiresAt), RevokedAt: dbTimePtr(k.RevokedAt),
		RotatedTo: ptr(k.RotatedTo), GraceUntil: dbTimePtr(k.GraceUntil), LastUsedAt: dbTimePtr(k.LastUsedAt),
	}
	err := s.wdb.WithContext(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return APIKey{}, fmt.Errorf("insert api key: unknown project or user: %w", ErrNotFound)
	}
	if err != nil {
		return APIKey{}, dbErr("insert api key", err)
	}
	return row.key(), nil
}

// GetAPIKeyByPrefix returns the key with prefix, revoked or not (the caller
// decides), or ErrNotFound.
func (s *Store) GetAPIKeyByPrefix(ctx context.Context, prefix string) (APIKey, error) {
	var row apiKeyRow
	if err := s.read(ctx).Take(&row, "prefix = ?", prefix).Error; err != nil {
		return APIKey{}, dbErr("get api key", err)
	}
	return row.key(), nil
}

// GetAPIKey returns the key with id, or ErrNotFound.
func (s *Store) GetAPIKey(ctx context.Context, id string) (APIKey, error) {
	var row apiKeyRow
	if err := s.read(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return APIKey{}, dbErr("get api key", err)
	}
	return row.key(), nil
}

// ListAPIKeys returns projectID's keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, projectID string) ([]APIKey, error) {
	var rows []apiKeyRow
	if err := s.read(ctx).Where("project_id = ?", projectID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, dbErr("list api keys", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// RevokeAPIKey marks the key revoked now. Revoking twice keeps the first
// time and succeeds; an unknown id returns ErrNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&apiKeyRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", s.stamp())
		if res.Error != nil {
			return dbErr("revoke api key", res.Error)
		}
		if res.RowsAffected == 1 {
			return nil
		}
		var n int64
		if err := tx.Model(&apiKeyRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return dbErr("revoke api key", err)
		}
		if n == 0 {
			return fmt.Errorf("revoke api key: %w", ErrNotFound)
		}
		return nil
	})
}

// MarkRotated records that newID replaced oldID; oldID stays valid until
// graceUntil (the auth package enforces that). Unknown ids return
// ErrNotFound.
func (s *Store) MarkRotated(ctx context.Context, oldID, newID string, graceUntil time.Time) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&apiKeyRow{}).Where("id = ?", newID).Count(&n).Error; err != nil {
			return dbErr("mark api key rotated", err)
		}
		if n == 0 {
			return fmt.Errorf("mark api key rotated: new key: %w", ErrNotFound)
		}
		res := tx.Model(&apiKeyRow{}).Where("id = ?", oldID).Updates(map[string]any{
			"rotated_to":  newID,
			"grace_until": dbTime(graceUntil),
		})
		if res.Error != nil {
			return dbErr("mark api key rotated", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("mark api key rotated: old key: %w", ErrNotFound)
		}
		return nil
	})
}

// TouchLastUsed sets last_used_at = at for the given keys, never moving it
// backwards. It is meant to be called in batches (say, once a minute with
// every key seen since), not per request.
func (s *Store) TouchLastUsed(ctx context.Context, at time.Time, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	at = dbTime(at)
	err := s.wdb.WithContext(ctx).Model(&apiKeyRow{}).
		Where("id IN ? AND (last_used_at IS NULL OR last_used_at < ?)", ids, at).
		Update("last_used_at", at).Error
	return dbErr("touch api keys", err)
}

// InsertRefreshToken stores t, generating its ID (and its FamilyID, for the
// first token of a sign-in) when empty.
func (s *Store) InsertRefreshToken(ctx context.Context, t RefreshToken) (RefreshToken, error) {
	if t.UserID == "" || t.Hash == "" || t.ExpiresAt.IsZero() {
		return RefreshToken{}, fmt.Errorf("insert refresh token: user, hash and expiry are required: %w", ErrInvalidArgument)
	}
	row := s.refreshRowFor(t)
	err := s.wdb.WithContext(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return RefreshToken{}, fmt.Errorf("insert refresh token: unknown user: %w", ErrNotFound)
	}
	if err != nil {
		return RefreshToken{}, dbErr("insert refresh token", err)
	}
	return row.token(), nil
}

func (s *Store) refreshRowFor(t RefreshToken) refreshRow {
	now := s.stamp()
	if t.ID == "" {
		t.ID = newID("rt", now)
	}
	if t.FamilyID == "" {
		t.FamilyID = t.ID
	}
	return refreshRow{
		ID: t.ID, UserID: t.UserID, Hash: t.Hash, FamilyID: t.FamilyID, CreatedAt: now,
		ExpiresAt: dbTime(t.ExpiresAt), RevokedAt: dbTimePtr(t.RevokedAt), ReplacedBy: ptr(t.ReplacedBy),
	}
}

// GetRefreshTokenByHash returns the token with hash, or ErrNotFound.
func (s *Store) GetRefreshTokenByHash(ctx context.Context, hash string) (RefreshToken, error) {
	var row refreshRow
	if err := s.read(ctx).Take(&row, "hash = ?", hash).Error; err != nil {
		return RefreshToken{}, dbErr("get refresh token", err)
	}
	return row.token(), nil
}

// RotateRefreshToken exchanges the token with oldHash for next (same user,
// same family; next.UserID and next.FamilyID are ignored) in one
// transaction. Presenting a token that was already rotated or revoked is
// treated as theft: the whole family is revoked and ErrRefreshTokenReused
// returned. That includes two concurrent rotations of one token: exactly
// one wins, the other revokes the family. An expired token returns
// ErrRefreshTokenExpired; an unknown one ErrNotFound.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken) (RefreshToken, error) {
	if next.Hash == "" || next.ExpiresAt.IsZero() {
		return RefreshToken{}, fmt.Errorf("rotate refresh token: hash and expiry are required: %w", ErrInvalidArgument)
	}
	var out RefreshToken
	reused := false
	err := s.write(ctx, func(tx *gorm.DB) error {
		var old refreshRow
		// FOR UPDATE serializes rotations of one token on PostgreSQL;
		// SQLite ignores it and is serialized by its single writer.
		err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&old, "hash = ?", oldHash).Error
		if err != nil {
			return dbErr("rotate refresh token", err)
		}
		now := s.stamp()
		if old.RevokedAt != nil || old.ReplacedBy != nil {
			reused = true
			// Commit the family revocation, then report the reuse.
			return revokeFamily(tx, old.FamilyID, now)
		}
		if !now.Before(old.ExpiresAt) {
			return fmt.Errorf("rotate refresh token: %w", ErrRefreshTokenExpired)
		}
		next.UserID, next.FamilyID, next.RevokedAt, next.ReplacedBy = old.UserID, old.FamilyID, nil, ""
		row := s.refreshRowFor(next)
		if err := tx.Create(&row).Error; err != nil {
			return dbErr("rotate refresh token: insert successor", err)
		}
		res := tx.Model(&refreshRow{}).Where("id = ? AND replaced_by IS NULL AND revoked_at IS NULL", old.ID).
			Updates(map[string]any{"revoked_at": now, "replaced_by": row.ID})
		if res.Error != nil {
			return dbErr("rotate refresh token: retire predecessor", res.Error)
		}
		if res.RowsAffected != 1 {
			// Unreachable under the row lock / single writer; fail safe.
			return fmt.Errorf("rotate refresh token: token changed concurrently: %w", ErrRefreshTokenReused)
		}
		out = row.token()
		return nil
	})
	if err != nil {
		return RefreshToken{}, err
	}
	if reused {
		return RefreshToken{}, fmt.Errorf("rotate refresh token: %w", ErrRefreshTokenReused)
	}
	return out, nil
}

// RevokeRefreshFamily revokes every live token of familyID (sign-out, or a
// detected reuse). Revoking an unknown or already revoked family succeeds.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return revokeFamily(tx, familyID, s.stamp())
	})
}

func revokeFamily(tx *gorm.DB, familyID string, now time.Time) error {
	err := tx.Model(&refreshRow{}).Where("family_id = ? AND revoked_at IS NULL", familyID).Update("revoked_at", now).Error
	return dbErr("revoke refresh token family", err)
}
