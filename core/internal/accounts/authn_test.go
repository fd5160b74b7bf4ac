package accounts

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oneflow-ai/oneflow/core/internal/auth"
	"github.com/oneflow-ai/oneflow/core/internal/server"
)

func TestAuthenticate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, logs := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 0)
		u, err := s.CreateUser(ctx, "ada@example.com", "Ada")
		if err != nil {
			t.Fatal(err)
		}
		member := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, UserID: u.ID, Name: "ci", Role: "member"})
		admin := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, Name: "ops", Role: "admin"})
		tok, err := s.IssueTokens(ctx, member.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		keyTok, err := s.IssueTokens(ctx, admin.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		wrongSecret := member.Plaintext[:len(member.Plaintext)-4] + "AAAA"
		if wrongSecret == member.Plaintext {
			wrongSecret = member.Plaintext[:len(member.Plaintext)-4] + "BBBB"
		}
		unknown, err := auth.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name       string
			credential string
			want       *server.Principal
			err        error
		}{
			{"member api key", member.Plaintext,
				&server.Principal{KeyID: member.ID, UserID: u.ID, Project: p.ID, Role: "member"}, nil},
			{"admin api key without user", admin.Plaintext,
				&server.Principal{KeyID: admin.ID, Project: p.ID, Role: "admin", Admin: true}, nil},
			{"bootstrap admin key", testAdminKey,
				&server.Principal{UserID: auth.BootstrapAdminUserID, Project: "default", Role: "admin", Admin: true, Bootstrap: true}, nil},
			{"jwt of a user key", tok.AccessToken,
				&server.Principal{UserID: u.ID, Project: p.ID, Role: "member"}, nil},
			{"jwt of a key without user", keyTok.AccessToken,
				&server.Principal{KeyID: admin.ID, Project: p.ID, Role: "admin", Admin: true}, nil},
			{"wrong secret", wrongSecret, nil, server.ErrUnauthorized},
			{"unknown key", unknown.Plaintext, nil, server.ErrUnauthorized},
			{"garbage", "not-a-key", nil, server.ErrUnauthorized},
			{"empty", "", nil, server.ErrUnauthorized},
			{"garbage jwt", "a.b.c", nil, server.ErrUnauthorized},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Authenticate(ctx, tt.credential)
				wantErr(t, "authenticate", err, tt.err)
				if tt.err != nil {
					if got != nil {
						t.Fatalf("principal %+v with an error", got)
					}
					if tt.credential != "" && strings.Contains(err.Error(), tt.credential) {
						t.Fatalf("error %q contains the credential", err)
					}
					return
				}
				if *got != *tt.want {
					t.Fatalf("principal = %+v, want %+v", *got, *tt.want)
				}
			})
		}
		for _, secret := range []string{member.Plaintext, admin.Plaintext, testAdminKey, tok.AccessToken, tok.RefreshToken, wrongSecret} {
			if strings.Contains(logs.String(), secret) {
				t.Fatal("a secret reached the logs")
			}
		}
	})
}

func TestRevokedKeyRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		st := e.open(t)
		// Two replicas: each has its own key cache.
		a, _ := newService(t, e, st, nil)
		b, _ := newService(t, e, e.open(t), nil)
		ctx := ctxT(t)
		p := mustProject(t, a, "acme", 0)
		k := mustKey(t, a, server.KeyRequest{ProjectID: p.ID, Name: "k"})
		for _, s := range []*Service{a, b} {
			if _, err := s.Authenticate(ctx, k.Plaintext); err != nil {
				t.Fatalf("before revocation: %v", err)
			}
		}
		if _, err := a.RevokeKey(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name    string
			advance time.Duration
			replica *Service
			err     error
		}{
			{"same replica refuses at once", 0, a, server.ErrUnauthorized},
			{"other replica still trusts its cache", 0, b, nil},
			{"other replica inside the ttl", DefaultRevocationTTL - time.Second, b, nil},
			{"other replica after the ttl", time.Second, b, server.ErrUnauthorized},
		}
		for _, st := range steps {
			e.clock.Advance(st.advance)
			_, err := st.replica.Authenticate(ctx, k.Plaintext)
			wantErr(t, st.name, err, st.err)
		}
		// Revoking twice is fine; an unknown key is not found.
		if _, err := a.RevokeKey(ctx, k.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		_, err := a.RevokeKey(ctx, "key_missing")
		wantErr(t, "revoke unknown", err, server.ErrNotFound)
	})
}

func TestRotationGrace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, _ := newService(t, e, e.open(t), func(c *Config) { c.KeyRotationGrace = time.Hour })
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 0)
		exp := e.clock.Now().Add(30 * 24 * time.Hour)
		old := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, Name: "svc", Role: "viewer", ExpiresAt: &exp})
		if _, err := s.Authenticate(ctx, old.Plaintext); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(24 * time.Hour)
		next, err := s.RotateKey(ctx, old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if next.Replaces != old.ID || next.OldGraceUntil == nil || !next.OldGraceUntil.Equal(e.clock.Now().Add(time.Hour)) {
			t.Fatalf("rotation result %+v", next.Key)
		}
		if next.Name != "svc" || next.Role != "viewer" || next.ProjectID != p.ID || next.Plaintext == "" || next.Plaintext == old.Plaintext {
			t.Fatalf("successor %+v does not copy the old key", next.Key)
		}
		if next.ExpiresAt == nil || !next.ExpiresAt.Equal(e.clock.Now().Add(30*24*time.Hour)) {
			t.Fatalf("successor expires %v, want the same lifetime from now", next.ExpiresAt)
		}
		_, err = s.RotateKey(ctx, old.ID)
		wantErr(t, "rotate twice", err, server.ErrInvalid)

		steps := []struct {
			name    string
			advance time.Duration
			oldErr  error
		}{
			{"inside grace both work", 0, nil},
			{"just before the end of grace", time.Hour - time.Second, nil},
			{"after grace only the new key", time.Second, server.ErrUnauthorized},
		}
		for _, st := range steps {
			e.clock.Advance(st.advance)
			_, err := s.Authenticate(ctx, old.Plaintext)
			wantErr(t, st.name+": old key", err, st.oldErr)
			got, err := s.Authenticate(ctx, next.Plaintext)
			wantErr(t, st.name+": new key", err, nil)
			if got.KeyID != next.ID {
				t.Fatalf("%s: new key resolved to %s", st.name, got.KeyID)
			}
		}
		keys, err := s.ListKeys(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].RotatedTo != next.ID || keys[0].GraceUntil == nil {
			t.Fatalf("keys after rotation: %+v", keys)
		}
		_, err = s.RotateKey(ctx, next.ID+"x")
		wantErr(t, "rotate unknown", err, server.ErrNotFound)
	})
}

func TestScheduledRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		s, logs := newService(t, e, e.open(t), func(c *Config) {
			c.KeyRotationInterval = 90 * 24 * time.Hour
			c.KeyRotationGrace = 48 * time.Hour
		})
		ctx := ctxT(t)
		p := mustProject(t, s, "acme", 0)
		old := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, Name: "old"})
		e.clock.Advance(60 * 24 * time.Hour)
		young := mustKey(t, s, server.KeyRequest{ProjectID: p.ID, Name: "young"})
		e.clock.Advance(31 * 24 * time.Hour) // old: 91 days, young: 31 days
		s.rotateDue(ctx)
		s.rotateDue(ctx) // a second run (or replica) changes nothing
		if n := strings.Count(logs.String(), "due for rotation"); n != 1 {
			t.Fatalf("%d rotation warnings, want 1:\n%s", n, logs)
		}
		if !strings.Contains(logs.String(), old.ID) || strings.Contains(logs.String(), old.Plaintext) {
			t.Fatal("the warning must name the key, not its secret")
		}
		for _, k := range []server.CreatedKey{old, young} {
			if _, err := s.Authenticate(ctx, k.Plaintext); err != nil {
				t.Fatalf("inside grace %s: %v", k.Name, err)
			}
		}
		// The operator rotates the old key during its grace period.
		next, err := s.RotateKey(ctx, old.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !next.OldGraceUntil.Equal(e.clock.Now().Add(48 * time.Hour)) {
			t.Fatalf("old grace %v", next.OldGraceUntil)
		}
		e.clock.Advance(48 * time.Hour)
		_, err = s.Authenticate(ctx, old.Plaintext)
		wantErr(t, "old key after grace", err, server.ErrUnauthorized)
		for _, k := range []server.CreatedKey{young, next} {
			if _, err := s.Authenticate(ctx, k.Plaintext); err != nil {
				t.Fatalf("%s after grace: %v", k.Name, err)
			}
		}
	})
}

// rsaPair returns a 2048-bit key as PKCS#8 private and PKIX public PEM.
func rsaPair(t *testing.T) (*rsa.PrivateKey, string, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}

func TestJWTAttacksRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e env) {
		st := e.open(t)
		hs, _ := newService(t, e, st, nil)
		rsKey, privPEM, pubPEM := rsaPair(t)
		rs, _ := newService(t, e, st, func(c *Config) {
			c.JWT = JWTConfig{Algorithm: "RS256", PrivateKeyPEM: privPEM}
		})
		ctx := ctxT(t)
		p := mustProject(t, hs, "acme", 0)
		k := mustKey(t, hs, server.KeyRequest{ProjectID: p.ID, Role: "admin"})
		good, err := hs.IssueTokens(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		claims := func() jwt.MapClaims {
			return jwt.MapClaims{
				"iss": auth.DefaultTokenIssuer, "aud": auth.DefaultTokenAudience, "sub": "usr_x", "pid": p.ID,
				"role": "admin", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			}
		}
		sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
			s, err := jwt.NewWithClaims(m, c).SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		// A control: a well-formed token signed with the real secret works,
		// so the refusals below are about the attack, not the shape.
		control := sign(jwt.SigningMethodHS256, []byte(testJWTSecret), claims())
		if _, err := hs.Authenticate(ctx, control); err != nil {
			t.Fatalf("control token refused: %v", err)
		}
		expired := claims()
		expired["iat"], expired["nbf"], expired["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		parts := strings.Split(good.AccessToken, ".")
		tampered := claims()
		tampered["role"] = "admin"
		tamperedTok := strings.Split(sign(jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes!!"), tampered), ".")

		tests := []struct {
			name  string
			svc   *Service
			token string
		}{
			{"alg none", hs, sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims())},
			{"expired", hs, sign(jwt.SigningMethodHS256, []byte(testJWTSecret), expired)},
			{"bad signature", hs, sign(jwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes!!"), claims())},
			{"payload swapped under a real signature", hs, parts[0] + "." + tamperedTok[1] + "." + parts[2]},
			{"wrong alg HS512 with the right secret", hs, sign(jwt.SigningMethodHS512, []byte(testJWTSecret), claims())},
			{"wrong alg RS256 on an HS256 service", hs, sign(jwt.SigningMethodRS256, rsKey, claims())},
			{"alg confusion: HS256 signed with the RSA public key", rs, sign(jwt.SigningMethodHS256, []byte(pubPEM), claims())},
			{"unknown role", hs, func() string {
				c := claims()
				c["role"] = "root"
				return sign(jwt.SigningMethodHS256, []byte(testJWTSecret), c)
			}()},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := tt.svc.Authenticate(ctx, tt.token)
				wantErr(t, "authenticate", err, server.ErrUnauthorized)
				if p != nil {
					t.Fatalf("principal %+v", p)
				}
			})
		}
		// An issued token expires with the fake clock too.
		e.clock.Advance(auth.DefaultAccessTTL + auth.DefaultLeeway + time.Second)
		_, err = hs.Authenticate(ctx, good.AccessToken)
		wantErr(t, "issued token after expiry", err, server.ErrUnauthorized)
		// The RS256 service signs and verifies its own tokens.
		rt, err := rs.IssueTokens(ctx, k.Plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Authenticate(ctx, rt.AccessToken); err != nil {
			t.Fatalf("rs256 token: %v", err)
		}
		_, err = hs.Authenticate(ctx, rt.AccessToken)
		wantErr(t, "rs256 token on the hs256 service", err, server.ErrUnauthorized)
	})
}
