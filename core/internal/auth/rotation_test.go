package auth

import (
	"testing"
	"time"
)

func TestRotationDue(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name  string
		every time.Duration
		now   time.Time
		want  bool
	}{
		{"fresh", 90 * day, created.Add(day), false},
		{"just before", 90 * day, created.Add(90*day - time.Nanosecond), false},
		{"exactly due", 90 * day, created.Add(90 * day), true},
		{"overdue", 90 * day, created.Add(200 * day), true},
		{"policy disabled", 0, created.Add(1000 * day), false},
		{"negative disables", -day, created.Add(1000 * day), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RotationDue(created, tt.every, tt.now); got != tt.want {
				t.Fatalf("RotationDue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKeyUsable(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	tests := []struct {
		name   string
		k      KeyState
		ok     bool
		reason string
	}{
		{"plain key", KeyState{}, true, ""},
		{"expires later", KeyState{ExpiresAt: &future}, true, ""},
		{"expired", KeyState{ExpiresAt: &past}, false, ReasonExpired},
		{"expires exactly now", KeyState{ExpiresAt: ptr(now)}, false, ReasonExpired},
		{"revoked", KeyState{RevokedAt: &past}, false, ReasonRevoked},
		{"revoked with a future time is still revoked", KeyState{RevokedAt: &future}, false, ReasonRevoked},
		{"rotated, in grace", KeyState{GraceUntil: &future}, true, ""},
		{"rotated, grace ends now", KeyState{GraceUntil: ptr(now)}, false, ReasonRotated},
		{"rotated, grace over", KeyState{GraceUntil: &past}, false, ReasonRotated},
		{"rotated in grace but revoked", KeyState{GraceUntil: &future, RevokedAt: &past}, false, ReasonRevoked},
		{"rotated in grace but expired", KeyState{GraceUntil: &future, ExpiresAt: &past}, false, ReasonExpired},
		{"expired and revoked reports revoked", KeyState{ExpiresAt: &past, RevokedAt: &past}, false, ReasonRevoked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := KeyUsable(tt.k, now)
			if ok != tt.ok || reason != tt.reason {
				t.Fatalf("KeyUsable = %v, %q; want %v, %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestUsableUntil(t *testing.T) {
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := a.Add(time.Hour)
	tests := []struct {
		name string
		k    KeyState
		want time.Time
	}{
		{"none", KeyState{}, time.Time{}},
		{"expiry only", KeyState{ExpiresAt: &b}, b},
		{"grace only", KeyState{GraceUntil: &a}, a},
		{"earliest wins", KeyState{ExpiresAt: &b, GraceUntil: &a}, a},
		{"earliest wins, other order", KeyState{ExpiresAt: &a, GraceUntil: &b}, a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usableUntil(tt.k); !got.Equal(tt.want) {
				t.Fatalf("usableUntil = %v, want %v", got, tt.want)
			}
		})
	}
}
