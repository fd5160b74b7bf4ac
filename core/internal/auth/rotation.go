package auth

import "time"

// Reasons KeyUsable gives for refusing a key. They are stable strings, safe
// to return to clients and to log.
const (
	ReasonRevoked = "revoked"
	ReasonExpired = "expired"
	ReasonRotated = "rotated and past its grace period"
)

// KeyState is the lifecycle part of a stored API key. Nil means "not set".
type KeyState struct {
	// ExpiresAt is the hard end of the key's life, if it has one.
	ExpiresAt *time.Time
	// RevokedAt is set when an admin revokes the key; revocation is
	// immediate and final, whatever the time it records.
	RevokedAt *time.Time
	// GraceUntil is set when the key is rotated: the old key keeps working
	// until then, so clients can roll out the new key without downtime.
	GraceUntil *time.Time
}

// RotationDue reports whether a key created at created should be rotated
// under a policy of rotating every every. A non-positive every disables the
// policy.
func RotationDue(created time.Time, every time.Duration, now time.Time) bool {
	if every <= 0 {
		return false
	}
	return !now.Before(created.Add(every))
}

// KeyUsable decides whether a key in state k may authenticate at now. A
// revoked key never works, an expired key never works, a rotated key works
// until its GraceUntil (exclusive). reason is empty when ok.
func KeyUsable(k KeyState, now time.Time) (ok bool, reason string) {
	switch {
	case k.RevokedAt != nil:
		return false, ReasonRevoked
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return false, ReasonExpired
	case k.GraceUntil != nil && !now.Before(*k.GraceUntil):
		return false, ReasonRotated
	default:
		return true, ""
	}
}

// usableUntil is the earliest instant at which k stops being usable on its
// own (expiry or end of grace), zero if never. The key cache uses it so a
// cached principal never outlives its key.
func usableUntil(k KeyState) time.Time {
	var t time.Time
	for _, p := range []*time.Time{k.ExpiresAt, k.GraceUntil} {
		if p != nil && (t.IsZero() || p.Before(t)) {
			t = *p
		}
	}
	return t
}
