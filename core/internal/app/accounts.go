package app

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/oneflow-ai/oneflow/core/internal/pricing"
	"github.com/oneflow-ai/oneflow/core/internal/server"
)

// meteredHold prices a finished call, settles the account hold with that
// amount and records the call's usage and metrics.
type meteredHold struct {
	a         *App
	p         *server.Principal
	requestID string
	hold      server.AccountHold
}

func (h *meteredHold) Settle(ctx context.Context, o server.Outcome) int64 {
	var q server.Quote
	if o.Target.Provider != "" {
		var err error
		q, err = (backend{h.a}).Quote(o.Target, o.Usage)
		if err != nil && !errors.Is(err, pricing.ErrUnpriced) {
			h.a.log.Error("cannot price a finished call; charging nothing", "request_id", h.requestID, "provider", o.Target.Provider, "model", o.Target.Model, "err", err)
		}
		if o.Usage.CacheCountsDropped {
			// The plugin broke the sdk's contract (plugintest checks it);
			// its operator should hear of it, as its users pay full price.
			h.a.log.Warn("plugin reported prompt-cache counts that are not parts of its input tokens; ignored them and billed all input at the input price",
				"request_id", h.requestID, "provider", o.Target.Provider, "model", o.Target.Model, "input_tokens", o.Usage.InputTokens)
		}
	}
	rec := server.UsageRecord{
		RequestID: h.requestID, UserID: h.p.UserID, ProjectID: h.p.Project, KeyID: h.p.KeyID,
		Provider: o.Target.Provider, Model: o.Target.Model, Strategy: o.Strategy,
		InputTokens: o.Usage.InputTokens, CachedInputTokens: o.Usage.CachedInputTokens, CacheWriteTokens: o.Usage.CacheWriteTokens,
		OutputTokens: o.Usage.OutputTokens, LatencyMS: o.Latency.Milliseconds(), Status: statusClass(o.Status), Attempts: len(o.Attempts),
		PriceVersion: q.PriceVersion, Unpriced: q.Unpriced,
	}
	est, haveEst := h.a.estimateOf(o)
	rec.EstimatedMicroCredits = est
	if h.a.tracer != nil {
		var span trace.Span
		ctx, span = h.a.tracer.Start(ctx, "settle credits")
		defer span.End()
	}
	charged, err := h.hold.Settle(ctx, q.MicroCredits, rec)
	if err != nil {
		h.a.log.Error("settling credits failed; the hold expires and is reaped", "request_id", h.requestID, "err", err)
	}
	if h.a.quotas != nil && o.Target.Provider != "" {
		h.a.quotas.add(h.p.Project, o.Target.Provider, charged)
	}
	h.a.recordOutcome(o, q, charged, est, haveEst)
	return charged
}

// statusClass names an HTTP status for usage records.
func statusClass(status int) string {
	switch {
	case status == http.StatusOK:
		return "ok"
	case status == 499:
		return "canceled"
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status >= 500:
		return "upstream_error"
	case status >= 400:
		return "client_error"
	}
	return "ok"
}

// estimateOf prices the call as OneFlow's own token count would have:
// the vendor's usage with the input tokens counted before the call. Set
// against the charge it shows drift in counting, not in the max_tokens a
// client asked for.
func (a *App) estimateOf(o server.Outcome) (int64, bool) {
	// A call that failed before using anything has no usage to set
	// against an estimate.
	if o.Target.Provider == "" || o.EstimatedInputTokens <= 0 || o.Usage == (server.Usage{}) {
		return 0, false
	}
	// The vendor's cache counts stay, so that a cache hit is not taken
	// for a counting error. Should OneFlow have counted fewer tokens than
	// the vendor read from or wrote to its cache, pricing ignores the
	// split and the estimate is the input at full price.
	u := o.Usage
	u.InputTokens = o.EstimatedInputTokens
	q, err := (backend{a}).Quote(o.Target, u)
	if err != nil {
		return 0, false
	}
	return q.MicroCredits, true
}

// recordOutcome exports what a settled call used and cost.
func (a *App) recordOutcome(o server.Outcome, q server.Quote, charged, est int64, haveEst bool) {
	m := a.metrics
	if m == nil || o.Target.Provider == "" {
		return
	}
	m.AddTokens(o.Target.Provider, o.Target.Model, o.Usage.InputTokens, o.Usage.OutputTokens)
	m.AddPromptCacheTokens(o.Target.Provider, o.Target.Model, o.Usage.CachedInputTokens, o.Usage.CacheWriteTokens)
	if q.Unpriced {
		m.UnpricedRequest(o.Target.Provider, o.Target.Model)
		return
	}
	m.AddCreditsCharged(o.Target.Provider, o.Target.Model, charged)
	// A usage OneFlow counted itself (a stream cut short) has nothing to
	// compare the estimate with.
	if haveEst && !o.Estimated {
		m.ObserveEstimate(o.Target.Provider, o.Target.Model, est, q.MicroCredits)
	}
}
