package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/gateway"
)

// ErrInsufficientCredits is returned by Backend.Reserve when the caller's
// balance cannot cover the call's maximum cost.
var ErrInsufficientCredits = errors.New("insufficient credits")

// QuotaError is returned by Backend.CheckQuota when a call would take the
// project past a provider's daily or monthly cap.
type QuotaError struct {
	Provider, Period, Limit, Spent string
}

func (e *QuotaError) Error() string {
	return "the project's " + e.Period + " quota for provider " + e.Provider + " (" + e.Limit + " credits) is spent (" + e.Spent + " used)"
}

// ErrBudgetUnavailable is returned by Backend.Reserve when the balance
// cannot be checked; the call is refused rather than spent unaccounted.
var ErrBudgetUnavailable = errors.New("credit balance unavailable")

// call is the part every model route shares: a plan, a credit hold sized
// for the plan's most expensive target, and the bookkeeping at the end.
type call struct {
	s        *server
	c        *gin.Context
	snap     *gateway.Snapshot
	plan     *gateway.Plan
	hold     Hold
	start    time.Time
	inTokens int64
	reserved int64
}

// begin resolves model into a plan, drops targets that cannot be priced,
// and reserves credits for the worst case. maxUsage gives, per target, the
// largest usage the call may incur. On failure the error response has been
// written and ok is false; otherwise the caller must call end exactly once.
func (s *server) begin(c *gin.Context, snap *gateway.Snapshot, model string, f gateway.Features, maxUsage func(gateway.Target) Usage) (*call, bool) {
	start := startOf(c)
	if !s.tokenLimit(c, f.InputTokens+f.OutputTokens) {
		return nil, false
	}
	plan, err := snap.Resolve(c.Request.Context(), model, f)
	if err != nil {
		writeGatewayError(c, err)
		return nil, false
	}
	var (
		kept     []gateway.Target
		worst    int64
		firstErr error
	)
	p := principalOf(c)
	var quotaErr error
	for _, t := range plan.Targets {
		q, err := s.o.Backend.QuoteMax(t, maxUsage(t))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err := s.o.Backend.CheckQuota(c.Request.Context(), p, t.Provider, q.MicroCredits); err != nil {
			if quotaErr == nil {
				quotaErr = err
			}
			continue
		}
		worst = max(worst, q.MicroCredits)
		kept = append(kept, t)
	}
	if len(kept) == 0 {
		var qe *QuotaError
		switch {
		case errors.As(quotaErr, &qe):
			abortError(c, http.StatusTooManyRequests, typeInvalidRequest, "quota_exceeded", qe.Error(), "")
		case quotaErr != nil:
			abortError(c, http.StatusServiceUnavailable, typeServer, "budget_unavailable", "quotas cannot be checked right now; retry shortly", "")
		default:
			abortError(c, http.StatusBadRequest, typeInvalidRequest, "model_unpriced", firstErr.Error(), "model")
		}
		return nil, false
	}
	plan.Targets = kept
	hold, err := s.o.Backend.Reserve(c.Request.Context(), p, requestIDOf(c), worst)
	switch {
	case errors.Is(err, ErrInsufficientCredits):
		abortError(c, http.StatusPaymentRequired, typeInvalidRequest, "insufficient_quota",
			"the project's credit balance does not cover this request's maximum cost ("+s.formatCredits(worst)+" credits); top it up or lower max_tokens", "")
		return nil, false
	case err != nil:
		abortError(c, http.StatusServiceUnavailable, typeServer, "budget_unavailable",
			"the credit balance cannot be checked right now; retry shortly", "")
		return nil, false
	}
	return &call{s: s, c: c, snap: snap, plan: plan, hold: hold, start: start, inTokens: f.InputTokens, reserved: worst}, true
}

// end settles the hold and returns the micro-credits charged. It runs on a
// context detached from the client's, so a hang-up still gets billed.
func (k *call) end(t gateway.Target, u Usage, estimated bool, attempts []gateway.Attempt, status int) int64 {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(k.c.Request.Context()), 10*time.Second)
	defer cancel()
	return k.hold.Settle(ctx, Outcome{
		Target: t, Strategy: k.plan.Strategy, Usage: u, Estimated: estimated,
		EstimatedInputTokens: k.inTokens, MaxMicroCredits: k.reserved,
		Attempts: attempts, Status: status, Latency: time.Since(k.start),
	})
}

// setHeaders writes who answered, what it cost and the gateway's own time.
func (k *call) setHeaders(t gateway.Target, charged int64, providerWait time.Duration) {
	h := k.c.Writer.Header()
	h.Set(headerProvider, t.Provider)
	h.Set(headerModel, t.Model)
	h.Set(headerCredits, k.s.formatCredits(charged))
	h.Set(headerOverhead, overheadMS(time.Since(k.start)-providerWait))
}

// failed settles a call that produced nothing billable and writes err.
// The usage record names the last model tried, so per-model error rates
// count the failure where it happened.
func (k *call) failed(err error, attempts []gateway.Attempt) {
	var t gateway.Target
	if len(attempts) > 0 {
		last := attempts[len(attempts)-1]
		for _, pt := range k.plan.Targets {
			if pt.Provider == last.Provider && pt.Model == last.Model {
				t = pt
				break
			}
		}
	}
	status := statusOf(err)
	k.end(t, Usage{}, false, attempts, status)
	if status >= 500 || status == http.StatusTooManyRequests {
		// A client's own mistakes are in its answer; these are the
		// operator's to see.
		k.s.log.Warn("model call failed", "request_id", requestIDOf(k.c), "provider", t.Provider, "model", t.Model,
			"status", status, "attempts", len(attempts), "err", err)
	}
	writeGatewayError(k.c, err)
}
