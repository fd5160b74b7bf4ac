package config

import (
	"math"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"10MB", 10_000_000, false},
		{"512KB", 512_000, false},
		{"1MiB", 1 << 20, false},
		{"1KiB", 1024, false},
		{"2GiB", 2 << 30, false},
		{"1GB", 1_000_000_000, false},
		{"4096", 4096, false},
		{"4096B", 4096, false},
		{"10 mb", 10_000_000, false},
		{" 10MB ", 10_000_000, false},
		{"0", 0, false},
		{"9223372036854775807", math.MaxInt64, false},
		{"9223372036854775808", 0, true},
		{"9999999999GiB", 0, true},
		{"10XB", 0, true},
		{"1.5MB", 0, true},
		{"MB", 0, true},
		{"", 0, true},
		{"-1", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseByteSize(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseByteSize(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
