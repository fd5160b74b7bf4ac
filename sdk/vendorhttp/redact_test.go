package vendorhttp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	tests := []struct{ msg, secret, want string }{
		{"Incorrect API key provided: sk-abc. Check sk-abc", "sk-abc", "Incorrect API key provided: [redacted]. Check [redacted]"},
		{"no key here", "sk-abc", "no key here"},
		{"empty secret leaves it", "", "empty secret leaves it"},
	}
	for _, tt := range tests {
		if got := Redact(tt.msg, tt.secret); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name string
		body string
		max  int
		want string
	}{
		{"short and folded", "  Bad\\n  gateway\\t ", 200, "Bad gateway"},
		{"cut at a rune boundary", strings.Repeat("é", 10), 5, "éé…"},
		{"invalid UTF-8 dropped", "ok\xffok", 200, "okok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt([]byte(strings.ReplaceAll(strings.ReplaceAll(tt.body, "\\n", "\n"), "\\t", "\t")), tt.max)
			if got != tt.want || !utf8.ValidString(got) {
				t.Fatalf("Excerpt = %q, want %q", got, tt.want)
			}
		})
	}
}
