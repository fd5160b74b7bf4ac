package app

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/oneflow-ai/oneflow/core/internal/server"
)

// bootstrapAccounts serves a core that has only its bootstrap admin key:
// every admin and usage operation answers that the store is unavailable.
type bootstrapAccounts struct{ a *App }

func (b bootstrapAccounts) Authenticate(_ context.Context, key string) (*server.Principal, error) {
	if b.a.adminKey != "" && subtle.ConstantTimeCompare([]byte(key), []byte(b.a.adminKey)) == 1 {
		return &server.Principal{Project: "default", Role: "admin", Admin: true, Bootstrap: true}, nil
	}
	return nil, server.ErrUnauthorized
}

func (b bootstrapAccounts) Reserve(context.Context, *server.Principal, string, int64) (server.AccountHold, error) {
	return unmeteredAccountHold{}, nil
}

type unmeteredAccountHold struct{}

func (unmeteredAccountHold) Settle(_ context.Context, mc int64, _ server.UsageRecord) (int64, error) {
	return mc, nil
}

var errNoStore = fmt.Errorf("no store: %w", server.ErrBudgetUnavailable)

func (bootstrapAccounts) CreateUser(context.Context, string, string) (server.User, error) {
	return server.User{}, errNoStore
}
func (bootstrapAccounts) ListUsers(context.Context) ([]server.User, error) { return nil, errNoStore }
func (bootstrapAccounts) CreateProject(context.Context, string) (server.Project, error) {
	return server.Project{}, errNoStore
}
func (bootstrapAccounts) ListProjects(context.Context) ([]server.Project, error) {
	return nil, errNoStore
}
func (bootstrapAccounts) GetProject(context.Context, string) (server.Project, error) {
	return server.Project{}, errNoStore
}
func (bootstrapAccounts) TopUp(context.Context, string, int64, string) (int64, error) {
	return 0, errNoStore
}
func (bootstrapAccounts) AddMember(context.Context, string, string, string) error { return errNoStore }
func (bootstrapAccounts) CreateKey(context.Context, server.KeyRequest) (server.CreatedKey, error) {
	return server.CreatedKey{}, errNoStore
}
func (bootstrapAccounts) ListKeys(context.Context, string) ([]server.Key, error) {
	return nil, errNoStore
}
func (bootstrapAccounts) RotateKey(context.Context, string) (server.CreatedKey, error) {
	return server.CreatedKey{}, errNoStore
}
func (bootstrapAccounts) RevokeKey(context.Context, string) (server.Key, error) {
	return server.Key{}, errNoStore
}
func (bootstrapAccounts) IssueTokens(context.Context, string) (server.Tokens, error) {
	return server.Tokens{}, errNoStore
}
func (bootstrapAccounts) RefreshTokens(context.Context, string) (server.Tokens, error) {
	return server.Tokens{}, errNoStore
}
func (bootstrapAccounts) UsageSeries(context.Context, server.UsageFilter) ([]server.UsageRow, error) {
	return nil, errNoStore
}
func (bootstrapAccounts) UsageSummary(context.Context, server.UsageFilter) (server.UsageSummary, error) {
	return server.UsageSummary{}, errNoStore
}
func (bootstrapAccounts) Ready(context.Context) error { return nil }
