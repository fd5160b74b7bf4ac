package pricing

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

func TestFormatCredits(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{7_500_000, "7.5"},
		{15, "0.000015"},
		{-1_250_000, "-1.25"},
		{1_000_000, "1"},
		{100, "0.0001"},
		{-1, "-0.000001"},
		{123_456_789, "123.456789"},
		{10_000_000, "10"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatCredits(tt.in); got != tt.want {
				t.Errorf("FormatCredits(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatUSD(t *testing.T) {
	tests := []struct {
		name string
		mc   int64
		rate int64
		want string
	}{
		{"headline", 7_500_000, 100, "0.075"},
		{"zero", 0, 100, "0"},
		{"one micro-credit", 1, 100, "0.00000001"},
		{"negative", -7_500_000, 100, "-0.075"},
		{"whole dollars", 250_000_000, 100, "2.5"},
		{"default rate", 7_500_000, 0, "0.075"},
		{"rate 1", 1, 1, "0.000001"},
		{"rate 1024", 1, 1024, "0.0000000009765625"},
		{"rate 3 terminating", 225_000, 3, "0.075"},
		// 1 / 3e6 does not terminate: 12 digits, rounded.
		{"rate 3 rounded down", 1, 3, "0.000000333333"},
		{"rate 3 rounded up", 2, 3, "0.000000666667"},
		{"rate 3 negative", -2, 3, "-0.000000666667"},
		// 1 / 7e12 rounds to zero at 12 digits: no "-0".
		{"rounds to zero", -1, 7_000_000, "0"},
		{"max", math.MaxInt64, 100, "92233720368.54775807"},
		{"min", math.MinInt64, 100, "-92233720368.54775808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatUSD(tt.mc, tt.rate); got != tt.want {
				t.Errorf("FormatUSD(%d, %d) = %q, want %q", tt.mc, tt.rate, got, tt.want)
			}
		})
	}
}

func TestParseCredits(t *testing.T) {
	valid := []struct {
		in   string
		want int64
	}{
		{"7.5", 7_500_000},
		{"0", 0},
		{"-0", 0},
		{"0.000015", 15},
		{"-1.25", -1_250_000},
		{"007", 7_000_000},
		{"1.000000", 1_000_000},
		{"100", 100_000_000},
		{"9223372036854.775807", math.MaxInt64},
		{"-9223372036854.775808", math.MinInt64},
	}
	for _, tt := range valid {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCredits(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseCredits(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	invalid := []string{
		"", "-", ".", ".5", "5.", "-.5", "1e3", "1E3", "NaN", "nan", "Inf", "+Inf", "-Inf", "+1",
		" 1", "1 ", "1.0000001", "0.0000001", "9223372036854.775808", "-9223372036854.775809",
		"99999999999999999999", "1_000", "0x10", "1,5", "--1", "1.2.3", "١", "1\x00", "½",
	}
	for _, in := range invalid {
		t.Run("invalid "+in, func(t *testing.T) {
			got, err := ParseCredits(in)
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("ParseCredits(%q) = %d, %v; want ErrSyntax", in, got, err)
			}
		})
	}
}

func TestParseCreditsErrorIsShort(t *testing.T) {
	_, err := ParseCredits(strings.Repeat("9", 10_000))
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for a long input is missing or too long: %d bytes", len(err.Error()))
	}
}

// FuzzParseCredits checks that whatever ParseCredits accepts is exactly
// the decimal it was given, and survives a FormatCredits round trip.
func FuzzParseCredits(f *testing.F) {
	for _, s := range []string{"7.5", "0", "-1.25", "0.000015", "1e3", "NaN", "", "9223372036854.775807", "-9223372036854.775808", "1.", ".1"} {
		f.Add(s)
	}
	million := big.NewRat(1_000_000, 1)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseCredits(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("ParseCredits(%q) error %v is not ErrSyntax", s, err)
			}
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("ParseCredits accepted %q, which is not a number", s)
		}
		if r.Mul(r, million); !r.IsInt() || r.Num().Cmp(big.NewInt(v)) != 0 {
			t.Fatalf("ParseCredits(%q) = %d, want %s", s, v, r.RatString())
		}
		back, err := ParseCredits(FormatCredits(v))
		if err != nil || back != v {
			t.Fatalf("round trip of %d via %q = %d, %v", v, FormatCredits(v), back, err)
		}
	})
}
