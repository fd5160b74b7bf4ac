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
	h.a.recordOutcome(o, q)
	return q.MicroCredits
}

// recordOutcome exports what a settled call used and cost.
func (a *App) recordOutcome(o server.Outcome, q server.Quote) {
	m := a.metrics
	if m == nil || o.Target.Provider == "" {
		return
	}
	m.AddTokens(o.Target.Provider, o.Target.Model, o.Usage.InputTokens, o.Usage.OutputTokens)
	if q.Unpriced {
		m.UnpricedRequest(o.Target.Provider, o.Target.Model)
		return
	}
	m.AddCreditsCharged(o.Target.Provider, o.Target.Model, q.MicroCredits)
	// The estimate is what OneFlow's own token count would have cost with
	// the same output: the ratio isolates drift in counting, not in the
	// max_tokens a client asked for.
	if o.EstimatedInputTokens > 0 && !o.Estimated {
		u := o.Usage
		u.InputTokens = o.EstimatedInputTokens
		if est, err := (backend{a}).Quote(o.Target, u); err == nil {
			m.ObserveEstimate(o.Target.Provider, o.Target.Model, est.MicroCredits, q.MicroCredits)
		}
	}
}
