package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// GroupBy selects how UsageSeries groups its rows.
type GroupBy string

// Groupings.
const (
	GroupByDay      GroupBy = "day"
	GroupByModel    GroupBy = "model" // provider and model
	GroupByProvider GroupBy = "provider"
	GroupByProject  GroupBy = "project"
)

// Filter narrows an analytics query. Empty fields do not filter.
//
// The caller enforces access: a non-admin's query must set ProjectIDs to
// the projects they may see; an empty ProjectIDs means every project.
//
// Without UserID the queries read the rollups, so time bounds have bucket
// precision: a bucket counts when its start is in [From, To) (From is
// rounded down to its hour). Day rollups are used when From and To are both
// midnight UTC (or zero), hourly ones otherwise. With UserID the queries
// read raw usage_records (the rollups have no user dimension), bounded
// exactly by ts in [From, To); retention limits how far back that reaches,
// and the scan uses the (project_id, ts) index when ProjectIDs is set.
type Filter struct {
	ProjectIDs []string
	UserID     string
	Provider   string
	Model      string
	From, To   time.Time
	GroupBy    GroupBy // UsageSeries only; default GroupByDay
	Limit      int     // UsageSummary's TopProjects length; default 10
}

// UsageRow is one group's totals.
type UsageRow struct {
	// Key is the group's value: "2006-01-02" for days, else the model,
	// provider or project id.
	Key       string
	Day       time.Time // GroupByDay: midnight UTC of Key
	ProjectID string    // GroupByProject
	Provider  string    // GroupByModel, GroupByProvider
	Model     string    // GroupByModel

	Requests    int64
	Errors      int64
	InputTokens int64
	// CachedInputTokens and CacheWriteTokens are the parts of InputTokens
	// the vendor read from and wrote to its prompt cache.
	CachedInputTokens   int64
	CacheWriteTokens    int64
	OutputTokens        int64
	ChargedMicroCredits int64
}

// UsageSummary is the dashboard view of a Filter's range.
type UsageSummary struct {
	Total UsageRow
	// ErrorRate is Errors / Requests (0 when there were no requests).
	ErrorRate float64
	// ByModel is the cost breakdown per provider and model, most expensive
	// first.
	ByModel []UsageRow
	// TopProjects are the biggest spenders, most expensive first.
	TopProjects []UsageRow
}

// usageSource is where a Filter's rows come from and how to total them.
type usageSource struct {
	table  string
	tsCol  string
	totals string
	where  func(*gorm.DB) *gorm.DB
}

func (s *Store) source(f Filter) usageSource {
	src := usageSource{
		table: "usage_rollups",
		tsCol: "bucket_start",
		totals: `CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests,
			CAST(COALESCE(SUM(errors), 0) AS BIGINT) AS errors,
			CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens,
			CAST(COALESCE(SUM(cached_input_tokens), 0) AS BIGINT) AS cached_input_tokens,
			CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens,
			CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens,
			CAST(COALESCE(SUM(charged_micro_credits), 0) AS BIGINT) AS charged_micro_credits`,
	}
	gran := granHour
	if isMidnight(f.From) && isMidnight(f.To) {
		gran = granDay
	}
	from := f.From
	if f.UserID != "" {
		src.table, src.tsCol = "usage_records", "ts"
		src.totals = `CAST(COUNT(*) AS BIGINT) AS requests,
			CAST(COALESCE(SUM(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END), 0) AS BIGINT) AS errors,
			CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens,
			CAST(COALESCE(SUM(cached_input_tokens), 0) AS BIGINT) AS cached_input_tokens,
			CAST(COALESCE(SUM(cache_write_tokens), 0) AS BIGINT) AS cache_write_tokens,
			CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens,
			CAST(COALESCE(SUM(charged_micro_credits), 0) AS BIGINT) AS charged_micro_credits`
	} else if !from.IsZero() {
		from = bucketStart(from, gran)
	}
	src.where = func(q *gorm.DB) *gorm.DB {
		q = q.Table(src.table)
		if f.UserID != "" {
			q = q.Where("user_id = ?", f.UserID)
		} else {
			q = q.Where("granularity = ?", gran)
		}
		if len(f.ProjectIDs) > 0 {
			q = q.Where("project_id IN ?", f.ProjectIDs)
		}
		if f.Provider != "" {
			q = q.Where("provider = ?", f.Provider)
		}
		if f.Model != "" {
			q = q.Where("model = ?", f.Model)
		}
		if !from.IsZero() {
			q = q.Where(src.tsCol+" >= ?", dbTime(from))
		}
		if !f.To.IsZero() {
			q = q.Where(src.tsCol+" < ?", dbTime(f.To))
		}
		return q
	}
	return src
}

func isMidnight(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	t = t.UTC()
	return t.Equal(bucketStart(t, granDay))
}

// dayExpr renders a UTC timestamp column as "YYYY-MM-DD". SQLite stores
// times as UTC text (see times.go), so the date is its first ten characters.
func (s *Store) dayExpr(col string) string {
	if s.dialect == DialectPostgres {
		return "to_char(" + col + ", 'YYYY-MM-DD')"
	}
	return "substr(" + col + ", 1, 10)"
}

// UsageSeries totals usage per f.GroupBy, ordered by day (GroupByDay) or by
// charged credits, most first (the other groupings).
func (s *Store) UsageSeries(ctx context.Context, f Filter) ([]UsageRow, error) {
	if f.GroupBy == "" {
		f.GroupBy = GroupByDay
	}
	src := s.source(f)
	var groupCols, order string
	switch f.GroupBy {
	case GroupByDay:
		groupCols = s.dayExpr(src.tsCol) + " AS key"
		order = "key"
	case GroupByModel:
		groupCols = "provider, model, model AS key"
		order = "charged_micro_credits DESC, provider, model"
	case GroupByProvider:
		groupCols = "provider, provider AS key"
		order = "charged_micro_credits DESC, provider"
	case GroupByProject:
		groupCols = "project_id, project_id AS key"
		order = "charged_micro_credits DESC, project_id"
	default:
		return nil, fmt.Errorf("usage series: group by %q: %w", f.GroupBy, ErrInvalidArgument)
	}
	group := map[GroupBy]string{
		GroupByDay:      s.dayExpr(src.tsCol),
		GroupByModel:    "provider, model",
		GroupByProvider: "provider",
		GroupByProject:  "project_id",
	}[f.GroupBy]
	var rows []UsageRow
	err := src.where(s.read(ctx)).Select(groupCols + ", " + src.totals).Group(group).Order(order).Scan(&rows).Error
	if err != nil {
		return nil, dbErr("usage series", err)
	}
	if f.GroupBy == GroupByDay {
		for i := range rows {
			d, err := time.ParseInLocation("2006-01-02", rows[i].Key, time.UTC)
			if err != nil {
				return nil, fmt.Errorf("usage series: parse day %q: %w", rows[i].Key, err)
			}
			rows[i].Day = d
		}
	}
	return rows, nil
}

// UsageSummary returns totals, the error rate, the cost per provider and
// model, and the top spending projects for f (f.GroupBy is ignored).
func (s *Store) UsageSummary(ctx context.Context, f Filter) (UsageSummary, error) {
	var out UsageSummary
	src := s.source(f)
	if err := src.where(s.read(ctx)).Select(src.totals).Scan(&out.Total).Error; err != nil {
		return UsageSummary{}, dbErr("usage summary totals", err)
	}
	if out.Total.Requests > 0 {
		out.ErrorRate = float64(out.Total.Errors) / float64(out.Total.Requests)
	}
	f.GroupBy = GroupByModel
	byModel, err := s.UsageSeries(ctx, f)
	if err != nil {
		return UsageSummary{}, err
	}
	out.ByModel = byModel
	limit := f.Limit
	if limit <= 0 {
		limit = 10
	}
	var top []UsageRow
	err = src.where(s.read(ctx)).Select("project_id, project_id AS key, " + src.totals).
		Group("project_id").Order("charged_micro_credits DESC, project_id").Limit(limit).Scan(&top).Error
	if err != nil {
		return UsageSummary{}, dbErr("usage summary top projects", err)
	}
	out.TopProjects = top
	return out, nil
}
