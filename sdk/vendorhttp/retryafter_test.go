package vendorhttp

import (
	"math"
	"net/http"
	"testing"
	"time"
)

// TestRetryAfterNeverNegative guards against float-to-Duration conversion
// of absurd header values, which Go leaves implementation-defined.
func TestRetryAfterNeverNegative(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header string
		value  string
		want   time.Duration
	}{
		{"seconds", "Retry-After", "7", 7 * time.Second},
		{"fractional seconds", "Retry-After", "1.5", 1500 * time.Millisecond},
		{"zero", "Retry-After", "0", 0},
		{"negative", "Retry-After", "-3", 0},
		{"NaN", "Retry-After", "NaN", 0},
		{"infinite", "Retry-After", "Inf", math.MaxInt64},
		{"beyond int64", "Retry-After", "1e30", math.MaxInt64},
		{"milliseconds", "Retry-After-Ms", "250", 250 * time.Millisecond},
		{"milliseconds beyond int64", "Retry-After-Ms", "1e300", math.MaxInt64},
		{"milliseconds NaN falls back", "Retry-After-Ms", "NaN", 0},
		{"http date", "Retry-After", now.Add(time.Minute).Format(http.TimeFormat), time.Minute},
		{"http date in the past", "Retry-After", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "Retry-After", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tt.header, tt.value)
			if got := RetryAfter(h, now); got != tt.want {
				t.Errorf("RetryAfter(%s: %q) = %v, want %v", tt.header, tt.value, got, tt.want)
			}
		})
	}
}
