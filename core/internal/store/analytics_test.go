package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// analyticsFixture is a deterministic spread of usage over two days, three
// projects, two providers, three models, two users and mixed statuses.
func analyticsFixture() []UsageRecord {
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC)
	models := []struct{ provider, model string }{
		{"openai", "gpt-4o"}, {"openai", "gpt-4o-mini"}, {"anthropic", "claude-sonnet"},
	}
	var out []UsageRecord
	for i := range 300 {
		m := models[rng.IntN(len(models))]
		in := rng.Int64N(5000)
		// Cache counts are parts of the input; most requests have none.
		var cached int64
		if rng.IntN(3) == 0 {
			cached = rng.Int64N(in + 1)
		}
		status := UsageStatusOK
		if rng.IntN(7) == 0 {
			status = "upstream_error"
		}
		out = append(out, UsageRecord{
			RequestID: fmt.Sprintf("a-%d", i),
			// Spread over 48h with sub-second offsets.
			Time:                base.Add(time.Duration(rng.Int64N(int64(48 * time.Hour)))),
			UserID:              []string{"u1", "u2", ""}[rng.IntN(3)],
			ProjectID:           []string{"p1", "p2", "p3"}[rng.IntN(3)],
			KeyID:               "k",
			Provider:            m.provider,
			Model:               m.model,
			InputTokens:         in,
			CachedInputTokens:   cached,
			CacheWriteTokens:    rng.Int64N(in - cached + 1),
			OutputTokens:        rng.Int64N(2000),
			ChargedMicroCredits: rng.Int64N(1_000_000),
			LatencyMS:           rng.Int64N(3000),
			Status:              status,
			Attempts:            1 + rng.IntN(3),
		})
	}
	return out
}

// expectedSeries computes what the queries must return straight from the
// raw records, following Filter's documented bucket semantics.
func expectedSeries(recs []UsageRecord, f Filter) []UsageRow {
	gran := granHour
	if isMidnight(f.From) && isMidnight(f.To) {
		gran = granDay
	}
	groups := map[string]*UsageRow{}
	for _, r := range recs {
		if len(f.ProjectIDs) > 0 && !slices.Contains(f.ProjectIDs, r.ProjectID) ||
			f.Provider != "" && r.Provider != f.Provider || f.Model != "" && r.Model != f.Model ||
			f.UserID != "" && r.UserID != f.UserID {
			continue
		}
		at := dbTime(r.Time)
		from := f.From
		if f.UserID == "" {
			at = bucketStart(at, gran)
			if !from.IsZero() {
				from = bucketStart(from, gran)
			}
		}
		if !from.IsZero() && at.Before(from) || !f.To.IsZero() && !at.Before(f.To) {
			continue
		}
		var row UsageRow
		switch f.GroupBy {
		case GroupByDay:
			row.Day = bucketStart(r.Time, granDay)
			row.Key = row.Day.Format("2006-01-02")
		case GroupByModel:
			row.Provider, row.Model, row.Key = r.Provider, r.Model, r.Model
		case GroupByProvider:
			row.Provider, row.Key = r.Provider, r.Provider
		case GroupByProject:
			row.ProjectID, row.Key = r.ProjectID, r.ProjectID
		}
		k := row.Provider + "|" + row.Key
		g := groups[k]
		if g == nil {
			g = &row
			groups[k] = g
		}
		g.Requests++
		if r.Status != UsageStatusOK {
			g.Errors++
		}
		g.InputTokens += r.InputTokens
		g.CachedInputTokens += r.CachedInputTokens
		g.CacheWriteTokens += r.CacheWriteTokens
		g.OutputTokens += r.OutputTokens
		g.ChargedMicroCredits += r.ChargedMicroCredits
	}
	out := make([]UsageRow, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sortRows(out)
	return out
}

func sortRows(rows []UsageRow) {
	slices.SortFunc(rows, func(a, b UsageRow) int {
		return strings.Compare(a.Provider+"|"+a.Key, b.Provider+"|"+b.Key)
	})
}

func TestUsageAnalytics(t *testing.T) {
	recs := analyticsFixture()
	day1 := time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		f    Filter
	}{
		{"everything by day", Filter{GroupBy: GroupByDay}},
		{"default grouping is day", Filter{}},
		{"two projects by model", Filter{ProjectIDs: []string{"p1", "p2"}, GroupBy: GroupByModel}},
		{"one provider by project", Filter{Provider: "openai", GroupBy: GroupByProject}},
		{"one model by provider", Filter{Model: "claude-sonnet", GroupBy: GroupByProvider}},
		{"second day only (day rollups)", Filter{From: day1.Add(24 * time.Hour), To: day1.Add(48 * time.Hour), GroupBy: GroupByDay}},
		{"first day only, to open end", Filter{To: day1.Add(24 * time.Hour), GroupBy: GroupByModel}},
		{"hour window rounds From down", Filter{From: day1.Add(10*time.Hour + 30*time.Minute), To: day1.Add(15 * time.Hour), GroupBy: GroupByModel}},
		{"hour window across midnight", Filter{From: day1.Add(20 * time.Hour), To: day1.Add(30 * time.Hour), GroupBy: GroupByDay}},
		{"user from raw records", Filter{UserID: "u1", GroupBy: GroupByDay}},
		{"user with exact bounds", Filter{UserID: "u2", ProjectIDs: []string{"p3"}, From: day1.Add(10*time.Hour + 30*time.Minute),
			To: day1.Add(40*time.Hour + 15*time.Minute), GroupBy: GroupByModel}},
		{"user by project", Filter{UserID: "u1", GroupBy: GroupByProject}},
		{"nothing matches", Filter{Provider: "nobody", GroupBy: GroupByModel}},
	}
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		// Two writes touching the same buckets exercise the upsert path.
		if err := s.InsertUsage(ctx, recs[:170]); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertUsage(ctx, recs[170:]); err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.UsageSeries(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if tc.f.GroupBy == "" {
					tc.f.GroupBy = GroupByDay
				}
				// Ordering contract: days ascending, otherwise charged descending.
				for i := 1; i < len(got); i++ {
					if tc.f.GroupBy == GroupByDay && got[i-1].Key >= got[i].Key ||
						tc.f.GroupBy != GroupByDay && got[i-1].ChargedMicroCredits < got[i].ChargedMicroCredits {
						t.Fatalf("rows out of order: %+v", got)
					}
				}
				sortRows(got)
				want := expectedSeries(recs, tc.f)
				if len(want) == 0 && tc.f.Provider != "nobody" {
					t.Fatal("fixture has no rows for this filter; the case checks nothing")
				}
				if !slices.Equal(got, want) {
					t.Fatalf("UsageSeries(%+v)\n got %+v\nwant %+v", tc.f, got, want)
				}

				sum, err := s.UsageSummary(ctx, Filter{ProjectIDs: tc.f.ProjectIDs, UserID: tc.f.UserID, Provider: tc.f.Provider,
					Model: tc.f.Model, From: tc.f.From, To: tc.f.To, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				var total UsageRow
				for _, r := range want {
					total.Requests += r.Requests
					total.Errors += r.Errors
					total.InputTokens += r.InputTokens
					total.CachedInputTokens += r.CachedInputTokens
					total.CacheWriteTokens += r.CacheWriteTokens
					total.OutputTokens += r.OutputTokens
					total.ChargedMicroCredits += r.ChargedMicroCredits
				}
				if sum.Total != total {
					t.Fatalf("summary total %+v, want %+v", sum.Total, total)
				}
				if total.Requests > 0 && sum.ErrorRate != float64(total.Errors)/float64(total.Requests) || total.Requests == 0 && sum.ErrorRate != 0 {
					t.Fatalf("error rate %v for %+v", sum.ErrorRate, total)
				}
				mf := tc.f
				mf.GroupBy = GroupByModel
				byModel := append([]UsageRow(nil), sum.ByModel...)
				sortRows(byModel)
				if wantM := expectedSeries(recs, mf); !slices.Equal(byModel, wantM) {
					t.Fatalf("ByModel %+v, want %+v", byModel, wantM)
				}
				pf := tc.f
				pf.GroupBy = GroupByProject
				projects := expectedSeries(recs, pf)
				slices.SortFunc(projects, func(a, b UsageRow) int {
					return int(b.ChargedMicroCredits - a.ChargedMicroCredits)
				})
				if len(projects) > 2 {
					projects = projects[:2]
				}
				if !slices.Equal(sum.TopProjects, projects) {
					t.Fatalf("TopProjects %+v, want %+v", sum.TopProjects, projects)
				}
			})
		}
		if _, err := s.UsageSeries(ctx, Filter{GroupBy: "week"}); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("unknown grouping err = %v", err)
		}
	})
}
