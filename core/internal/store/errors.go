package store

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// Sentinel errors. Callers test them with errors.Is; every error returned by
// this package wraps one of them or a database error, with context saying
// what was attempted.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (email, project name, key prefix, token
	// hash) is already taken.
	ErrConflict = errors.New("already exists")
	// ErrInvalidArgument: the call's arguments are unusable (negative amount,
	// empty request id, unknown role...).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInsufficientCredits: a limited project's balance does not cover the
	// reservation.
	ErrInsufficientCredits = errors.New("insufficient credits")
	// ErrHoldNotFound: no open hold for the request id; it was never
	// reserved, or it is already settled, released or expired. Settle and
	// Release return it so that a second close is a harmless no-op.
	ErrHoldNotFound = errors.New("hold not found")
	// ErrDuplicateRequest: the request id already has (or had) a hold;
	// request ids are single-use in the ledger.
	ErrDuplicateRequest = errors.New("request id already used")
	// ErrRefreshTokenReused: a refresh token that was already rotated or
	// revoked was presented again; its whole family is now revoked.
	ErrRefreshTokenReused = errors.New("refresh token reused")
	// ErrRefreshTokenExpired: the refresh token is past expires_at.
	ErrRefreshTokenExpired = errors.New("refresh token expired")
)

// dbErr maps gorm's translated errors onto this package's sentinels and
// wraps the result with what was being attempted.
func dbErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", what, ErrConflict)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}
