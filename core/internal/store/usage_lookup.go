package store

import "context"

// UsageRecordsForRequest returns the raw usage records of requestID (one per
// settled call; more if a client reused its request id), oldest first. It
// is for support and audits, not the request path, and finds nothing once
// retention deleted the records.
func (s *Store) UsageRecordsForRequest(ctx context.Context, requestID string) ([]UsageRecord, error) {
	var rows []usageRow
	if err := s.read(ctx).Where("request_id = ?", requestID).Order("ts, id").Find(&rows).Error; err != nil {
		return nil, dbErr("list usage records", err)
	}
	out := make([]UsageRecord, len(rows))
	for i, r := range rows {
		out[i] = UsageRecord{
			ID: r.ID, RequestID: r.RequestID, Time: r.TS.UTC(), UserID: r.UserID, ProjectID: r.ProjectID,
			KeyID: r.KeyID, Provider: r.Provider, Model: r.Model, Strategy: r.Strategy,
			InputTokens: r.InputTokens, CachedInputTokens: r.CachedInputTokens, CacheWriteTokens: r.CacheWriteTokens,
			OutputTokens: r.OutputTokens, EstimatedMicroCredits: r.EstimatedMicroCredits, ChargedMicroCredits: r.ChargedMicroCredits,
			LatencyMS: r.LatencyMS, Status: r.Status, Attempts: int(r.Attempts), PriceVersion: r.PriceVersion,
			Unpriced: r.Unpriced,
		}
	}
	return out, nil
}
