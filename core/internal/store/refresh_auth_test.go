package store

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestAuthRefreshTokens(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	clock := newFakeClock(t0)
	forEachBackend(t, Options{Now: clock.Now}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		first := AuthRefreshToken{Hash: "h1", FamilyID: "fam", UserID: "key:key_1", ProjectID: "prj_1", Role: RoleMember,
			KeyID: "key_1", IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.CreateAuthRefreshToken(ctx, first); err != nil {
			t.Fatal(err)
		}
		got, err := s.AuthRefreshTokenByHash(ctx, "h1")
		if err != nil {
			t.Fatal(err)
		}
		want := first
		want.IssuedAt, want.ExpiresAt = dbTime(t0), dbTime(t0.Add(time.Hour))
		if got != want {
			t.Fatalf("read back %+v, want %+v", got, want)
		}
		next := first
		next.Hash = "h2"
		steps := []struct {
			name string
			do   func() error
			err  error
		}{
			{"duplicate hash", func() error { return s.CreateAuthRefreshToken(ctx, first) }, ErrConflict},
			{"bad role", func() error {
				bad := first
				bad.Hash, bad.Role = "hx", "owner"
				return s.CreateAuthRefreshToken(ctx, bad)
			}, ErrInvalidArgument},
			{"missing family", func() error {
				return s.CreateAuthRefreshToken(ctx, AuthRefreshToken{Hash: "hy", Role: RoleAdmin, IssuedAt: t0, ExpiresAt: t0})
			}, ErrInvalidArgument},
			{"unknown hash", func() error { _, err := s.AuthRefreshTokenByHash(ctx, "nope"); return err }, ErrNotFound},
			{"rotate", func() error { return s.RotateAuthRefreshToken(ctx, "h1", next, t0.Add(time.Minute)) }, nil},
			{"rotate the same token again", func() error {
				n := next
				n.Hash = "h3"
				return s.RotateAuthRefreshToken(ctx, "h1", n, t0.Add(2*time.Minute))
			}, ErrRefreshTokenReused},
			{"rotate an unknown token", func() error {
				n := next
				n.Hash = "h4"
				return s.RotateAuthRefreshToken(ctx, "nope", n, t0)
			}, ErrRefreshTokenReused},
			{"revoke the family", func() error { return s.RevokeAuthRefreshFamily(ctx, "fam", t0.Add(3*time.Minute)) }, nil},
			{"revoke it again", func() error { return s.RevokeAuthRefreshFamily(ctx, "fam", t0.Add(4*time.Minute)) }, nil},
			{"rotate a revoked token", func() error {
				n := next
				n.Hash = "h5"
				return s.RotateAuthRefreshToken(ctx, "h2", n, t0)
			}, ErrRefreshTokenReused},
		}
		for _, st := range steps {
			err := st.do()
			if (st.err == nil) != (err == nil) || (st.err != nil && !errors.Is(err, st.err)) {
				t.Fatalf("%s: error %v, want %v", st.name, err, st.err)
			}
		}
		for _, h := range []string{"h3", "h4", "h5"} {
			if _, err := s.AuthRefreshTokenByHash(ctx, h); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a failed rotation inserted %s: %v", h, err)
			}
		}
		old, _ := s.AuthRefreshTokenByHash(ctx, "h1")
		cur, _ := s.AuthRefreshTokenByHash(ctx, "h2")
		if old.RotatedAt == nil || !old.RotatedAt.Equal(dbTime(t0.Add(time.Minute))) || cur.RotatedAt != nil {
			t.Fatalf("rotation stamps: old %v, current %v", old.RotatedAt, cur.RotatedAt)
		}
		for _, tok := range []AuthRefreshToken{old, cur} {
			if tok.RevokedAt == nil || !tok.RevokedAt.Equal(dbTime(t0.Add(3*time.Minute))) {
				t.Fatalf("%s revoked at %v, want the first revocation", tok.Hash, tok.RevokedAt)
			}
		}
		n, err := s.DeleteAuthRefreshTokensExpiredBefore(ctx, t0.Add(time.Hour))
		if err != nil || n != 0 {
			t.Fatalf("delete before expiry: %d, %v", n, err)
		}
		n, err = s.DeleteAuthRefreshTokensExpiredBefore(ctx, t0.Add(time.Hour+time.Microsecond))
		if err != nil || n != 2 {
			t.Fatalf("delete after expiry: %d, %v", n, err)
		}
	})
}

func TestAuthRefreshConcurrentRotation(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			replicas := []*Store{b.open(t, Options{}), b.open(t, Options{})}
			ctx := ctxT(t)
			now := time.Now()
			if err := replicas[0].CreateAuthRefreshToken(ctx, AuthRefreshToken{Hash: "root", FamilyID: "f", Role: RoleViewer,
				IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			const n = 16
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					next := AuthRefreshToken{Hash: "next-" + string(rune('a'+i)), FamilyID: "f", Role: RoleViewer,
						IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
					errs <- replicas[i%2].RotateAuthRefreshToken(ctx, "root", next, now)
				})
			}
			wg.Wait()
			close(errs)
			won := 0
			for err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, ErrRefreshTokenReused):
					t.Fatalf("unexpected error %v", err)
				}
			}
			if won != 1 {
				t.Fatalf("%d rotations of one token won, want 1", won)
			}
		})
	}
}

func TestScheduleKeyExpiry(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(t0)
	forEachBackend(t, Options{Now: clock.Now}, func(t *testing.T, s *Store) {
		clock.Set(t0)
		ctx := ctxT(t)
		p, err := s.CreateProject(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		ins := func(prefix string) APIKey {
			k, err := s.InsertAPIKey(ctx, APIKey{Prefix: prefix, Hash: "hash-" + prefix, ProjectID: p.ID, Role: RoleMember})
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		old, revoked, rotated := ins("old"), ins("revoked"), ins("rotated")
		succ := ins("succ")
		if err := s.RevokeAPIKey(ctx, revoked.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRotated(ctx, rotated.ID, succ.ID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(48 * time.Hour))
		young := ins("young")
		grace := t0.Add(72 * time.Hour)
		got, err := s.ScheduleKeyExpiry(ctx, t0.Add(24*time.Hour), grace)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, k := range got {
			ids[k.ID] = true
			if k.GraceUntil == nil || !k.GraceUntil.Equal(grace) || k.Hash != "hash-"+k.Prefix {
				t.Fatalf("scheduled key %+v", k)
			}
		}
		if len(got) != 2 || !ids[old.ID] || !ids[succ.ID] {
			t.Fatalf("scheduled %v, want old and succ", ids)
		}
		again, err := s.ScheduleKeyExpiry(ctx, t0.Add(24*time.Hour), grace.Add(time.Hour))
		if err != nil || len(again) != 0 {
			t.Fatalf("second run scheduled %d keys, %v", len(again), err)
		}
		for _, k := range []APIKey{young, rotated} {
			cur, err := s.GetAPIKey(ctx, k.ID)
			if err != nil {
				t.Fatal(err)
			}
			if k.ID == young.ID && cur.GraceUntil != nil {
				t.Fatal("a young key was scheduled")
			}
			if k.ID == rotated.ID && !cur.GraceUntil.Equal(t0.Add(time.Hour)) {
				t.Fatalf("a rotated key's grace moved to %v", cur.GraceUntil)
			}
		}
	})
}

func TestUsageRecordsForRequest(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		ts := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
		recs := []UsageRecord{
			{RequestID: "r1", Time: ts, ProjectID: "p", Provider: "openai", Model: "m", Status: "ok", Attempts: 2, ChargedMicroCredits: 7},
			{RequestID: "r2", Time: ts, ProjectID: "p", Provider: "openai", Model: "m"},
		}
		if err := s.InsertUsage(ctx, recs); err != nil {
			t.Fatal(err)
		}
		got, err := s.UsageRecordsForRequest(ctx, "r1")
		if err != nil || len(got) != 1 {
			t.Fatalf("records %+v, %v", got, err)
		}
		g := got[0]
		if g.Attempts != 2 || g.ChargedMicroCredits != 7 || !g.Time.Equal(ts) || g.ID == "" {
			t.Fatalf("record %+v", g)
		}
		none, err := s.UsageRecordsForRequest(ctx, "missing")
		if err != nil || len(none) != 0 {
			t.Fatalf("missing request: %+v, %v", none, err)
		}
	})
}
