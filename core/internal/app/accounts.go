package app

import (
	"context"

	"github.com/oneflow-ai/oneflow/core/internal/server"
)

// accounts reserves and settles credits. Until a store is configured the
// core runs with an unlimited in-memory account: calls are priced and the
// price reported, but no balance is kept.
type accounts interface {
	Reserve(ctx context.Context, p *server.Principal, requestID string, maxMicroCredits int64) (server.Hold, error)
}

type unmetered struct{ a *App }

func (u unmetered) Reserve(context.Context, *server.Principal, string, int64) (server.Hold, error) {
	return unmeteredHold{u.a}, nil
}

type unmeteredHold struct{ a *App }

// Settle prices the outcome; nothing is debited.
func (h unmeteredHold) Settle(_ context.Context, o server.Outcome) int64 {
	if o.Target.Provider == "" {
		return 0
	}
	q, err := backend{h.a}.Quote(o.Target, o.Usage)
	if err != nil {
		return 0
	}
	return q.MicroCredits
}
