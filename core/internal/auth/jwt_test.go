package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/oneflow-ai/oneflow/core/internal/clocktest"
)

const testSecret = "0123456789abcdef0123456789abcdef-test-hmac-secret"

type rsaPair struct {
	key     *rsa.PrivateKey
	privPEM []byte
	pubPEM  []byte
}

func newRSAPair(t testing.TB, bits int) rsaPair {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatalf("generating rsa key: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatalf("marshalling rsa key: %v", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatalf("marshalling rsa public key: %v", err)
	}
	return rsaPair{
		key:     k,
		privPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pubPEM:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
}

// issuerCase is one algorithm's configuration with what an attacker or a
// test needs to forge tokens for it.
type issuerCase struct {
	alg      string
	cfg      IssuerConfig
	signKey  any      // the legitimate signing key, to craft tokens with chosen claims
	secrets  []string // must never appear in errors
	wrongKey any      // a different key of the same kind (bad signature)
}

func issuerCases(t *testing.T, clock *fakeClock) []issuerCase {
	t.Helper()
	good, other := newRSAPair(t, 2048), newRSAPair(t, 2048)
	base := IssuerConfig{AccessTTL: 15 * time.Minute, Issuer: "oneflow-test", Audience: "oneflow-api-test", Clock: clock.Now}
	hs := base
	hs.Algorithm, hs.Secret = "HS256", []byte(testSecret)
	rs := base
	rs.Algorithm, rs.PrivateKeyPEM, rs.PublicKeyPEM = "RS256", good.privPEM, good.pubPEM
	return []issuerCase{
		{alg: "HS256", cfg: hs, signKey: []byte(testSecret), secrets: []string{testSecret}, wrongKey: []byte(strings.Repeat("w", 40))},
		{alg: "RS256", cfg: rs, signKey: good.key, secrets: []string{string(good.privPEM), pemBody(good.privPEM)}, wrongKey: other.key},
	}
}

// pemBody is the first base64 line of a PEM block, to catch partial leaks.
func pemBody(p []byte) string { return strings.Split(string(p), "\n")[1] }

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatalf("signing test token: %v", err)
	}
	return s
}

func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": "oneflow-test", "aud": "oneflow-api-test", "sub": "user-1", "pid": "proj-1", "role": "member",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": "abc",
	}
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestIssueVerify(t *testing.T) {
	clock := newFakeClock()
	for _, ic := range issuerCases(t, clock) {
		t.Run(ic.alg, func(t *testing.T) {
			iss, err := NewIssuer(ic.cfg)
			if err != nil {
				t.Fatalf("NewIssuer: %v", err)
			}
			if iss.Algorithm() != ic.alg {
				t.Fatalf("Algorithm = %q", iss.Algorithm())
			}
			tok, exp, err := iss.Issue("user-1", "proj-1", RoleMember)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if want := clock.Now().Add(15 * time.Minute); !exp.Equal(want) {
				t.Fatalf("expiresAt = %v, want %v", exp, want)
			}
			c, err := iss.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.UserID != "user-1" || c.ProjectID != "proj-1" || c.Role != RoleMember || c.ID == "" ||
				!c.ExpiresAt.Equal(exp) || !c.IssuedAt.Equal(clock.Now()) {
				t.Fatalf("claims = %+v", c)
			}
			if p := c.Principal(); p.UserID != "user-1" || p.Role != RoleMember || !p.ExpiresAt.Equal(exp) {
				t.Fatalf("principal = %+v", p)
			}
			tok2, _, err := iss.Issue("user-1", "proj-1", RoleMember)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if tok2 == tok {
				t.Fatal("two tokens issued in the same second are identical (jti not random)")
			}
		})
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	iss, err := NewIssuer(IssuerConfig{Algorithm: "HS256", Secret: []byte(testSecret)})
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	tests := []struct {
		name, sub string
		role      Role
	}{
		{"empty subject", "", RoleAdmin},
		{"unknown role", "u", Role("root")},
		{"empty role", "u", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := iss.Issue(tt.sub, "p", tt.role); err == nil {
				t.Fatal("Issue succeeded")
			}
		})
	}
	t.Run("broken randomness", func(t *testing.T) {
		broken, err := NewIssuer(IssuerConfig{Algorithm: "HS256", Secret: []byte(testSecret), Rand: iotest.ErrReader(errors.New("no entropy"))})
		if err != nil {
			t.Fatalf("NewIssuer: %v", err)
		}
		if _, _, err := broken.Issue("u", "p", RoleAdmin); err == nil {
			t.Fatal("Issue succeeded without randomness for the jti")
		}
	})
}

// TestVerifyRefusesAttacks is the heart of this file: every token below
// must be refused, for both algorithms.
func TestVerifyRefusesAttacks(t *testing.T) {
	clock := newFakeClock()
	cases := issuerCases(t, clock)
	attacker := newRSAPair(t, 2048)
	rsPub := cases[1].cfg.PublicKeyPEM

	for _, ic := range cases {
		t.Run(ic.alg, func(t *testing.T) {
			iss, err := NewIssuer(ic.cfg)
			if err != nil {
				t.Fatalf("NewIssuer: %v", err)
			}
			now := clock.Now()
			m := jwt.GetSigningMethod(ic.alg)
			good := sign(t, m, ic.signKey, validClaims(now))
			if _, err := iss.Verify(good); err != nil {
				t.Fatalf("control token refused: %v", err)
			}
			parts := strings.Split(good, ".")

			tests := []struct {
				name    string
				token   string
				expired bool
			}{
				{"empty", "", false},
				{"garbage", "not.a.jwt", false},
				{"two segments", parts[0] + "." + parts[1], false},
				{"alg none, empty signature", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(validClaims(now)) + ".", false},
				{"alg None, empty signature", b64(map[string]string{"alg": "None", "typ": "JWT"}) + "." + b64(validClaims(now)) + ".", false},
				{"alg none, original signature", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + "." + parts[2], false},
				{"no alg header", b64(map[string]string{"typ": "JWT"}) + "." + parts[1] + "." + parts[2], false},
				// The classic confusion attack: HS256 "signed" with the
				// RS256 public key as the HMAC secret.
				{"HS256 with RSA public key as secret", sign(t, jwt.SigningMethodHS256, rsPub, validClaims(now)), false},
				{"HS384 with the secret", sign(t, jwt.SigningMethodHS384, []byte(testSecret), validClaims(now)), false},
				{"RS256 by an attacker key", sign(t, jwt.SigningMethodRS256, attacker.key, validClaims(now)), false},
				{"PS256 by an attacker key", sign(t, jwt.SigningMethodPS256, attacker.key, validClaims(now)), false},
				{"bad signature", sign(t, m, ic.wrongKey, validClaims(now)), false},
				{"signature stripped", parts[0] + "." + parts[1] + ".", false},
				{"tampered claims", parts[0] + "." + b64(with(validClaims(now), "role", "admin")) + "." + parts[2], false},
				{"tampered subject", parts[0] + "." + b64(with(validClaims(now), "sub", "user-2")) + "." + parts[2], false},
				{"expired", sign(t, m, ic.signKey, with(validClaims(now), "exp", now.Add(-time.Minute).Unix())), true},
				{"not yet valid", sign(t, m, ic.signKey, with(validClaims(now), "nbf", now.Add(time.Hour).Unix())), false},
				{"issued in the future", sign(t, m, ic.signKey, with(validClaims(now), "iat", now.Add(time.Hour).Unix())), false},
				{"no exp", sign(t, m, ic.signKey, with(validClaims(now), "exp", nil)), false},
				{"wrong issuer", sign(t, m, ic.signKey, with(validClaims(now), "iss", "evil")), false},
				{"no issuer", sign(t, m, ic.signKey, with(validClaims(now), "iss", nil)), false},
				{"wrong audience", sign(t, m, ic.signKey, with(validClaims(now), "aud", "other-api")), false},
				{"no audience", sign(t, m, ic.signKey, with(validClaims(now), "aud", nil)), false},
				{"unknown role", sign(t, m, ic.signKey, with(validClaims(now), "role", "root")), false},
				{"no subject", sign(t, m, ic.signKey, with(validClaims(now), "sub", nil)), false},
				{"exp as string", sign(t, m, ic.signKey, with(validClaims(now), "exp", "never")), false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c, err := iss.Verify(tt.token)
					if err == nil {
						t.Fatalf("accepted, claims %+v", c)
					}
					if !errors.Is(err, ErrInvalidToken) {
						t.Fatalf("error %v does not wrap ErrInvalidToken", err)
					}
					if got := errors.Is(err, ErrTokenExpired); got != tt.expired {
						t.Fatalf("errors.Is(err, ErrTokenExpired) = %v, want %v (%v)", got, tt.expired, err)
					}
					if c != (Claims{}) {
						t.Fatalf("claims returned with an error: %+v", c)
					}
					secrets := append([]string{}, ic.secrets...)
					if len(tt.token) > 20 {
						secrets = append(secrets, tt.token, parts[2])
					}
					assertNoSecrets(t, err, secrets...)
				})
			}
		})
	}
}

func TestVerifyTimeWindow(t *testing.T) {
	clock := newFakeClock()
	for _, ic := range issuerCases(t, clock) {
		t.Run(ic.alg, func(t *testing.T) {
			cfg := ic.cfg
			cfg.Leeway = 5 * time.Second
			iss, err := NewIssuer(cfg)
			if err != nil {
				t.Fatalf("NewIssuer: %v", err)
			}
			start := clock.Now()
			tok, _, err := iss.Issue("u", "p", RoleViewer)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			tests := []struct {
				name    string
				at      time.Duration // since issue
				ok      bool
				expired bool
			}{
				{"issue time", 0, true, false},
				{"clock of verifier slightly behind", -4 * time.Second, true, false},
				{"verifier far behind", -time.Minute, false, false},
				{"just before expiry", 15*time.Minute - time.Second, true, false},
				{"within leeway after expiry", 15*time.Minute + 4*time.Second, true, false},
				{"past leeway", 15*time.Minute + 6*time.Second, false, true},
				{"long expired", 24 * time.Hour, false, true},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					at := clocktest.New(start.Add(tt.at))
					cfg := cfg
					cfg.Clock = at.Now
					v, err := NewIssuer(cfg)
					if err != nil {
						t.Fatalf("NewIssuer: %v", err)
					}
					_, err = v.Verify(tok)
					if (err == nil) != tt.ok {
						t.Fatalf("Verify err = %v, want ok=%v", err, tt.ok)
					}
					if errors.Is(err, ErrTokenExpired) != tt.expired {
						t.Fatalf("expired = %v, want %v", errors.Is(err, ErrTokenExpired), tt.expired)
					}
				})
			}
		})
	}
}

func TestNewIssuerConfig(t *testing.T) {
	pair := newRSAPair(t, 2048)
	other := newRSAPair(t, 2048)
	weak := newRSAPair(t, 1024)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(pair.key)})
	tests := []struct {
		name    string
		cfg     IssuerConfig
		wantErr string
		secrets []string
	}{
		{"hs256 ok", IssuerConfig{Algorithm: "HS256", Secret: []byte(testSecret)}, "", nil},
		{"hs256 short secret", IssuerConfig{Algorithm: "HS256", Secret: []byte("short-secret-value")}, "at least 32", []string{"short-secret-value"}},
		{"hs256 no secret", IssuerConfig{Algorithm: "HS256"}, "at least 32", nil},
		{"rs256 pkcs8 pair", IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: pair.privPEM, PublicKeyPEM: pair.pubPEM}, "", nil},
		{"rs256 pkcs1 private only", IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: pkcs1}, "", nil},
		{"rs256 public only", IssuerConfig{Algorithm: "RS256", PublicKeyPEM: pair.pubPEM}, "", nil},
		{"rs256 nothing", IssuerConfig{Algorithm: "RS256"}, "needs a private or a public key", nil},
		{"rs256 mismatched pair", IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: pair.privPEM, PublicKeyPEM: other.pubPEM}, "does not match", []string{pemBody(pair.privPEM)}},
		{"rs256 weak key", IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: weak.privPEM}, "1024 bits", []string{pemBody(weak.privPEM)}},
		{"rs256 garbage private", IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n")}, "private key", []string{"c2VjcmV0LWtleS1ieXRlcw"}},
		{"rs256 secret given as pem", IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: []byte(testSecret)}, "private key", []string{testSecret}},
		{"rs256 public key as private", IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: pair.pubPEM}, "private key", []string{pemBody(pair.pubPEM)}},
		{"no algorithm", IssuerConfig{Secret: []byte(testSecret)}, "not HS256 or RS256", []string{testSecret}},
		{"alg none", IssuerConfig{Algorithm: "none", Secret: []byte(testSecret)}, "not HS256 or RS256", []string{testSecret}},
		{"lowercase alg", IssuerConfig{Algorithm: "hs256", Secret: []byte(testSecret)}, "not HS256 or RS256", []string{testSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := NewIssuer(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewIssuer: %v", err)
				}
				if iss.AccessTTL() != DefaultAccessTTL {
					t.Fatalf("AccessTTL = %v, want default", iss.AccessTTL())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
			assertNoSecrets(t, err, tt.secrets...)
		})
	}
}

func TestVerifyOnlyIssuer(t *testing.T) {
	pair := newRSAPair(t, 2048)
	signer, err := NewIssuer(IssuerConfig{Algorithm: "RS256", PrivateKeyPEM: pair.privPEM})
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	verifier, err := NewIssuer(IssuerConfig{Algorithm: "RS256", PublicKeyPEM: pair.pubPEM})
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	tok, _, err := signer.Issue("u", "p", RoleAdmin)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if c, err := verifier.Verify(tok); err != nil || c.Role != RoleAdmin {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	if _, _, err := verifier.Issue("u", "p", RoleAdmin); !errors.Is(err, ErrCannotIssue) {
		t.Fatalf("verify-only Issue err = %v, want ErrCannotIssue", err)
	}
}

func TestSecretCopied(t *testing.T) {
	secret := []byte(testSecret)
	iss, err := NewIssuer(IssuerConfig{Algorithm: "HS256", Secret: secret})
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	tok, _, err := iss.Issue("u", "p", RoleViewer)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	for i := range secret {
		secret[i] = 0
	}
	if _, err := iss.Verify(tok); err != nil {
		t.Fatalf("zeroing the caller's slice changed the issuer's key: %v", err)
	}
}

// FuzzVerify feeds arbitrary strings to both verifiers: API-key hashes and
// JWTs. Neither may panic, and a JWT that verifies must carry sane claims.
func FuzzVerify(f *testing.F) {
	clock := newFakeClock()
	iss, err := NewIssuer(IssuerConfig{Algorithm: "HS256", Secret: []byte(testSecret), Clock: clock.Now})
	if err != nil {
		f.Fatalf("NewIssuer: %v", err)
	}
	tok, _, err := iss.Issue("user-1", "proj-1", RoleMember)
	if err != nil {
		f.Fatalf("Issue: %v", err)
	}
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		f.Fatalf("GenerateKey: %v", err)
	}
	f.Add(tok, k.Hash)
	f.Add(k.Plaintext, k.Hash)
	f.Add("eyJhbGciOiJub25lIn0.e30.", "")
	f.Add("a.b.c", strings.Repeat("0", 64))
	f.Add("....", "zz")
	f.Fuzz(func(t *testing.T, token, hash string) {
		_ = VerifyKey(token, hash)
		c, err := iss.Verify(token)
		if err != nil {
			assertNoSecrets(t, err, testSecret)
			return
		}
		if c.UserID == "" {
			t.Fatalf("verified token without a subject: %+v", c)
		}
		if _, err := ParseRole(string(c.Role)); err != nil {
			t.Fatalf("verified token with role %q", c.Role)
		}
	})
}
