package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oneflow-ai/oneflow/core/internal/auth"
	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// keySubjectPrefix marks an access token's subject that is an API key id
// rather than a user id: keys without a user can start sessions too, and a
// JWT must have a subject.
const keySubjectPrefix = "key:"

// keyStore is auth.KeyStore over the store.
type keyStore struct{ st *store.Store }

func (k keyStore) KeyByPrefix(ctx context.Context, prefix string) (auth.KeyRecord, error) {
	key, err := k.st.GetAPIKeyByPrefix(ctx, prefix)
	if errors.Is(err, store.ErrNotFound) {
		return auth.KeyRecord{}, fmt.Errorf("%w: %w", auth.ErrNotFound, err)
	}
	if err != nil {
		return auth.KeyRecord{}, err
	}
	return keyRecord(key), nil
}

func keyRecord(k store.APIKey) auth.KeyRecord {
	return auth.KeyRecord{
		ID: k.ID, Prefix: k.Prefix, Hash: k.Hash, UserID: k.UserID, ProjectID: k.ProjectID,
		Role: auth.Role(k.Role), CreatedAt: k.CreatedAt,
		State: auth.KeyState{ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, GraceUntil: k.GraceUntil},
	}
}

// looksLikeJWT tells a compact JWS (header.payload.signature) from an API
// key, which never contains a dot.
func looksLikeJWT(credential string) bool { return strings.Count(credential, ".") == 2 }

// Authenticate resolves an API key, the bootstrap admin key or a JWT access
// token. Bad credentials wrap server.ErrUnauthorized; a store that cannot
// be asked wraps server.ErrBudgetUnavailable. Errors never contain the
// credential (an API key's public prefix at most).
func (s *Service) Authenticate(ctx context.Context, credential string) (*server.Principal, error) {
	if credential == "" {
		return nil, classify(server.ErrUnauthorized, errors.New("authenticate: no credential"))
	}
	if looksLikeJWT(credential) {
		if s.issuer == nil {
			return nil, classify(server.ErrUnauthorized, errors.New("authenticate: access tokens are not enabled"))
		}
		c, err := s.issuer.Verify(credential)
		if err != nil {
			return nil, classify(server.ErrUnauthorized, err)
		}
		return s.principal(c.Principal(), true), nil
	}
	p, err := s.authenticateKey(ctx, credential)
	if err != nil {
		return nil, err
	}
	return s.principal(p, false), nil
}

// authenticateKey checks an API key (or the bootstrap key) and classifies
// the failure.
func (s *Service) authenticateKey(ctx context.Context, key string) (auth.Principal, error) {
	p, err := s.authn.AuthenticateKey(ctx, key)
	switch {
	case err == nil:
		s.markUsed(p.KeyID)
		return p, nil
	case errors.Is(err, auth.ErrInvalidKey), errors.Is(err, auth.ErrKeyUnusable), errors.Is(err, auth.ErrUnknownRole):
		return auth.Principal{}, classify(server.ErrUnauthorized, err)
	default:
		return auth.Principal{}, classify(server.ErrBudgetUnavailable, err)
	}
}

// isBootstrap reports whether p came from the configured admin key (or a
// token issued for it).
func isBootstrap(p auth.Principal) bool {
	return p.UserID == auth.BootstrapAdminUserID && p.KeyID == "" && p.ProjectID == ""
}

// principal maps auth's principal onto the server's. viaToken marks a JWT:
// a token issued to the bootstrap admin is an admin but not exempt from
// limits, which only the configured key itself is.
func (s *Service) principal(p auth.Principal, viaToken bool) *server.Principal {
	out := &server.Principal{
		KeyID: p.KeyID, UserID: p.UserID, Project: p.ProjectID, Role: string(p.Role), Admin: p.Role == auth.RoleAdmin,
	}
	if id, ok := strings.CutPrefix(p.UserID, keySubjectPrefix); ok {
		out.KeyID, out.UserID = id, ""
	}
	if p.UserID == auth.BootstrapAdminUserID && p.KeyID == "" && (p.ProjectID == "" || p.ProjectID == s.defaultProject) {
		out.Project = s.defaultProject
		out.Bootstrap = !viaToken
	}
	return out
}
