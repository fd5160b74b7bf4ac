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

// keyAttempts bounds how often CreateKey draws a new key when its random
// public prefix collides with an existing one (about 2^-47 per pair).
const keyAttempts = 3

// CreateUser adds a user; a taken email wraps server.ErrConflict.
func (s *Service) CreateUser(ctx context.Context, email, name string) (server.User, error) {
	u, err := s.st.CreateUser(ctx, store.User{Email: email, Name: name})
	if err != nil {
		return server.User{}, storeErr(err)
	}
	return serverUser(u), nil
}

// ListUsers returns every user, oldest first.
func (s *Service) ListUsers(ctx context.Context) ([]server.User, error) {
	us, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]server.User, len(us))
	for i, u := range us {
		out[i] = serverUser(u)
	}
	return out, nil
}

func serverUser(u store.User) server.User {
	return server.User{ID: u.ID, Email: u.Email, Name: u.Name, CreatedAt: u.CreatedAt}
}

// CreateProject adds a limited project with a zero balance.
func (s *Service) CreateProject(ctx context.Context, name string) (server.Project, error) {
	p, err := s.st.CreateProject(ctx, name)
	if err != nil {
		return server.Project{}, storeErr(err)
	}
	return serverProject(p), nil
}

// ListProjects returns every project, oldest first.
func (s *Service) ListProjects(ctx context.Context) ([]server.Project, error) {
	ps, err := s.st.ListProjects(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]server.Project, len(ps))
	for i, p := range ps {
		out[i] = serverProject(p)
	}
	return out, nil
}

// GetProject returns one project with its balance.
func (s *Service) GetProject(ctx context.Context, id string) (server.Project, error) {
	p, err := s.st.GetProject(ctx, id)
	if err != nil {
		return server.Project{}, storeErr(err)
	}
	return serverProject(p), nil
}

func serverProject(p store.Project) server.Project {
	return server.Project{ID: p.ID, Name: p.Name, BalanceMicroCredits: p.BalanceMicroCredits, Unlimited: p.Unlimited, CreatedAt: p.CreatedAt}
}

// TopUp adds microCredits to a project and returns its balance. A repeated
// requestID for the same project adds nothing and returns the current
// balance. Request ids are scoped to the project in the ledger, so two
// projects' top-ups never collide on a client's Idempotency-Key.
func (s *Service) TopUp(ctx context.Context, projectID string, microCredits int64, requestID string) (int64, error) {
	if microCredits <= 0 {
		return 0, invalid("top up: amount must be positive")
	}
	ledgerID := ""
	if requestID != "" {
		ledgerID = projectID + "/" + requestID
	}
	bal, err := s.st.TopUp(ctx, projectID, microCredits, ledgerID)
	if errors.Is(err, store.ErrDuplicateRequest) {
		bal, err = s.st.Balance(ctx, projectID)
	}
	if err != nil {
		return 0, storeErr(err)
	}
	return bal, nil
}

// AddMember gives a user a role in a project, replacing any previous role.
func (s *Service) AddMember(ctx context.Context, projectID, userID, role string) error {
	r, err := auth.ParseRole(role)
	if err != nil {
		return invalid("role must be admin, member or viewer, not %q", role)
	}
	return storeErr(s.st.AddMember(ctx, projectID, userID, store.Role(r)))
}

// CreateKey makes a new API key; its plaintext is in the result only. The
// role defaults to member. Note that an admin key is an admin of the whole
// gateway, not only of its project.
func (s *Service) CreateKey(ctx context.Context, req server.KeyRequest) (server.CreatedKey, error) {
	if req.ProjectID == "" {
		return server.CreatedKey{}, invalid("project_id is required")
	}
	if req.Role == "" {
		req.Role = string(auth.RoleMember)
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		return server.CreatedKey{}, invalid("role must be admin, member or viewer, not %q", req.Role)
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(s.clock()) {
		return server.CreatedKey{}, invalid("expires_at must be in the future")
	}
	k, plaintext, err := s.insertKey(ctx, store.APIKey{
		ProjectID: req.ProjectID, UserID: req.UserID, Name: req.Name, Role: store.Role(role), ExpiresAt: req.ExpiresAt,
	})
	if err != nil {
		return server.CreatedKey{}, err
	}
	return server.CreatedKey{Key: serverKey(k), Plaintext: plaintext}, nil
}

// insertKey generates a key for tmpl (prefix and hash filled in here) and
// stores it, drawing again on a prefix collision.
func (s *Service) insertKey(ctx context.Context, tmpl store.APIKey) (store.APIKey, string, error) {
	for attempt := 1; ; attempt++ {
		gen, err := auth.GenerateKey(s.rand)
		if err != nil {
			return store.APIKey{}, "", fmt.Errorf("create api key: %w", err)
		}
		k := tmpl
		k.Prefix, k.Hash = gen.Prefix, gen.Hash
		k, err = s.st.InsertAPIKey(ctx, k)
		if errors.Is(err, store.ErrConflict) && attempt < keyAttempts {
			continue
		}
		if err != nil {
			return store.APIKey{}, "", storeErr(err)
		}
		return k, gen.Plaintext, nil
	}
}

// ListKeys returns a project's keys, or every key when projectID is empty.
func (s *Service) ListKeys(ctx context.Context, projectID string) ([]server.Key, error) {
	projects := []string{projectID}
	if projectID == "" {
		ps, err := s.st.ListProjects(ctx)
		if err != nil {
			return nil, storeErr(err)
		}
		projects = projects[:0]
		for _, p := range ps {
			projects = append(projects, p.ID)
		}
	} else if _, err := s.st.GetProject(ctx, projectID); err != nil {
		return nil, storeErr(err)
	}
	out := []server.Key{}
	for _, id := range projects {
		ks, err := s.st.ListAPIKeys(ctx, id)
		if err != nil {
			return nil, storeErr(err)
		}
		for _, k := range ks {
			out = append(out, serverKey(k))
		}
	}
	return out, nil
}

func serverKey(k store.APIKey) server.Key {
	return server.Key{
		ID: k.ID, Prefix: auth.KeyPrefix + k.Prefix, ProjectID: k.ProjectID, UserID: k.UserID, Name: k.Name,
		Role: string(k.Role), CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt,
		GraceUntil: k.GraceUntil, RotatedTo: k.RotatedTo, LastUsedAt: k.LastUsedAt,
	}
}

// RotateKey issues a successor of key id with the same project, user, name,
// role and lifetime (a key that expired a year after its creation gets a
// successor that expires a year after now). The old key keeps working for
// the rotation grace period, or until an earlier grace it already had.
// Only a usable key that was not rotated before can be rotated.
func (s *Service) RotateKey(ctx context.Context, id string) (server.CreatedKey, error) {
	old, err := s.st.GetAPIKey(ctx, id)
	if err != nil {
		return server.CreatedKey{}, storeErr(err)
	}
	now := s.clock()
	if old.RotatedTo != "" {
		return server.CreatedKey{}, invalid("key %s was already rotated to %s; rotate that key instead", old.ID, old.RotatedTo)
	}
	if ok, reason := auth.KeyUsable(keyRecord(old).State, now); !ok {
		return server.CreatedKey{}, invalid("key %s is %s and cannot be rotated; create a new key", old.ID, reason)
	}
	next := store.APIKey{ProjectID: old.ProjectID, UserID: old.UserID, Name: old.Name, Role: old.Role}
	if old.ExpiresAt != nil {
		exp := now.Add(old.ExpiresAt.Sub(old.CreatedAt))
		next.ExpiresAt = &exp
	}
	k, plaintext, err := s.insertKey(ctx, next)
	if err != nil {
		return server.CreatedKey{}, err
	}
	graceUntil := now.Add(s.grace)
	if old.GraceUntil != nil && old.GraceUntil.Before(graceUntil) {
		graceUntil = *old.GraceUntil
	}
	if err := s.st.MarkRotated(ctx, old.ID, k.ID, graceUntil); err != nil {
		// Do not leave a successor nobody knows about behind.
		if rerr := s.st.RevokeAPIKey(ctx, k.ID); rerr != nil {
			s.log.Error("cannot revoke the successor of a failed rotation", "key_id", k.ID, "err", rerr)
		}
		return server.CreatedKey{}, storeErr(err)
	}
	// The cached principal of the old key does not know its grace yet.
	s.cache.Delete(old.Hash)
	s.log.Info("api key rotated", "key_id", old.ID, "key_prefix", old.Prefix, "successor", k.ID, "grace_until", graceUntil)
	gu := graceUntil.UTC()
	return server.CreatedKey{Key: serverKey(k), Plaintext: plaintext, Replaces: old.ID, OldGraceUntil: &gu}, nil
}

// RevokeKey revokes a key. It stops working on this replica at once and on
// the others within the revocation TTL; refresh tokens started with it stop
// refreshing at once.
func (s *Service) RevokeKey(ctx context.Context, id string) (server.Key, error) {
	if err := s.st.RevokeAPIKey(ctx, id); err != nil {
		return server.Key{}, storeErr(err)
	}
	k, err := s.st.GetAPIKey(ctx, id)
	if err != nil {
		return server.Key{}, storeErr(err)
	}
	s.cache.Delete(k.Hash)
	s.log.Info("api key revoked", "key_id", k.ID, "key_prefix", k.Prefix)
	return serverKey(k), nil
}

// keyStatus describes a key's lifecycle for listings.
func keyStatus(k server.Key, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return "expired"
	case k.GraceUntil != nil && !now.Before(*k.GraceUntil):
		return "rotated out"
	case k.GraceUntil != nil:
		return "active until " + k.GraceUntil.UTC().Format(time.RFC3339)
	}
	return "active"
}
