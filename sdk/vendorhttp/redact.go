package vendorhttp

import (
	"strings"
	"unicode/utf8"
)

// Redacted stands in for a credential in a message.
const Redacted = "[redacted]"

// Redact replaces every occurrence of secret in msg. Vendors quote the key
// they were sent ("Incorrect API key provided: sk-…") and compatible
// servers may echo it whole, so every message a plugin returns that holds
// vendor or transport text goes through it.
func Redact(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, Redacted)
}

// Excerpt quotes the start of a non-JSON error body (a proxy's page, a
// plain-text message) as valid UTF-8 on one line, cut to at most max bytes
// at a rune boundary.
func Excerpt(body []byte, max int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "")), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
