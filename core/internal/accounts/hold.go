package accounts

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// Reserve holds maxMicroCredits on p's project for one call. It fails
// closed: a balance too small wraps server.ErrInsufficientCredits, and
// anything else (store down, unknown project) wraps
// server.ErrBudgetUnavailable, so a call never runs unaccounted.
func (s *Service) Reserve(ctx context.Context, p *server.Principal, requestID string, maxMicroCredits int64) (server.AccountHold, error) {
	if p == nil || p.Project == "" {
		return nil, classify(server.ErrBudgetUnavailable, errors.New("reserve credits: the caller has no project"))
	}
	if requestID == "" || maxMicroCredits < 0 {
		return nil, classify(server.ErrBudgetUnavailable,
			fmt.Errorf("reserve credits: request id %q, amount %d: invalid", requestID, maxMicroCredits))
	}
	start := s.clock()
	if unl, err := s.unlimited(ctx, p.Project); err == nil && unl {
		if s.charges.failing.Load() {
			return nil, classify(server.ErrBudgetUnavailable, errors.New("reserve credits: charges cannot be recorded"))
		}
		return &unlimitedHold{s: s, requestID: requestID, projectID: p.Project, start: start}, nil
	}
	if s.useLeases {
		return s.reserveLeased(ctx, p.Project, requestID, maxMicroCredits)
	}
	ledgerID := requestID
	err := s.st.Reserve(ctx, p.Project, ledgerID, maxMicroCredits, s.holdTTL)
	if errors.Is(err, store.ErrDuplicateRequest) {
		// The client reused its X-Request-ID (a retry, say). Ledger ids
		// are single-use, so this call gets a fresh one; usage still
		// records the request id the client sees.
		suffix, rerr := randomHex(s.rand, 6)
		if rerr != nil {
			return nil, classify(server.ErrBudgetUnavailable, rerr)
		}
		ledgerID = requestID + "~" + suffix
		err = s.st.Reserve(ctx, p.Project, ledgerID, maxMicroCredits, s.holdTTL)
	}
	switch {
	case err == nil:
	case errors.Is(err, store.ErrInsufficientCredits):
		return nil, classify(server.ErrInsufficientCredits, err)
	default:
		return nil, classify(server.ErrBudgetUnavailable, err)
	}
	return &hold{s: s, requestID: requestID, ledgerID: ledgerID, projectID: p.Project, start: start}, nil
}

func randomHex(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("read randomness: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// hold is one open reservation.
type hold struct {
	s         *Service
	requestID string // what the client sees and usage records
	ledgerID  string // what the ledger knows the hold as
	projectID string
	start     time.Time

	mu      sync.Mutex
	settled bool
	charged int64
}

// Settle charges microCredits (0 releases the whole hold), then enqueues
// rec with what was really charged. It returns the charge, which is less
// than microCredits when a limited balance could not cover usage beyond the
// hold. A hold already closed (settled here before, or reaped after
// HoldTTL) is not an error: the first outcome stands. When the store
// fails, the hold stays open until the reaper returns it, so nothing is
// charged and the record says so.
func (h *hold) Settle(ctx context.Context, microCredits int64, rec server.UsageRecord) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.settled {
		return h.charged, nil
	}
	h.settled = true
	s := h.s
	var (
		charged int64
		err     error
	)
	if microCredits <= 0 {
		err = s.st.Release(ctx, h.ledgerID)
	} else {
		var st store.Settlement
		st, err = s.st.Settle(ctx, h.ledgerID, microCredits)
		charged = st.ChargedMicroCredits
		if err == nil && st.WrittenOffMicroCredits > 0 {
			s.log.Warn("usage exceeded the hold and the balance; the rest is written off",
				"request_id", h.requestID, "written_off_micro_credits", st.WrittenOffMicroCredits)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, store.ErrHoldNotFound):
		s.log.Warn("credit hold was already closed (expired and reaped?); the call is not charged", "request_id", h.requestID)
		err = nil
	default:
		charged = 0
		err = fmt.Errorf("settle credits of request %q: %w", h.requestID, err)
	}
	if microCredits < 0 && err == nil {
		err = fmt.Errorf("settle credits of request %q: negative amount %d released: %w", h.requestID, microCredits, server.ErrInvalid)
	}
	h.charged = charged
	s.writeUsage(h.usageRecord(rec, charged))
	return charged, err
}

func (h *hold) usageRecord(rec server.UsageRecord, charged int64) store.UsageRecord {
	r := store.UsageRecord{
		RequestID: rec.RequestID, Time: rec.Time, UserID: rec.UserID, ProjectID: rec.ProjectID, KeyID: rec.KeyID,
		Provider: rec.Provider, Model: rec.Model, Strategy: rec.Strategy, InputTokens: rec.InputTokens,
		CachedInputTokens: rec.CachedInputTokens, CacheWriteTokens: rec.CacheWriteTokens,
		OutputTokens: rec.OutputTokens, EstimatedMicroCredits: rec.EstimatedMicroCredits,
		ChargedMicroCredits: charged, LatencyMS: rec.LatencyMS, Status: rec.Status, Attempts: rec.Attempts,
		PriceVersion: rec.PriceVersion, Unpriced: rec.Unpriced,
	}
	if r.RequestID == "" {
		r.RequestID = h.requestID
	}
	if r.ProjectID == "" {
		r.ProjectID = h.projectID
	}
	if r.Time.IsZero() {
		r.Time = h.start
	}
	return r
}

// writeUsage enqueues r without blocking the call for long.
func (s *Service) writeUsage(r store.UsageRecord) {
	if !s.usage.Write(r) {
		s.onDropped(1)
	}
}
