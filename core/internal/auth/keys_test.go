package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
)

var keyShape = regexp.MustCompile(`^of_live_[0-9A-Za-z]{8}_[0-9A-Za-z]{32}$`)

func TestGenerateKeyFormat(t *testing.T) {
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	if !keyShape.MatchString(k.Plaintext) {
		t.Fatalf("plaintext %q does not have the key shape", k.Plaintext)
	}
	if !strings.HasPrefix(k.Plaintext, KeyPrefix+k.Prefix+"_") {
		t.Fatalf("prefix %q is not the key's id", k.Prefix)
	}
	if len(k.Hash) != 64 || k.Hash != HashKey(k.Plaintext) {
		t.Fatalf("hash %q is not the hex sha-256 of the key", k.Hash)
	}
	if got, ok := ParseKey(k.Plaintext); !ok || got != k.Prefix {
		t.Fatalf("ParseKey = %q, %v; want %q, true", got, ok, k.Prefix)
	}
	if !VerifyKey(k.Plaintext, k.Hash) {
		t.Fatal("VerifyKey refused the generated key")
	}
}

func TestGenerateKeyUnique(t *testing.T) {
	const n = 2000
	plain, prefixes, hashes := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := 0; i < n; i++ {
		k, err := GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("GenerateKey: %v", err)
		}
		if plain[k.Plaintext] || prefixes[k.Prefix] || hashes[k.Hash] {
			t.Fatalf("duplicate after %d keys", i)
		}
		plain[k.Plaintext], prefixes[k.Prefix], hashes[k.Hash] = true, true, true
	}
}

func TestGenerateKeyUsesAllBase62(t *testing.T) {
	seen := map[rune]bool{}
	for i := 0; i < 200; i++ {
		k, err := GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("GenerateKey: %v", err)
		}
		for _, r := range k.Plaintext[len(KeyPrefix):] {
			seen[r] = true
		}
	}
	for _, r := range base62 {
		if !seen[r] {
			t.Errorf("character %q never generated in 200 keys", r)
		}
	}
}

func TestGenerateKeyBrokenRandomness(t *testing.T) {
	tests := []struct {
		name string
		r    interface{ Read([]byte) (int, error) }
	}{
		{"reader error", iotest.ErrReader(errors.New("entropy exhausted"))},
		{"short reader", strings.NewReader("abc")},
		{"only rejected bytes", constReader(0xff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := GenerateKey(tt.r); err == nil {
				t.Fatal("GenerateKey succeeded with a broken reader")
			}
			if _, _, err := NewRefreshToken(tt.r); err == nil {
				t.Fatal("NewRefreshToken succeeded with a broken reader")
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	good := "of_live_AbCd1234_" + strings.Repeat("x", 32)
	tests := []struct {
		name   string
		in     string
		prefix string
		ok     bool
	}{
		{"valid", good, "AbCd1234", true},
		{"empty", "", "", false},
		{"wrong scheme", "of_test_AbCd1234_" + strings.Repeat("x", 32), "", false},
		{"too short", good[:len(good)-1], "", false},
		{"too long", good + "x", "", false},
		{"missing separator", "of_live_AbCd1234x" + strings.Repeat("x", 32), "", false},
		{"non base62 in id", "of_live_AbCd-234_" + strings.Repeat("x", 32), "", false},
		{"non base62 in secret", "of_live_AbCd1234_" + strings.Repeat("x", 31) + "/", "", false},
		{"utf8 in secret", "of_live_AbCd1234_" + strings.Repeat("x", 30) + "é", "", false},
		{"refresh token", RefreshTokenPrefix + strings.Repeat("x", 43), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix, ok := ParseKey(tt.in)
			if prefix != tt.prefix || ok != tt.ok {
				t.Fatalf("ParseKey(%q) = %q, %v; want %q, %v", tt.in, prefix, ok, tt.prefix, tt.ok)
			}
		})
	}
}

func TestVerifyKey(t *testing.T) {
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	other, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	tests := []struct {
		name      string
		plaintext string
		hash      string
		want      bool
	}{
		{"match", k.Plaintext, k.Hash, true},
		{"uppercase hex hash", k.Plaintext, strings.ToUpper(k.Hash), true},
		{"other key", other.Plaintext, k.Hash, false},
		{"one character changed", k.Plaintext[:len(k.Plaintext)-1] + flip(k.Plaintext[len(k.Plaintext)-1]), k.Hash, false},
		{"empty hash", k.Plaintext, "", false},
		{"truncated hash", k.Plaintext, k.Hash[:62], false},
		{"non hex hash", k.Plaintext, strings.Repeat("z", 64), false},
		{"plaintext as hash", k.Plaintext, k.Plaintext, false},
		{"empty plaintext", "", k.Hash, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyKey(tt.plaintext, tt.hash); got != tt.want {
				t.Fatalf("VerifyKey = %v, want %v", got, tt.want)
			}
		})
	}
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func TestKeyFormattingRedactsSecret(t *testing.T) {
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	secret := k.Plaintext[len(KeyPrefix)+KeyIDLen+1:]
	for _, verb := range []string{"%v", "%s", "%+v", "%#v"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, secret) || strings.Contains(out, k.Hash) {
			t.Errorf("%s of a Key leaks: %s", verb, out)
		}
		if !strings.Contains(out, k.Prefix) {
			t.Errorf("%s of a Key lost the public prefix: %s", verb, out)
		}
	}
	pair := TokenPair{AccessToken: "access-secret", RefreshToken: "refresh-secret"}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v"} {
		if out := fmt.Sprintf(verb, pair); strings.Contains(out, "secret") {
			t.Errorf("%s of a TokenPair leaks: %s", verb, out)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add("of_live_AbCd1234_" + strings.Repeat("x", 32))
	f.Add("of_live_")
	f.Add("of_live_AbCd1234_")
	f.Add("")
	f.Add("of_live_\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		prefix, ok := ParseKey(s)
		if !ok {
			if prefix != "" {
				t.Fatalf("refused key returned prefix %q", prefix)
			}
			return
		}
		if !keyShape.MatchString(s) || len(prefix) != KeyIDLen || s[len(KeyPrefix):len(KeyPrefix)+KeyIDLen] != prefix {
			t.Fatalf("ParseKey accepted %q with prefix %q", s, prefix)
		}
		if !VerifyKey(s, HashKey(s)) {
			t.Fatalf("accepted key does not verify against its own hash")
		}
	})
}
