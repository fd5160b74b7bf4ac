package telemetry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// NewLogger returns the gateway's root logger, named "oneflow", writing to
// w (wrap it in a [Redactor]). level is trace, debug, info, warn, error or
// off; anything else means info, so validate it first with [ParseLevel].
// jsonFormat selects one JSON object per line, the production format.
func NewLogger(w io.Writer, level string, jsonFormat bool) hclog.Logger {
	lvl, err := ParseLevel(level)
	if err != nil {
		lvl = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "oneflow",
		Level:      lvl,
		Output:     w,
		JSONFormat: jsonFormat,
	})
}

// ParseLevel parses a log level name, case-insensitively.
func ParseLevel(level string) (hclog.Level, error) {
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		return hclog.NoLevel, fmt.Errorf("parsing log level %q: want trace, debug, info, warn, error or off", level)
	}
	return lvl, nil
}

// Redacted replaces every secret the [Redactor] finds.
const Redacted = "[REDACTED]"

// minSecretLen is the shortest configured secret that is redacted
// literally. Replacing every "a" or "ab" in the logs would make them
// unreadable while protecting nothing a real key would need.
const minSecretLen = 4

// secretPattern is a secret-shaped string and a literal every match
// contains, checked first so that a line without the literal skips the
// regular expression (most lines).
type secretPattern struct {
	re      *regexp.Regexp
	needles [][]byte
}

// defaultPatterns catch credentials that were never configured here: a key
// pasted into a request, a vendor's error echoing its key, a header dumped
// while debugging.
var defaultPatterns = []secretPattern{
	// OpenAI and Anthropic style keys (sk-..., sk-proj-..., sk-ant-...).
	{regexp.MustCompile(`sk-[A-Za-z0-9_-]{16,}`), [][]byte{[]byte("sk-")}},
	// Authorization header values; a backslash ends the token so that an
	// escaped quote inside a JSON string is left intact.
	{regexp.MustCompile(`(?i:bearer) [^"\s\\]+`), [][]byte{[]byte("earer "), []byte("EARER ")}},
	// OneFlow API keys and admin keys.
	{regexp.MustCompile(`of_live_[A-Za-z0-9_]+`), [][]byte{[]byte("of_live_")}},
	{regexp.MustCompile(`of-admin-[0-9a-f]+`), [][]byte{[]byte("of-admin-")}},
	// JSON Web Tokens (access and refresh tokens).
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`), [][]byte{[]byte("eyJ")}},
}

// Redactor is an io.Writer that replaces secrets with "[REDACTED]" before
// passing bytes on: the configured secrets (API keys, the admin key, the
// JWT secret) raw, JSON-escaped and Go-quoted as hclog's two formats print
// them, and secret-shaped strings
// matching the default patterns (sk-…, Bearer …, of_live_…, of-admin-…,
// JWTs).
//
// Redaction works on each Write call. hclog writes one whole line per call,
// so a secret is never split across calls there; a writer that chunks
// arbitrarily should not be wrapped directly. Write is safe for concurrent
// use when the wrapped writer is; [Redactor.SetSecrets] may run at any time
// (on a config reload).
type Redactor struct {
	w       io.Writer
	secrets atomic.Pointer[[][]byte]
	redact  []byte
}

// NewRedactor wraps w, redacting secrets and the default patterns.
func NewRedactor(w io.Writer, secrets []string) *Redactor {
	r := &Redactor{w: w, redact: []byte(Redacted)}
	r.SetSecrets(secrets)
	return r
}

// SetSecrets replaces the literal secrets to redact. Empty strings and
// strings shorter than four bytes are ignored.
func (r *Redactor) SetSecrets(secrets []string) {
	var s [][]byte
	seen := map[string]bool{}
	add := func(v string) {
		if len(v) >= minSecretLen && !seen[v] {
			seen[v] = true
			s = append(s, []byte(v))
		}
	}
	for _, v := range secrets {
		add(v)
		add(jsonEscaped(v))
		add(goQuoted(v))
	}
	// Longest first, so a secret that contains a shorter one is replaced
	// whole instead of leaving its remainder in the log.
	slices.SortFunc(s, func(a, b []byte) int { return len(b) - len(a) })
	r.secrets.Store(&s)
}

// jsonEscaped is v as it appears inside a JSON string written by
// encoding/json with HTML escaping (hclog's default), without the quotes.
func jsonEscaped(v string) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 {
		return v
	}
	return string(b[1 : len(b)-1])
}

// goQuoted is v as hclog's text format prints a value that needs quoting
// (strconv.Quote), without the quotes.
func goQuoted(v string) string {
	q := strconv.Quote(v)
	return q[1 : len(q)-1]
}

// Write redacts p and writes the result in one call to the wrapped writer.
// It reports len(p) on success, as callers compare it with what they
// passed, even though the bytes written may differ in length.
func (r *Redactor) Write(p []byte) (int, error) {
	if _, err := r.w.Write(r.redactBytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Redact returns s with every secret replaced, for text that does not pass
// through the log writer (an error shown to an operator, a CLI message).
func (r *Redactor) Redact(s string) string {
	return string(r.redactBytes([]byte(s)))
}

// redactBytes returns p itself when nothing matched, so the common case
// allocates nothing.
func (r *Redactor) redactBytes(p []byte) []byte {
	out := p
	if sp := r.secrets.Load(); sp != nil {
		for _, s := range *sp {
			if bytes.Contains(out, s) {
				out = bytes.ReplaceAll(out, s, r.redact)
			}
		}
	}
	for _, sp := range defaultPatterns {
		if containsAny(out, sp.needles) {
			out = sp.re.ReplaceAllLiteral(out, r.redact)
		}
	}
	return out
}

func containsAny(p []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(p, n) {
			return true
		}
	}
	return false
}

// String describes the redactor without listing its secrets, should one
// ever be logged or printed with %v.
func (r *Redactor) String() string {
	n := 0
	if sp := r.secrets.Load(); sp != nil {
		n = len(*sp)
	}
	return fmt.Sprintf("telemetry.Redactor{%d secrets}", n)
}
