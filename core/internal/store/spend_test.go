package store

import (
	"testing"
	"time"
)

func TestProviderSpend(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p, err := s.CreateProject(ctx, "spender")
		if err != nil {
			t.Fatal(err)
		}
		day := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
		recs := []UsageRecord{
			{RequestID: "a", Time: day, ProjectID: p.ID, Provider: "openai", Model: "gpt-4o", ChargedMicroCredits: 100},
			{RequestID: "b", Time: day.Add(2 * time.Hour), ProjectID: p.ID, Provider: "openai", Model: "gpt-4o-mini", ChargedMicroCredits: 20},
			{RequestID: "c", Time: day.Add(-24 * time.Hour), ProjectID: p.ID, Provider: "openai", Model: "gpt-4o", ChargedMicroCredits: 1000},
			{RequestID: "d", Time: day, ProjectID: p.ID, Provider: "anthropic", Model: "claude", ChargedMicroCredits: 7},
		}
		if err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			provider string
			since    time.Time
			want     int64
		}{
			{"today counts from midnight", "openai", day.Add(5 * time.Hour), 120},
			{"two days", "openai", day.Add(-24 * time.Hour), 1120},
			{"other provider", "anthropic", day, 7},
			{"nothing yet", "stability", day, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ProviderSpend(ctx, p.ID, tt.provider, tt.since)
				if err != nil || got != tt.want {
					t.Fatalf("ProviderSpend = %d, %v; want %d", got, err, tt.want)
				}
			})
		}
	})
}
