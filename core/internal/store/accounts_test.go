package store

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUsersAndProjects(t *testing.T) {
	forEachBackend(t, Options{}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		alice, err := s.CreateUser(ctx, User{Email: "  Alice@Example.COM ", Name: "Alice"})
		if err != nil {
			t.Fatal(err)
		}
		if alice.Email != "alice@example.com" || alice.ID == "" || alice.CreatedAt.IsZero() {
			t.Fatalf("created user = %+v", alice)
		}
		bob, err := s.CreateUser(ctx, User{ID: "usr_bob", Email: "bob@example.com"})
		if err != nil {
			t.Fatal(err)
		}

		userCases := []struct {
			name    string
			do      func() (User, error)
			want    User
			wantErr error
		}{
			{"get by id", func() (User, error) { return s.GetUser(ctx, alice.ID) }, alice, nil},
			{"get by email any case", func() (User, error) { return s.GetUserByEmail(ctx, "ALICE@example.com") }, alice, nil},
			{"unknown id", func() (User, error) { return s.GetUser(ctx, "nope") }, User{}, ErrNotFound},
			{"duplicate email", func() (User, error) { return s.CreateUser(ctx, User{Email: "alice@EXAMPLE.com"}) }, User{}, ErrConflict},
			{"empty email", func() (User, error) { return s.CreateUser(ctx, User{Email: " "}) }, User{}, ErrInvalidArgument},
		}
		for _, tc := range userCases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.do()
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == nil && !sameUser(got, tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			})
		}
		users, err := s.ListUsers(ctx)
		if err != nil || len(users) != 2 {
			t.Fatalf("ListUsers = %v, %v", users, err)
		}

		p, err := s.CreateProject(ctx, "research")
		if err != nil {
			t.Fatal(err)
		}
		if p.BalanceMicroCredits != 0 || p.Unlimited {
			t.Fatalf("new project = %+v, want limited with zero balance", p)
		}
		if _, err := s.CreateProject(ctx, "research"); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate project name err = %v, want ErrConflict", err)
		}
		if _, err := s.CreateProject(ctx, DefaultProjectName); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("reserved project name err = %v, want ErrInvalidArgument", err)
		}
		if _, err := s.CreateProject(ctx, ""); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("empty project name err = %v, want ErrInvalidArgument", err)
		}
		def, err := s.EnsureDefaultProject(ctx)
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.EnsureDefaultProject(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if def.ID != DefaultProjectName || !def.Unlimited || again.ID != def.ID {
			t.Fatalf("default project = %+v then %+v", def, again)
		}
		got, err := s.GetProject(ctx, p.ID)
		if err != nil || got.Name != "research" || !got.CreatedAt.Equal(p.CreatedAt) {
			t.Fatalf("GetProject = %+v, %v; want %+v", got, err, p)
		}
		if byName, err := s.GetProjectByName(ctx, "default"); err != nil || byName.ID != def.ID {
			t.Fatalf("GetProjectByName = %+v, %v", byName, err)
		}
		if _, err := s.GetProject(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetProject unknown err = %v", err)
		}
		projects, err := s.ListProjects(ctx)
		if err != nil || len(projects) != 2 {
			t.Fatalf("ListProjects = %v, %v", projects, err)
		}

		memberCases := []struct {
			name    string
			do      func() error
			wantErr error
		}{
			{"add admin", func() error { return s.AddMember(ctx, p.ID, alice.ID, RoleAdmin) }, nil},
			{"add viewer", func() error { return s.AddMember(ctx, p.ID, bob.ID, RoleViewer) }, nil},
			{"change role", func() error { return s.AddMember(ctx, p.ID, bob.ID, RoleMember) }, nil},
			{"bad role", func() error { return s.AddMember(ctx, p.ID, bob.ID, "owner") }, ErrInvalidArgument},
			{"unknown user", func() error { return s.AddMember(ctx, p.ID, "usr_ghost", RoleViewer) }, ErrNotFound},
			{"unknown project", func() error { return s.AddMember(ctx, "prj_ghost", bob.ID, RoleViewer) }, ErrNotFound},
		}
		for _, tc := range memberCases {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.do(); !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			})
		}
		if r, err := s.MemberRole(ctx, p.ID, bob.ID); err != nil || r != RoleMember {
			t.Fatalf("MemberRole(bob) = %q, %v; want member", r, err)
		}
		if ms, err := s.ListMembers(ctx, p.ID); err != nil || len(ms) != 2 {
			t.Fatalf("ListMembers = %v, %v", ms, err)
		}
		if ms, err := s.ListUserProjects(ctx, alice.ID); err != nil || len(ms) != 1 || ms[0].Role != RoleAdmin {
			t.Fatalf("ListUserProjects = %v, %v", ms, err)
		}
		if err := s.RemoveMember(ctx, p.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveMember(ctx, p.ID, bob.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second RemoveMember err = %v, want ErrNotFound", err)
		}
		if _, err := s.MemberRole(ctx, p.ID, bob.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("MemberRole after remove err = %v", err)
		}
	})
}

func sameUser(a, b User) bool {
	return a.ID == b.ID && a.Email == b.Email && a.Name == b.Name && a.CreatedAt.Equal(b.CreatedAt)
}

func TestAPIKeys(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC))
	forEachBackend(t, Options{Now: clk.Now}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		p, err := s.CreateProject(ctx, "keys")
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.CreateUser(ctx, User{Email: "k@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		exp := clk.Now().Add(24 * time.Hour)
		const secretHash = "sha256:deadbeefcafe-secret-hash"
		k1, err := s.InsertAPIKey(ctx, APIKey{Prefix: "of_abc", Hash: secretHash, ProjectID: p.ID, UserID: u.ID,
			Name: "ci", Role: RoleMember, ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		if !k1.CreatedAt.Equal(dbTime(clk.Now())) {
			t.Fatalf("CreatedAt = %v, want %v (UTC, microseconds)", k1.CreatedAt, dbTime(clk.Now()))
		}
		clk.Set(clk.Now().Add(time.Second))
		k2, err := s.InsertAPIKey(ctx, APIKey{Prefix: "of_def", Hash: "h2", ProjectID: p.ID, Role: RoleViewer})
		if err != nil {
			t.Fatal(err)
		}

		insertCases := []struct {
			name    string
			key     APIKey
			wantErr error
		}{
			{"duplicate prefix", APIKey{Prefix: "of_abc", Hash: secretHash, ProjectID: p.ID}, ErrConflict},
			{"unknown project", APIKey{Prefix: "of_x", Hash: secretHash, ProjectID: "prj_ghost"}, ErrNotFound},
			{"unknown user", APIKey{Prefix: "of_y", Hash: secretHash, ProjectID: p.ID, UserID: "usr_ghost"}, ErrNotFound},
			{"missing hash", APIKey{Prefix: "of_z", ProjectID: p.ID}, ErrInvalidArgument},
		}
		for _, tc := range insertCases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.InsertAPIKey(ctx, tc.key)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				// Key material must never leak through errors.
				if strings.Contains(err.Error(), secretHash) {
					t.Fatalf("error leaks the key hash: %v", err)
				}
			})
		}

		got, err := s.GetAPIKeyByPrefix(ctx, "of_abc")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != k1.ID || got.Hash != secretHash || got.UserID != u.ID || got.Role != RoleMember ||
			got.ExpiresAt == nil || !got.ExpiresAt.Equal(dbTime(exp)) || got.RevokedAt != nil || got.LastUsedAt != nil {
			t.Fatalf("GetAPIKeyByPrefix = %+v", got)
		}
		if _, err := s.GetAPIKeyByPrefix(ctx, "of_none"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown prefix err = %v", err)
		}
		keys, err := s.ListAPIKeys(ctx, p.ID)
		if err != nil || len(keys) != 2 || keys[1].UserID != "" {
			t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
		}

		// Revocation keeps the first time.
		if err := s.RevokeAPIKey(ctx, k2.ID); err != nil {
			t.Fatal(err)
		}
		first := clk.Now()
		clk.Set(first.Add(time.Hour))
		if err := s.RevokeAPIKey(ctx, k2.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		if err := s.RevokeAPIKey(ctx, "key_ghost"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke unknown err = %v", err)
		}
		r, _ := s.GetAPIKey(ctx, k2.ID)
		if r.RevokedAt == nil || !r.RevokedAt.Equal(dbTime(first)) {
			t.Fatalf("RevokedAt = %v, want %v", r.RevokedAt, dbTime(first))
		}

		grace := clk.Now().Add(10 * time.Minute)
		if err := s.MarkRotated(ctx, k1.ID, k2.ID, grace); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRotated(ctx, k1.ID, "key_ghost", grace); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rotate to unknown err = %v", err)
		}
		if err := s.MarkRotated(ctx, "key_ghost", k2.ID, grace); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rotate unknown err = %v", err)
		}
		r, _ = s.GetAPIKey(ctx, k1.ID)
		if r.RotatedTo != k2.ID || r.GraceUntil == nil || !r.GraceUntil.Equal(dbTime(grace)) {
			t.Fatalf("after MarkRotated = %+v", r)
		}

		// last_used_at only moves forward, even by a fraction of a second.
		t1 := clk.Now().Add(500 * time.Millisecond)
		t0 := clk.Now().Add(250 * time.Millisecond)
		if err := s.TouchLastUsed(ctx, t1, k1.ID, k2.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchLastUsed(ctx, t0, k1.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchLastUsed(ctx, t0); err != nil {
			t.Fatal(err)
		}
		r, _ = s.GetAPIKey(ctx, k1.ID)
		if r.LastUsedAt == nil || !r.LastUsedAt.Equal(dbTime(t1)) {
			t.Fatalf("LastUsedAt = %v, want %v", r.LastUsedAt, t1)
		}
	})
}

func TestRefreshTokens(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	forEachBackend(t, Options{Now: clk.Now}, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		u, err := s.CreateUser(ctx, User{Email: "rt@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		exp := clk.Now().Add(time.Hour)
		t1, err := s.InsertRefreshToken(ctx, RefreshToken{UserID: u.ID, Hash: "h1", ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		if t1.FamilyID != t1.ID {
			t.Fatalf("first token family = %q, want its own id %q", t1.FamilyID, t1.ID)
		}
		if _, err := s.InsertRefreshToken(ctx, RefreshToken{UserID: u.ID, Hash: "h1", ExpiresAt: exp}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate hash err = %v", err)
		}
		if _, err := s.InsertRefreshToken(ctx, RefreshToken{UserID: "usr_ghost", Hash: "hx", ExpiresAt: exp}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown user err = %v", err)
		}

		t2, err := s.RotateRefreshToken(ctx, "h1", RefreshToken{Hash: "h2", ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}
		if t2.FamilyID != t1.FamilyID || t2.UserID != u.ID {
			t.Fatalf("rotated token = %+v", t2)
		}
		old, _ := s.GetRefreshTokenByHash(ctx, "h1")
		if old.ReplacedBy != t2.ID || old.RevokedAt == nil {
			t.Fatalf("old token after rotation = %+v", old)
		}
		t3, err := s.RotateRefreshToken(ctx, "h2", RefreshToken{Hash: "h3", ExpiresAt: exp})
		if err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name    string
			oldHash string
			next    RefreshToken
			wantErr error
		}{
			{"unknown token", "nope", RefreshToken{Hash: "h9", ExpiresAt: exp}, ErrNotFound},
			{"missing new hash", "h3", RefreshToken{ExpiresAt: exp}, ErrInvalidArgument},
			// Reusing h1 (already rotated) revokes the whole family, h3 included.
			{"reuse revokes family", "h1", RefreshToken{Hash: "h4", ExpiresAt: exp}, ErrRefreshTokenReused},
			{"family member now revoked", "h3", RefreshToken{Hash: "h5", ExpiresAt: exp}, ErrRefreshTokenReused},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := s.RotateRefreshToken(ctx, tc.oldHash, tc.next); !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			})
		}
		latest, _ := s.GetRefreshTokenByHash(ctx, t3.Hash)
		if latest.RevokedAt == nil {
			t.Fatal("reuse did not revoke the family's newest token")
		}
		if _, err := s.GetRefreshTokenByHash(ctx, "h4"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a successor was stored for a reused token: %v", err)
		}

		// Expiry, and explicit family revocation.
		f2, err := s.InsertRefreshToken(ctx, RefreshToken{UserID: u.ID, Hash: "g1", ExpiresAt: clk.Now().Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(2 * time.Minute))
		if _, err := s.RotateRefreshToken(ctx, "g1", RefreshToken{Hash: "g2", ExpiresAt: exp}); !errors.Is(err, ErrRefreshTokenExpired) {
			t.Fatalf("expired rotation err = %v", err)
		}
		if err := s.RevokeRefreshFamily(ctx, f2.FamilyID); err != nil {
			t.Fatal(err)
		}
		if g, _ := s.GetRefreshTokenByHash(ctx, "g1"); g.RevokedAt == nil {
			t.Fatal("RevokeRefreshFamily left a live token")
		}
	})
}

func TestConcurrentRefreshRotation(t *testing.T) {
	// Two rotations of one token race: exactly one wins, the other is
	// treated as reuse and revokes the family (including the winner's new
	// token).
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			a := b.open(t, Options{})
			c := b.open(t, Options{})
			ctx := ctxT(t)
			u, err := a.CreateUser(ctx, User{Email: "race@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			exp := time.Now().Add(time.Hour)
			if _, err := a.InsertRefreshToken(ctx, RefreshToken{UserID: u.ID, Hash: "r0", ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 2)
			for i, s := range []*Store{a, c} {
				go func() {
					_, err := s.RotateRefreshToken(ctx, "r0", RefreshToken{Hash: "r1-" + string(rune('a'+i)), ExpiresAt: exp})
					errs <- err
				}()
			}
			var ok, reused int
			for range 2 {
				switch err := <-errs; {
				case err == nil:
					ok++
				case errors.Is(err, ErrRefreshTokenReused):
					reused++
				default:
					t.Fatalf("rotation err = %v", err)
				}
			}
			if ok != 1 || reused != 1 {
				t.Fatalf("ok=%d reused=%d, want 1 and 1", ok, reused)
			}
		})
	}
}
