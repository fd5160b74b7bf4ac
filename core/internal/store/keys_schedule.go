package store

import (
	"context"
	"time"
)

// ScheduleKeyExpiry gives every live API key created before createdBefore
// that is not already on its way out (not revoked, no grace period set) a
// grace period ending at graceUntil, and returns the keys it changed. It is
// the scheduled half of key rotation: such keys keep working until
// graceUntil and then stop, and their owners rotate them (or create new
// ones) in the meantime.
//
// It is one conditional UPDATE ... RETURNING, so replicas running it at the
// same time each report only the keys they changed, and a key is never
// scheduled twice.
func (s *Store) ScheduleKeyExpiry(ctx context.Context, createdBefore, graceUntil time.Time) ([]APIKey, error) {
	var rows []apiKeyRow
	err := s.wdb.WithContext(ctx).Raw(
		`UPDATE api_keys SET grace_until = ?
		WHERE created_at < ? AND revoked_at IS NULL AND grace_until IS NULL
		RETURNING id, prefix, hash, project_id, user_id, name, role, created_at, expires_at, revoked_at, rotated_to, grace_until, last_used_at`,
		dbTime(graceUntil), dbTime(createdBefore)).Scan(&rows).Error
	if err != nil {
		return nil, dbErr("schedule api key expiry", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}
