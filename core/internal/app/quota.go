package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/pricing"
	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// quotaTTL bounds how stale a cached spend figure may be. Together with
// the usage writer's flush interval it is how far several replicas may
// overshoot a quota: each sees the others' spending within about this
// long, and its own at once.
const quotaTTL = 5 * time.Second

// quotas enforces the per-project, per-provider daily and monthly caps of
// the config's quota blocks against the store's daily rollups (never the
// raw usage table), cached briefly so the request path rarely queries.
type quotas struct {
	st  *store.Store
	now func() time.Time

	mu    sync.Mutex
	spent map[spendKey]spendEntry
}

type spendKey struct {
	project, provider string
	since             time.Time
}

type spendEntry struct {
	microCredits int64
	fetched      time.Time
}

func newQuotas(st *store.Store, now func() time.Time) *quotas {
	return &quotas{st: st, now: now, spent: make(map[spendKey]spendEntry)}
}

// check refuses a call of up to maxMicroCredits on provider when it would
// take project past a cap.
func (q *quotas) check(ctx context.Context, rules map[string]config.Quota, project, provider string, maxMicroCredits int64) error {
	rule, ok := rules[provider]
	if !ok {
		return nil
	}
	now := q.now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for _, period := range []struct {
		name  string
		since time.Time
		limit int64
	}{{"daily", day, rule.DailyMicroCredits}, {"monthly", month, rule.MonthlyMicroCredits}} {
		if period.limit <= 0 {
			continue
		}
		spent, err := q.spend(ctx, spendKey{project, provider, period.since})
		if err != nil {
			return fmt.Errorf("check the %s quota: %w", period.name, server.ErrBudgetUnavailable)
		}
		if spent+maxMicroCredits > period.limit {
			return &server.QuotaError{Provider: provider, Period: period.name,
				Limit: pricing.FormatCredits(period.limit), Spent: pricing.FormatCredits(spent)}
		}
	}
	return nil
}

func (q *quotas) spend(ctx context.Context, k spendKey) (int64, error) {
	q.mu.Lock()
	e, ok := q.spent[k]
	q.mu.Unlock()
	if ok && q.now().Sub(e.fetched) < quotaTTL {
		return e.microCredits, nil
	}
	v, err := q.st.ProviderSpend(ctx, k.project, k.provider, k.since)
	if err != nil {
		return 0, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	// Keep what this replica added since the read began if it is more.
	if cur, ok := q.spent[k]; ok && cur.microCredits > v {
		v = cur.microCredits
	}
	q.spent[k] = spendEntry{microCredits: v, fetched: q.now()}
	return v, nil
}

// add counts a charge at once, before the usage writer has stored it.
func (q *quotas) add(project, provider string, microCredits int64) {
	if microCredits <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, e := range q.spent {
		if k.project == project && k.provider == provider {
			e.microCredits += microCredits
			q.spent[k] = e
		}
	}
}
