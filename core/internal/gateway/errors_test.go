package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuoteName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "gpt-4o", `"gpt-4o"`},
		{"exactly the limit", strings.Repeat("a", maxQuotedName), `"` + strings.Repeat("a", maxQuotedName) + `"`},
		{"long", strings.Repeat("a", 900_000), `"` + strings.Repeat("a", maxQuotedName) + `" (cut from 900000 bytes)`},
		// 127 ASCII bytes then a 3-byte rune straddling the limit: the
		// rune is dropped whole, never split.
		{"rune at the cut", strings.Repeat("a", maxQuotedName-1) + "€€", `"` + strings.Repeat("a", maxQuotedName-1) + `" (cut from 133 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := quoteName(tt.in)
			if got != tt.want {
				t.Errorf("quoteName = %.200q, want %.200q", got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("quoteName produced invalid UTF-8")
			}
		})
	}
	if msg := (&UnknownModelError{Model: strings.Repeat("m", 1<<20)}).Error(); len(msg) > 300 {
		t.Errorf("UnknownModelError for a 1 MiB name is %d bytes long", len(msg))
	}
}
