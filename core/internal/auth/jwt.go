package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token defaults, used when IssuerConfig leaves a field empty.
const (
	DefaultAccessTTL     = 15 * time.Minute
	DefaultTokenIssuer   = "oneflow"
	DefaultTokenAudience = "oneflow-api"
	// DefaultLeeway absorbs clock skew between replicas when checking
	// exp, nbf and iat; small, so an expired token is not honoured long.
	DefaultLeeway = 10 * time.Second
	// MinHS256SecretLen follows RFC 7518 §3.2: an HMAC key at least as long
	// as the hash output.
	MinHS256SecretLen = 32
	// MinRSABits refuses keys weaker than 2048 bits.
	MinRSABits = 2048
)

// IssuerConfig configures NewIssuer.
type IssuerConfig struct {
	// Algorithm is "HS256" or "RS256"; it is pinned, a token signed with
	// anything else is refused.
	Algorithm string
	// Secret is the HS256 key (≥ 32 bytes).
	Secret []byte
	// PrivateKeyPEM is the RS256 signing key (PKCS#1 or PKCS#8). Leave it
	// empty and set PublicKeyPEM for an issuer that only verifies.
	PrivateKeyPEM []byte
	// PublicKeyPEM is the RS256 verification key (PKIX or PKCS#1). When
	// both are set they must be a pair; when only the private key is set
	// the public key is derived from it.
	PublicKeyPEM []byte
	AccessTTL    time.Duration
	Issuer       string
	Audience     string
	Leeway       time.Duration
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Rand supplies token ids; defaults to crypto/rand.Reader.
	Rand io.Reader
}

// Claims are the verified contents of an access token.
type Claims struct {
	UserID    string
	ProjectID string
	Role      Role
	// ID is the token's unique id (jti), for logs and a future deny list.
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Principal converts verified claims into the request's principal.
func (c Claims) Principal() Principal {
	return Principal{UserID: c.UserID, ProjectID: c.ProjectID, Role: c.Role, ExpiresAt: c.ExpiresAt}
}

// tokenClaims is the JWT payload: registered claims plus project and role.
type tokenClaims struct {
	jwt.RegisteredClaims
	ProjectID string `json:"pid,omitempty"`
	Role      string `json:"role"`
}

// Issuer signs and verifies access tokens with one pinned algorithm.
type Issuer struct {
	method    jwt.SigningMethod
	signKey   any // []byte or *rsa.PrivateKey; nil for verify-only
	verifyKey any // []byte or *rsa.PublicKey
	ttl       time.Duration
	issuer    string
	audience  string
	clock     func() time.Time
	rand      io.Reader
	parser    *jwt.Parser
}

// NewIssuer validates cfg and builds an Issuer. Errors never contain key
// material.
func NewIssuer(cfg IssuerConfig) (*Issuer, error) {
	i := &Issuer{ttl: cfg.AccessTTL, issuer: cfg.Issuer, audience: cfg.Audience, clock: cfg.Clock, rand: cfg.Rand}
	if i.ttl <= 0 {
		i.ttl = DefaultAccessTTL
	}
	if i.issuer == "" {
		i.issuer = DefaultTokenIssuer
	}
	if i.audience == "" {
		i.audience = DefaultTokenAudience
	}
	if i.clock == nil {
		i.clock = time.Now
	}
	if i.rand == nil {
		i.rand = rand.Reader
	}
	leeway := cfg.Leeway
	if leeway <= 0 {
		leeway = DefaultLeeway
	}

	switch cfg.Algorithm {
	case "HS256":
		if len(cfg.Secret) < MinHS256SecretLen {
			return nil, fmt.Errorf("auth: building token issuer: HS256 secret is %d bytes, need at least %d", len(cfg.Secret), MinHS256SecretLen)
		}
		// Copy so a caller zeroing or reusing its slice cannot change
		// our key.
		secret := append([]byte(nil), cfg.Secret...)
		i.method, i.signKey, i.verifyKey = jwt.SigningMethodHS256, secret, secret
	case "RS256":
		priv, pub, err := rsaKeys(cfg.PrivateKeyPEM, cfg.PublicKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("auth: building token issuer: %w", err)
		}
		i.method, i.verifyKey = jwt.SigningMethodRS256, pub
		if priv != nil {
			i.signKey = priv
		}
	default:
		return nil, fmt.Errorf("auth: building token issuer: algorithm %q is not HS256 or RS256", cfg.Algorithm)
	}

	i.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{i.method.Alg()}),
		jwt.WithIssuer(i.issuer),
		jwt.WithAudience(i.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(i.clock),
		jwt.WithStrictDecoding(),
	)
	return i, nil
}

// rsaKeys parses the RS256 key pair. jwt's parse errors describe the
// failure, not the PEM, so wrapping them keeps key material out of errors.
func rsaKeys(privPEM, pubPEM []byte) (*rsa.PrivateKey, *rsa.PublicKey, error) {
	var priv *rsa.PrivateKey
	var pub *rsa.PublicKey
	if len(privPEM) > 0 {
		k, err := jwt.ParseRSAPrivateKeyFromPEM(privPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("parsing RS256 private key: %w", err)
		}
		priv, pub = k, &k.PublicKey
	}
	if len(pubPEM) > 0 {
		k, err := jwt.ParseRSAPublicKeyFromPEM(pubPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("parsing RS256 public key: %w", err)
		}
		if pub != nil && !pub.Equal(k) {
			return nil, nil, errors.New("RS256 public key does not match the private key")
		}
		pub = k
	}
	if pub == nil {
		return nil, nil, errors.New("RS256 needs a private or a public key")
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, nil, fmt.Errorf("RS256 key is %d bits, need at least %d", pub.N.BitLen(), MinRSABits)
	}
	return priv, pub, nil
}

// Algorithm is the pinned signing algorithm.
func (i *Issuer) Algorithm() string { return i.method.Alg() }

// AccessTTL is how long issued tokens live.
func (i *Issuer) AccessTTL() time.Duration { return i.ttl }

// Issue signs an access token for a user acting in a project with a role.
func (i *Issuer) Issue(subjectUserID, projectID string, role Role) (token string, expiresAt time.Time, err error) {
	if i.signKey == nil {
		return "", time.Time{}, fmt.Errorf("auth: issuing access token: %w", ErrCannotIssue)
	}
	if subjectUserID == "" {
		return "", time.Time{}, errors.New("auth: issuing access token: empty subject")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issuing access token: %w", err)
	}
	var id [16]byte
	if _, err := io.ReadFull(i.rand, id[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issuing access token: reading randomness: %w", err)
	}
	// JWT times have second precision; truncate so the returned expiry is
	// exactly what the token says.
	now := i.clock().Truncate(time.Second)
	exp := now.Add(i.ttl)
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Subject:   subjectUserID,
			Audience:  jwt.ClaimStrings{i.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        hex.EncodeToString(id[:]),
		},
		ProjectID: projectID,
		Role:      string(role),
	}
	s, err := jwt.NewWithClaims(i.method, claims).SignedString(i.signKey)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: issuing access token: signing: %w", err)
	}
	return s, exp, nil
}

// Verify checks token's signature with the pinned algorithm, then issuer,
// audience, exp (required), nbf and iat with a small leeway, and returns its
// claims. Errors wrap ErrInvalidToken (and ErrTokenExpired when expired)
// and never include the token.
func (i *Issuer) Verify(token string) (Claims, error) {
	var tc tokenClaims
	_, err := i.parser.ParseWithClaims(token, &tc, func(t *jwt.Token) (any, error) {
		// WithValidMethods already refused other algorithms; checking the
		// method itself too means a future parser change cannot hand an
		// RSA public key to HMAC (the classic confusion attack).
		if t.Method != i.method {
			return nil, fmt.Errorf("unexpected signing method")
		}
		return i.verifyKey, nil
	})
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return Claims{}, fmt.Errorf("auth: verifying access token: %w", errors.Join(ErrInvalidToken, ErrTokenExpired))
		}
		return Claims{}, fmt.Errorf("auth: verifying access token: %w: %s", ErrInvalidToken, reason(err))
	}
	role, err := ParseRole(tc.Role)
	if err != nil {
		return Claims{}, fmt.Errorf("auth: verifying access token: %w: unknown role", ErrInvalidToken)
	}
	if tc.Subject == "" {
		return Claims{}, fmt.Errorf("auth: verifying access token: %w: no subject", ErrInvalidToken)
	}
	c := Claims{UserID: tc.Subject, ProjectID: tc.ProjectID, Role: role, ID: tc.ID}
	if tc.IssuedAt != nil {
		c.IssuedAt = tc.IssuedAt.Time
	}
	if tc.ExpiresAt != nil {
		c.ExpiresAt = tc.ExpiresAt.Time
	}
	return c, nil
}

// reason maps a jwt error to a fixed phrase. jwt's own messages may quote
// parts of the input (JSON decoding errors do), so they are not passed on.
func reason(err error) string {
	for _, r := range []struct {
		err  error
		text string
	}{
		{jwt.ErrTokenMalformed, "malformed"},
		{jwt.ErrTokenSignatureInvalid, "bad signature or algorithm"},
		{jwt.ErrTokenUnverifiable, "unverifiable"},
		{jwt.ErrTokenNotValidYet, "not valid yet"},
		{jwt.ErrTokenUsedBeforeIssued, "issued in the future"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{jwt.ErrTokenRequiredClaimMissing, "required claim missing"},
		{jwt.ErrTokenInvalidClaims, "invalid claims"},
	} {
		if errors.Is(err, r.err) {
			return r.text
		}
	}
	return "rejected"
}
