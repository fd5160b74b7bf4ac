package app

import (
	"context"
	"fmt"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/accounts"
	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// openStore opens and migrates the database the config names.
func openStore(ctx context.Context, cfg *config.Config, migrate bool) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Storage.DatabaseURL, store.Options{
		MaxOpenConns: cfg.Storage.MaxOpenConns, MaxIdleConns: cfg.Storage.MaxIdleConns, ConnMaxLifetime: 30 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("open the database: %w", err)
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			_ = st.Close()
			return nil, fmt.Errorf("migrate the database: %w", err)
		}
	}
	return st, nil
}

// newAccounts builds the store-backed accounts service.
func (a *App) newAccounts(ctx context.Context, cfg *config.Config, st *store.Store) (*accounts.Service, error) {
	svc, err := accounts.New(ctx, accounts.Config{
		Store:    st,
		AdminKey: a.adminKey,
		JWT: accounts.JWTConfig{
			Algorithm: cfg.Auth.JWTAlgorithm, Secret: cfg.Auth.JWTSecret,
			AccessTTL: cfg.Auth.AccessTokenTTL, RefreshTTL: cfg.Auth.RefreshTokenTTL,
		},
		// Limited projects reserve from slices of their balance held by
		// this replica: no store write on the request path (accounts/lease.go).
		CreditLeases:        true,
		KeyRotationGrace:    cfg.Auth.KeyRotationGrace,
		KeyRotationInterval: cfg.Auth.KeyRotationInterval,
		UsageRetention:      cfg.Storage.UsageRetention,
		Log:                 a.log.Named("accounts"),
		OnUsageDropped: func(n int) {
			if a.metrics != nil {
				a.metrics.UsageDropped(n)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start the accounts service: %w", err)
	}
	return svc, nil
}
