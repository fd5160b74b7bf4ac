package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/auth"
	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// refreshStore is auth.RefreshStore over the store's auth_refresh_tokens.
type refreshStore struct{ st *store.Store }

func toStoreRefresh(r auth.RefreshRecord) store.AuthRefreshToken {
	return store.AuthRefreshToken{
		Hash: r.Hash, FamilyID: r.FamilyID, UserID: r.UserID, ProjectID: r.ProjectID, Role: store.Role(r.Role),
		KeyID: r.KeyID, IssuedAt: r.IssuedAt, ExpiresAt: r.ExpiresAt, RotatedAt: r.RotatedAt, RevokedAt: r.RevokedAt,
	}
}

func (r refreshStore) CreateRefreshToken(ctx context.Context, rec auth.RefreshRecord) error {
	return r.st.CreateAuthRefreshToken(ctx, toStoreRefresh(rec))
}

func (r refreshStore) RefreshToken(ctx context.Context, hash string) (auth.RefreshRecord, error) {
	t, err := r.st.AuthRefreshTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return auth.RefreshRecord{}, fmt.Errorf("%w: %w", auth.ErrNotFound, err)
	}
	if err != nil {
		return auth.RefreshRecord{}, err
	}
	return auth.RefreshRecord{
		Hash: t.Hash, FamilyID: t.FamilyID, UserID: t.UserID, ProjectID: t.ProjectID, Role: auth.Role(t.Role),
		KeyID: t.KeyID, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt, RotatedAt: t.RotatedAt, RevokedAt: t.RevokedAt,
	}, nil
}

func (r refreshStore) RotateRefreshToken(ctx context.Context, oldHash string, next auth.RefreshRecord, at time.Time) error {
	err := r.st.RotateAuthRefreshToken(ctx, oldHash, toStoreRefresh(next), at)
	if errors.Is(err, store.ErrRefreshTokenReused) {
		return fmt.Errorf("%w: %w", auth.ErrRefreshTokenReused, err)
	}
	return err
}

func (r refreshStore) RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error {
	return r.st.RevokeAuthRefreshFamily(ctx, familyID, at)
}

// IssueTokens exchanges an API key (or the bootstrap admin key) for a JWT
// access token and a refresh token. A JWT cannot be exchanged: refresh it.
func (s *Service) IssueTokens(ctx context.Context, apiKey string) (server.Tokens, error) {
	if s.sessions == nil {
		return server.Tokens{}, invalid("%s", s.noTokens)
	}
	if apiKey == "" || looksLikeJWT(apiKey) {
		return server.Tokens{}, classify(server.ErrUnauthorized, errors.New("issue tokens: an API key is required"))
	}
	p, err := s.authenticateKey(ctx, apiKey)
	if err != nil {
		return server.Tokens{}, err
	}
	switch {
	case isBootstrap(p):
		p.ProjectID = s.defaultProject
	case p.UserID == "":
		// A JWT needs a subject; Authenticate maps this one back to the key.
		p.UserID = keySubjectPrefix + p.KeyID
	}
	pair, err := s.sessions.Start(ctx, p)
	if err != nil {
		return server.Tokens{}, classify(server.ErrBudgetUnavailable, err)
	}
	return s.tokens(pair), nil
}

// RefreshTokens rotates a refresh token. A token used twice revokes its
// family; a session whose API key is revoked, expired or rotated out is
// refused.
func (s *Service) RefreshTokens(ctx context.Context, refreshToken string) (server.Tokens, error) {
	if s.sessions == nil {
		return server.Tokens{}, invalid("%s", s.noTokens)
	}
	if refreshToken == "" {
		return server.Tokens{}, classify(server.ErrUnauthorized, errors.New("refresh tokens: no refresh token"))
	}
	pair, err := s.sessions.Refresh(ctx, refreshToken)
	switch {
	case err == nil:
		return s.tokens(pair), nil
	case errors.Is(err, auth.ErrInvalidRefreshToken), errors.Is(err, auth.ErrRefreshTokenReused),
		errors.Is(err, server.ErrUnauthorized):
		return server.Tokens{}, classify(server.ErrUnauthorized, err)
	default:
		return server.Tokens{}, classify(server.ErrBudgetUnavailable, err)
	}
}

func (s *Service) tokens(p auth.TokenPair) server.Tokens {
	return server.Tokens{
		AccessToken: p.AccessToken, TokenType: "Bearer", ExpiresIn: int64(s.issuer.AccessTTL() / time.Second),
		RefreshToken: p.RefreshToken, RefreshExpiresAt: p.RefreshExpiresAt,
	}
}

// reauthorize runs on every refresh: the session lives only as long as the
// credential it was started with, and takes that key's current role.
func (s *Service) reauthorize(ctx context.Context, rec auth.RefreshRecord) (auth.Role, error) {
	if rec.KeyID == "" {
		if rec.UserID == auth.BootstrapAdminUserID && s.bootstrap {
			return auth.RoleAdmin, nil
		}
		return "", classify(server.ErrUnauthorized, errors.New("session has no usable credential"))
	}
	k, err := s.st.GetAPIKey(ctx, rec.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		return "", classify(server.ErrUnauthorized, errors.New("the session's api key no longer exists"))
	}
	if err != nil {
		return "", fmt.Errorf("look up the session's api key: %w", err)
	}
	if ok, reason := auth.KeyUsable(keyRecord(k).State, s.clock()); !ok {
		return "", classify(server.ErrUnauthorized, fmt.Errorf("the session's api key %s is %s", k.Prefix, reason))
	}
	role, err := auth.ParseRole(string(k.Role))
	if err != nil {
		return "", classify(server.ErrUnauthorized, err)
	}
	return role, nil
}
