package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Principal is who a request acts as once authenticated.
type Principal struct {
	UserID    string
	ProjectID string
	Role      Role
	// KeyID is the stored id of the API key used, empty for JWTs and the
	// bootstrap admin key.
	KeyID string
	// KeyPrefix is the key's public prefix, safe to log.
	KeyPrefix string
	// ExpiresAt is when the credential stops being usable on its own
	// (key expiry or end of rotation grace, token expiry); zero if never.
	ExpiresAt time.Time
}

// Can reports whether the principal's role grants p.
func (p Principal) Can(perm Permission) bool { return Allowed(p.Role, perm) }

// CanAccessProject reports whether the principal may see data of
// projectID: admins see every project, everyone else only their own.
func (p Principal) CanAccessProject(projectID string) bool {
	return p.Role == RoleAdmin || (p.ProjectID != "" && p.ProjectID == projectID)
}

// KeyRecord is what the store keeps for an API key.
type KeyRecord struct {
	ID        string
	Prefix    string
	Hash      string
	UserID    string
	ProjectID string
	Role      Role
	CreatedAt time.Time
	State     KeyState
}

// KeyStore is the persistence the Authenticator needs.
type KeyStore interface {
	// KeyByPrefix returns the key whose public prefix is prefix, or an
	// error wrapping ErrNotFound. Revoked and expired keys are returned
	// too; the Authenticator decides.
	KeyByPrefix(ctx context.Context, prefix string) (KeyRecord, error)
}

// AuthenticatorConfig configures NewAuthenticator.
type AuthenticatorConfig struct {
	Store KeyStore
	// Cache may be nil to always ask the store.
	Cache *KeyCache
	// Clock defaults to time.Now.
	Clock func() time.Time
	// AdminKey is the optional bootstrap admin key from the configuration
	// (auth.admin_key); a request presenting it is an admin with user id
	// BootstrapAdminUserID. Empty disables it.
	AdminKey string
}

// BootstrapAdminUserID is the user id of a principal authenticated with the
// configured admin key.
const BootstrapAdminUserID = "bootstrap-admin"

// Authenticator turns an API key into a Principal: shape check, cache,
// store lookup by prefix, constant-time hash check, lifecycle check.
type Authenticator struct {
	store     KeyStore
	cache     *KeyCache
	clock     func() time.Time
	adminHash *[sha256.Size]byte
}

// NewAuthenticator builds an Authenticator.
func NewAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	if cfg.Store == nil {
		return nil, errors.New("auth: building authenticator: no key store")
	}
	a := &Authenticator{store: cfg.Store, cache: cfg.Cache, clock: cfg.Clock}
	if a.clock == nil {
		a.clock = time.Now
	}
	if cfg.AdminKey != "" {
		h := sha256.Sum256([]byte(cfg.AdminKey))
		a.adminHash = &h
	}
	return a, nil
}

// AuthenticateKey resolves plaintext to a Principal. Errors wrap
// ErrInvalidKey or ErrKeyUnusable (both mean 401) or, for store failures,
// the store's error (503); they name the key's public prefix at most.
func (a *Authenticator) AuthenticateKey(ctx context.Context, plaintext string) (Principal, error) {
	if a.adminHash != nil {
		// Compare digests so the comparison is constant-time even when
		// the lengths differ.
		h := sha256.Sum256([]byte(plaintext))
		if subtle.ConstantTimeCompare(h[:], a.adminHash[:]) == 1 {
			return Principal{UserID: BootstrapAdminUserID, Role: RoleAdmin}, nil
		}
	}
	prefix, ok := ParseKey(plaintext)
	if !ok {
		return Principal{}, fmt.Errorf("auth: authenticating api key: malformed: %w", ErrInvalidKey)
	}
	hash := HashKey(plaintext)
	if a.cache != nil {
		if p, ok := a.cache.Get(hash); ok {
			return p, nil
		}
	}
	rec, err := a.store.KeyByPrefix(ctx, prefix)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, fmt.Errorf("auth: authenticating api key %s: %w", prefix, ErrInvalidKey)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("auth: authenticating api key %s: looking it up: %w", prefix, err)
	}
	if !VerifyKey(plaintext, rec.Hash) {
		return Principal{}, fmt.Errorf("auth: authenticating api key %s: %w", prefix, ErrInvalidKey)
	}
	if ok, reason := KeyUsable(rec.State, a.clock()); !ok {
		return Principal{}, fmt.Errorf("auth: authenticating api key %s: %w: %s", prefix, ErrKeyUnusable, reason)
	}
	role, err := ParseRole(string(rec.Role))
	if err != nil {
		return Principal{}, fmt.Errorf("auth: authenticating api key %s: %w", prefix, err)
	}
	p := Principal{
		UserID:    rec.UserID,
		ProjectID: rec.ProjectID,
		Role:      role,
		KeyID:     rec.ID,
		KeyPrefix: prefix,
		ExpiresAt: usableUntil(rec.State),
	}
	if a.cache != nil {
		a.cache.Put(hash, p)
	}
	return p, nil
}
