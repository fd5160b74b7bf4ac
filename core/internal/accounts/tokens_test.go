package accounts

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneflow-ai/oneflow/core/internal/auth"
	"github.com/oneflow-ai/oneflow/core/internal/server"
)

func TestRefreshRotationAndReuse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, logs := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 0)
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, Role: "member"})

		first, err := s.IssueTokens(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if first.TokenType != "Bearer" || first.ExpiresIn != int64(auth.DefaultAccessTTL/time.Second) ||
			!strings.HasPrefix(first.RefreshToken, auth.RefreshTokenPrefix) ||
			!first.RefreshExpiresAt.Equal(e.clock.Now().Add(auth.DefaultRefreshTTL)) {
			t.Fatalf("tokens %+v", first)
		}
		e.clock.Advance(time.Minute)
		second, err := s.RefreshTokens(ctx, first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if second.RefreshToken == first.RefreshToken || !second.RefreshExpiresAt.Equal(first.RefreshExpiresAt) {
			t.Fatalf("refresh must rotate without extending the family: %+v", second)
		}
		got, err := s.Authenticate(ctx, second.AccessToken)
		if err != nil || got.KeyID != k.ID || got.Project != p.ID || got.Role != "member" {
			t.Fatalf("refreshed access token: %+v, %v", got, err)
		}
		third, err := s.RefreshTokens(ctx, second.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}

		steps := []struct {
			name  string
			token string
			err   error
		}{
			{"reusing a retired token is refused", first.RefreshToken, server.ErrUnauthorized},
			{"and revoked the family: the live token too", third.RefreshToken, server.ErrUnauthorized},
			{"unknown token", auth.RefreshTokenPrefix + "nope", server.ErrUnauthorized},
			{"empty token", "", server.ErrUnauthorized},
		}
		for _, st := range steps {
			_, err := s.RefreshTokens(ctx, st.token)
			wantErr(t, st.name, err, st.err)
		}

		// A fresh login works again; revoking its key ends the session.
		fresh, err := s.IssueTokens(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.RefreshTokens(ctx, fresh.RefreshToken)
		wantErr(t, "refresh after key revocation", err, server.ErrUnauthorized)
		_, err = s.IssueTokens(ctx, k.Plaintext)
		wantErr(t, "issue with a revoked key", err, server.ErrUnauthorized)
		_, err = s.IssueTokens(ctx, fresh.AccessToken)
		wantErr(t, "a jwt cannot be exchanged", err, server.ErrUnauthorized)

		for _, secret := range []string{k.Plaintext, first.RefreshToken, second.RefreshToken, third.RefreshToken, fresh.AccessToken} {
			if strings.Contains(logs.String(), secret) {
				t.Fatal("a secret reached the logs")
			}
		}
	})
}

func TestRefreshExpiresWithFamily(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), func(c *Config) { c.JWT.RefreshTTL = time.Hour })
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 0)
		k := mustKey(t, s, server.KeyRequest{ProjectID: p.ID})
		tok, err := s.IssueTokens(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
		_, err = s.RefreshTokens(ctx, tok.RefreshToken)
		wantErr(t, "refresh after the family expired", err, server.ErrUnauthorized)
		// Cleanup deletes it.
		s.cleanup(ctx)
		_, err = s.RefreshTokens(ctx, tok.RefreshToken)
		wantErr(t, "refresh after cleanup", err, server.ErrUnauthorized)
	})
}

func TestConcurrentRefreshOneWins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		a, _ := newService(t, e, e.open(t), nil)
		b, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, a, "acme", 0)
		k := mustKey(t, a, server.KeyRequest{ProjectID: p.ID})
		tok, err := a.IssueTokens(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		results := make(chan error, n)
		for i := range n {
			svc := a
			if i%2 == 1 {
				svc = b
			}
			wg.Go(func() {
				_, err := svc.RefreshTokens(ctx, tok.RefreshToken)
				results <- err
			})
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			if err == nil {
				ok++
				continue
			}
			wantErr(t, "losing refresh", err, server.ErrUnauthorized)
		}
		// Exactly one wins: a loser revokes the family only after seeing
		// the winner's rotation, so the first rotation always commits.
		if ok != 1 {
			t.Fatalf("%d concurrent refreshes of one token succeeded", ok)
		}
	})
}

func TestBootstrapTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		tok, err := s.IssueTokens(ctx, testAdminKey)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Authenticate(ctx, tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		want := server.Principal{UserID: auth.BootstrapAdminUserID, Project: "default", Role: "admin", Admin: true}
		if *p != want {
			t.Fatalf("principal %+v, want %+v (a token is not exempt from limits)", *p, want)
		}
		if _, err := s.RefreshTokens(ctx, tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
		// Another replica configured without the admin key ends the session.
		other, _ := newService(t, e, e.open(t), func(c *Config) { c.AdminKey = "" })
		tok2, err := s.IssueTokens(ctx, testAdminKey)
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.RefreshTokens(ctx, tok2.RefreshToken)
		wantErr(t, "refresh bootstrap session without an admin key", err, server.ErrUnauthorized)
	})
}

func TestTokensDisabled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		_, _, pubPEM := rsaPair(t)
		tests := []struct {
			name string
			jwt  JWTConfig
			want string
		}{
			{"no secret", JWTConfig{}, "ONEFLOW_JWT_SECRET"},
			{"explicit HS256 without secret", JWTConfig{Algorithm: "HS256"}, "auth.jwt_secret"},
			{"RS256 verify only", JWTConfig{Algorithm: "RS256", PublicKeyPEM: pubPEM}, "private key"},
		}
		st := e.open(t)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, _ := newService(t, e, st, func(c *Config) { c.JWT = tt.jwt })
				ctx := ctxT(t)
				_, err := s.IssueTokens(ctx, testAdminKey)
				wantErr(t, "issue", err, server.ErrInvalid)
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %q should mention %q", err, tt.want)
				}
				_, err = s.RefreshTokens(ctx, auth.RefreshTokenPrefix+"x")
				wantErr(t, "refresh", err, server.ErrInvalid)
			})
		}
		bad := []struct {
			name string
			jwt  JWTConfig
		}{
			{"short secret", JWTConfig{Secret: "short"}},
			{"unknown algorithm", JWTConfig{Algorithm: "ES256", Secret: testJWTSecret}},
			{"RS256 without keys", JWTConfig{Algorithm: "RS256"}},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				_, err := New(ctxT(t), Config{Store: st, JWT: tt.jwt})
				if err == nil {
					t.Fatal("New accepted an unusable JWT configuration")
				}
				if tt.jwt.Secret != "" && strings.Contains(err.Error(), tt.jwt.Secret) {
					t.Fatal("the error echoes the secret")
				}
			})
		}
	})
}
