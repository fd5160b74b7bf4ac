package store

import (
	"errors"
	"strings"
	"testing"
)

func TestMigrationsUpDownUp(t *testing.T) {
	latest, err := LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	if latest < 3 {
		t.Fatalf("LatestVersion = %d, want >= 3", latest)
	}
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		steps := []struct {
			name string
			do   func() error
			want int64
		}{
			{"migrated by helper", func() error { return nil }, latest},
			{"up again is a no-op", func() error { return s.Migrate(ctx) }, latest},
		}
		for v := latest - 1; v >= 0; v-- {
			steps = append(steps, struct {
				name string
				do   func() error
				want int64
			}{"down one", func() error { return s.MigrateDown(ctx) }, v})
		}
		steps = append(steps, struct {
			name string
			do   func() error
			want int64
		}{"up from zero", func() error { return s.Migrate(ctx) }, latest})
		for i, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("step %d (%s): %v", i, st.name, err)
			}
			got, err := s.Version(ctx)
			if err != nil {
				t.Fatalf("step %d (%s): version: %v", i, st.name, err)
			}
			if got != st.want {
				t.Fatalf("step %d (%s): version %d, want %d", i, st.name, got, st.want)
			}
		}
		// The schema works after the round trip.
		p, err := s.CreateProject(ctx, "after-roundtrip")
		if err != nil {
			t.Fatalf("create project after round trip: %v", err)
		}
		if _, err := s.TopUp(ctx, p.ID, 10, "r1"); err != nil {
			t.Fatalf("top up after round trip: %v", err)
		}
	})
}

func TestMigrateDownAtZero(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		for {
			v, err := s.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v == 0 {
				break
			}
			if err := s.MigrateDown(ctx); err != nil {
				t.Fatal(err)
			}
		}
		err := s.MigrateDown(ctx)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("MigrateDown at 0 = %v, want ErrNotFound", err)
		}
		// Tables are gone.
		if _, err := s.ListUsers(ctx); err == nil || !strings.Contains(strings.ToLower(err.Error()), "users") {
			t.Fatalf("ListUsers on an empty schema = %v, want a missing-table error", err)
		}
	})
}

func TestConcurrentMigrateTwoReplicas(t *testing.T) {
	// Replicas starting together: the advisory lock (PostgreSQL) or the
	// single writer (SQLite) makes exactly one apply each version.
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			a := b.open(t, Options{})
			c := b.open(t, Options{})
			ctx := ctxT(t)
			for a.MigrateDown(ctx) == nil {
			}
			errs := make(chan error, 2)
			for _, s := range []*Store{a, c} {
				go func() { errs <- s.Migrate(ctx) }()
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("concurrent migrate: %v", err)
				}
			}
			latest, _ := LatestVersion()
			for _, s := range []*Store{a, c} {
				if v, err := s.Version(ctx); err != nil || v != latest {
					t.Fatalf("version = %d, %v; want %d", v, err, latest)
				}
			}
		})
	}
}
