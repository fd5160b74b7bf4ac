package auth

import "errors"

// Sentinel errors. Callers map every one of them to HTTP 401 except where
// noted; the wrapped message says what was attempted and, for API keys, the
// public prefix — never a secret, a token or a hash.
var (
	// ErrInvalidKey means an API key is malformed, unknown or does not
	// match its stored hash. The three are deliberately not distinguished
	// in the error chain so a caller cannot turn them into an oracle.
	ErrInvalidKey = errors.New("invalid api key")
	// ErrKeyUnusable means the key exists but is revoked, expired or past
	// its rotation grace period; the message carries the reason.
	ErrKeyUnusable = errors.New("api key is not usable")
	// ErrInvalidToken means an access token failed verification.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrTokenExpired is joined with ErrInvalidToken when the only problem
	// is expiry, so a client knows to refresh rather than re-authenticate.
	ErrTokenExpired = errors.New("access token expired")
	// ErrInvalidRefreshToken means a refresh token is unknown, expired or
	// belongs to a revoked family.
	ErrInvalidRefreshToken = errors.New("invalid refresh token")
	// ErrRefreshTokenReused means an already rotated refresh token was
	// presented again. The whole family has been revoked by the time the
	// caller sees it. RefreshStore.RotateRefreshToken also returns it when
	// it loses the compare-and-swap on the old token.
	ErrRefreshTokenReused = errors.New("refresh token reused")
	// ErrNotFound is what a store returns (possibly wrapped) when a record
	// does not exist.
	ErrNotFound = errors.New("not found")
	// ErrCannotIssue means the issuer was built with a public key only and
	// can verify tokens but not sign them.
	ErrCannotIssue = errors.New("issuer has no signing key")
	// ErrUnknownRole means a role name is not admin, member or viewer.
	ErrUnknownRole = errors.New("unknown role")
)
