package app

import (
	"fmt"
	"io"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/idempotency"
	"github.com/oneflow-ai/oneflow/core/internal/ratelimit"
	"github.com/oneflow-ai/oneflow/core/internal/server"
)

// shared is what lives for the whole process, across generations: the
// connections behind rate limits and idempotency. Changing redis.url
// needs a restart; limits themselves reload.
type shared struct {
	redis       io.Closer
	limiter     ratelimit.Limiter
	idempotency idempotency.Store
}

func newShared(cfg *config.Config) (*shared, error) {
	if cfg.Redis.URL == "" {
		return &shared{
			limiter:     ratelimit.NewMemory(time.Now),
			idempotency: idempotency.NewMemory(time.Now),
		}, nil
	}
	client, err := ratelimit.NewRedisClient(cfg.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return &shared{
		redis:       client,
		limiter:     ratelimit.NewRedis(client, "oneflow:rl:"),
		idempotency: idempotency.NewRedis(client, "oneflow:idem:"),
	}, nil
}

func (s *shared) close() {
	if s.redis != nil {
		_ = s.redis.Close()
	}
}

// governance builds a generation's limits on the shared backends.
func (a *App) governance(cfg *config.Config) *server.Governance {
	return &server.Governance{
		Limiter: ratelimit.WithFailOpen(a.shared.limiter, cfg.RateLimit.FailOpen, func(err error) {
			a.log.Warn("rate limiter unavailable", "fail_open", cfg.RateLimit.FailOpen, "err", err)
			if a.metrics != nil {
				a.metrics.RateLimitBackendError()
			}
		}),
		Quota: ratelimit.Quota{
			PerMinute: cfg.RateLimit.PerMinute, PerHour: cfg.RateLimit.PerHour, TokensPerMinute: cfg.RateLimit.TokensPerMinute,
		},
		OnRejected: func(limit string) {
			if a.metrics != nil {
				a.metrics.RateLimitRejected(limit)
			}
		},
		Idempotency: a.shared.idempotency,
		IdempotencyOptions: idempotency.Options{
			Lease: cfg.Server.WriteTimeout + time.Minute,
			OnStoreError: func(err error) {
				a.log.Warn("idempotency store error", "err", err)
			},
		},
	}
}
