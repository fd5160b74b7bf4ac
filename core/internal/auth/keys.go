package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

const (
	// KeyPrefix starts every OneFlow API key, so secret scanners (and
	// people) can recognise a leaked key.
	KeyPrefix = "of_live_"
	// KeyIDLen is the length of the public lookup id after KeyPrefix.
	KeyIDLen = 8
	// KeySecretLen is the length of the secret part: 32 base62 characters
	// are log2(62)*32 ≈ 190 bits of entropy.
	KeySecretLen = 32
	// keyLen is the length of a whole key: of_live_ + id + _ + secret.
	keyLen = len(KeyPrefix) + KeyIDLen + 1 + KeySecretLen

	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// Key is a freshly generated API key. Plaintext is shown to the user once
// and never stored; Prefix is the public lookup id; Hash is what the store
// keeps.
type Key struct {
	Plaintext string
	Prefix    string
	Hash      string
}

// String redacts the secret so a Key that ends up in a log line or an
// error via %v or %s does not leak it.
func (k Key) String() string { return KeyPrefix + k.Prefix + "_<redacted>" }

// GoString redacts the secret for %#v too.
func (k Key) GoString() string {
	return "auth.Key{Prefix:" + fmt.Sprintf("%q", k.Prefix) + ", Plaintext:<redacted>}"
}

// GenerateKey makes a new API key from rand (crypto/rand.Reader in
// production; tests pass a deterministic reader).
//
// The prefix is random too, so it may collide with an existing key's prefix
// (about 2^-47 per pair); the store's unique index on the prefix catches
// that and the caller generates again.
func GenerateKey(rand io.Reader) (Key, error) {
	id, err := randomBase62(rand, KeyIDLen)
	if err != nil {
		return Key{}, fmt.Errorf("auth: generating api key id: %w", err)
	}
	secret, err := randomBase62(rand, KeySecretLen)
	if err != nil {
		return Key{}, fmt.Errorf("auth: generating api key secret: %w", err)
	}
	pt := KeyPrefix + id + "_" + secret
	return Key{Plaintext: pt, Prefix: id, Hash: HashKey(pt)}, nil
}

// ParseKey checks that plaintext has the shape of an API key and returns its
// public prefix (lookup id). It does no I/O and no hashing, so a malformed
// key is refused before it costs a store lookup.
func ParseKey(plaintext string) (prefix string, ok bool) {
	if len(plaintext) != keyLen || !strings.HasPrefix(plaintext, KeyPrefix) {
		return "", false
	}
	rest := plaintext[len(KeyPrefix):]
	id, secret := rest[:KeyIDLen], rest[KeyIDLen+1:]
	if rest[KeyIDLen] != '_' || !isBase62(id) || !isBase62(secret) {
		return "", false
	}
	return id, true
}

// HashKey returns the hex SHA-256 of an API key, the form the store keeps
// and the key cache is indexed by.
//
// A fast hash is right here, unlike for passwords: a key carries ~190 bits
// of randomness, so even a stolen hash table cannot be brute-forced at any
// hash speed, while bcrypt/argon2 would add tens of milliseconds of CPU to
// every authenticated request (and hand attackers a cheap way to burn that
// CPU with bogus keys). Slow hashes exist to protect low-entropy secrets.
func HashKey(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// VerifyKey reports whether plaintext hashes to hash. The comparison is
// constant-time in the contents of both; a hash that is not 64 hex digits
// never matches.
func VerifyKey(plaintext, hash string) bool {
	want, err := hex.DecodeString(hash)
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(plaintext))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}

// randomBase62 draws n uniformly distributed base62 characters from rand.
// Bytes ≥ 248 (= 4*62) are rejected so that b%62 has no modulo bias. The
// number of reads is bounded so a broken reader fails instead of spinning.
func randomBase62(rand io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+4)
	for attempt := 0; attempt < 16; attempt++ {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return "", fmt.Errorf("reading randomness: %w", err)
		}
		for _, b := range buf {
			if b >= 248 {
				continue
			}
			out = append(out, base62[b%62])
			if len(out) == n {
				return string(out), nil
			}
		}
	}
	return "", fmt.Errorf("reading randomness: source produced too few usable bytes")
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
