package accounts

import (
	"context"

	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
)

// storeFilter maps the server's filter. The caller (the server) has already
// scoped ProjectIDs to what the principal may see.
func storeFilter(f server.UsageFilter) (store.Filter, error) {
	out := store.Filter{
		ProjectIDs: f.ProjectIDs, UserID: f.UserID, Provider: f.Provider, Model: f.Model, From: f.From, To: f.To,
	}
	switch f.GroupBy {
	case "", "day":
		out.GroupBy = store.GroupByDay
	case "model":
		out.GroupBy = store.GroupByModel
	case "provider":
		out.GroupBy = store.GroupByProvider
	default:
		return store.Filter{}, invalid("group_by must be day, model or provider, not %q", f.GroupBy)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return store.Filter{}, invalid("to must not be before from")
	}
	return out, nil
}

// usageRows maps store rows. A model's key is "provider/model": two
// providers can serve models of the same name.
func usageRows(rows []store.UsageRow, g store.GroupBy) []server.UsageRow {
	out := make([]server.UsageRow, len(rows))
	for i, r := range rows {
		key := r.Key
		if g == store.GroupByModel {
			key = r.Provider + "/" + r.Model
		}
		out[i] = server.UsageRow{
			Key: key, Requests: r.Requests, Errors: r.Errors, InputTokens: r.InputTokens,
			CachedInputTokens: r.CachedInputTokens, CacheWriteTokens: r.CacheWriteTokens,
			OutputTokens: r.OutputTokens, MicroCredits: r.ChargedMicroCredits,
		}
	}
	return out
}

// UsageSeries totals usage per day, model or provider.
func (s *Service) UsageSeries(ctx context.Context, f server.UsageFilter) ([]server.UsageRow, error) {
	sf, err := storeFilter(f)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.UsageSeries(ctx, sf)
	if err != nil {
		return nil, storeErr(err)
	}
	return usageRows(rows, sf.GroupBy), nil
}

// UsageSummary returns totals and the breakdowns per provider, per model
// and the top projects.
func (s *Service) UsageSummary(ctx context.Context, f server.UsageFilter) (server.UsageSummary, error) {
	sf, err := storeFilter(f)
	if err != nil {
		return server.UsageSummary{}, err
	}
	sum, err := s.st.UsageSummary(ctx, sf)
	if err != nil {
		return server.UsageSummary{}, storeErr(err)
	}
	sf.GroupBy = store.GroupByProvider
	byProvider, err := s.st.UsageSeries(ctx, sf)
	if err != nil {
		return server.UsageSummary{}, storeErr(err)
	}
	return server.UsageSummary{
		TotalMicroCredits: sum.Total.ChargedMicroCredits,
		Requests:          sum.Total.Requests,
		Errors:            sum.Total.Errors,
		ByProvider:        usageRows(byProvider, store.GroupByProvider),
		ByModel:           usageRows(sum.ByModel, store.GroupByModel),
		TopProjects:       usageRows(sum.TopProjects, store.GroupByProject),
	}, nil
}
