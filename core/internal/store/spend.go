package store

import (
	"context"
	"time"
)

// ProviderSpend sums what projectID was charged on provider in the daily
// rollups from since (truncated to its UTC day) on. Quota checks use it:
// it reads the small rollup table, never the raw usage records.
func (s *Store) ProviderSpend(ctx context.Context, projectID, provider string, since time.Time) (int64, error) {
	var total struct{ Sum int64 }
	err := s.read(ctx).Model(&rollupRow{}).
		Select("COALESCE(SUM(charged_micro_credits), 0) AS sum").
		Where("granularity = ? AND project_id = ? AND provider = ? AND bucket_start >= ?",
			granDay, projectID, provider, bucketStart(since, granDay)).
		Scan(&total).Error
	if err != nil {
		return 0, dbErr("sum provider spend", err)
	}
	return total.Sum, nil
}
