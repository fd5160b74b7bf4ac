package config

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"pgregory.net/rapid"
)

func TestParseMicroUSD(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr error // nil: success; errSyntax: any other error
	}{
		{"0", 0, nil},
		{"0.15", 150_000, nil},
		{"2.50", 2_500_000, nil},
		{"10", 10_000_000, nil},
		{"007", 7_000_000, nil},
		{"0.000001", 1, nil},
		{"1.0000000", 1_000_000, nil},
		{"0.015", 15_000, nil},
		{"9223372036854.775807", math.MaxInt64, nil},
		{"0.0000001", 0, errTooPrecise},
		{"0.0000010", 1, nil},
		{"9223372036854.775808", 0, errTooLarge},
		{"9223372036855", 0, errTooLarge},
		{"99999999999999999999999", 0, errTooLarge},
		{"-1", 0, errNegativePrice},
		{"-0.5", 0, errNegativePrice},
		{"", 0, errSyntax},
		{".5", 0, errSyntax},
		{"5.", 0, errSyntax},
		{"1e3", 0, errSyntax},
		{"1,5", 0, errSyntax},
		{" 1", 0, errSyntax},
		{"+1", 0, errSyntax},
		{"1.2.3", 0, errSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseMicroUSD(tc.in)
			switch {
			case tc.wantErr == nil:
				if err != nil || got != tc.want {
					t.Errorf("parseMicroUSD(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
				}
			case tc.wantErr == errSyntax:
				if err == nil || errors.Is(err, errTooLarge) || errors.Is(err, errTooPrecise) || errors.Is(err, errNegativePrice) {
					t.Errorf("parseMicroUSD(%q) = %d, %v; want a syntax error", tc.in, got, err)
				}
			default:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("parseMicroUSD(%q) = %d, %v; want %v", tc.in, got, err, tc.wantErr)
				}
			}
		})
	}
}

// errSyntax marks table cases expecting a malformed-number error.
var errSyntax = errors.New("syntax")

// fataler is what literalValue needs from *testing.T and *rapid.T.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// literalValue evaluates an HCL expression the way attribute values are.
func literalValue(t fataler, src string) cty.Value {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "price", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parsing %q: %v", src, diags)
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("evaluating %q: %v", src, diags)
	}
	return v
}

func TestMicroUSDFromNumber(t *testing.T) {
	tests := []struct {
		src     string
		want    int64
		wantErr error
	}{
		{"0.15", 150_000, nil},
		{"0.60", 600_000, nil},
		{"2.50", 2_500_000, nil},
		{"1.25", 1_250_000, nil},
		{"0.040", 40_000, nil},
		{"0.065", 65_000, nil},
		{"0.30", 300_000, nil},
		{"0", 0, nil},
		{"-0", 0, nil},
		{"1e-6", 1, nil},
		{"1.5e3", 1_500_000_000, nil},
		{"1e-7", 0, errTooPrecise},
		{"1e-999999", 0, errTooPrecise},
		{"1e999999", 0, errTooLarge},
		{"9223372036854.775807", math.MaxInt64, nil},
		{"9223372036855", 0, errTooLarge},
		{"-0.5", 0, errNegativePrice},
		{"0.0000001", 0, errTooPrecise},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			got, err := microUSDFromNumber(literalValue(t, tc.src))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("got %d, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// genPrice draws a decimal USD string with at most six fractional digits
// and the micro-USD it denotes.
func genPrice(t *rapid.T) (string, int64) {
	whole := rapid.Int64Range(0, math.MaxInt64/microPerUSD-1).Draw(t, "whole")
	digits := rapid.IntRange(0, maxFracDigits).Draw(t, "digits")
	s := fmt.Sprint(whole)
	micro := whole * microPerUSD
	if digits > 0 {
		scale := int64(math.Pow10(digits))
		frac := rapid.Int64Range(0, scale-1).Draw(t, "frac")
		s += fmt.Sprintf(".%0*d", digits, frac)
		micro += frac * (microPerUSD / scale)
	}
	return s, micro
}

// TestPricePropertyExact: every decimal with at most six fractional digits
// maps to exactly the micro-USD it denotes, whether it arrives as an HCL
// literal, as a string from env() converted to a number, or as text.
func TestPricePropertyExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, want := genPrice(t)
		if got, err := parseMicroUSD(s); err != nil || got != want {
			t.Fatalf("parseMicroUSD(%q) = %d, %v; want %d", s, got, err, want)
		}
		if got, err := microUSDFromNumber(literalValue(t, s)); err != nil || got != want {
			t.Fatalf("HCL literal %s = %d, %v; want %d", s, got, err, want)
		}
		nv, err := cty.ParseNumberVal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := microUSDFromNumber(nv); err != nil || got != want {
			t.Fatalf("string %q = %d, %v; want %d", s, got, err, want)
		}
	})
}

// TestPricePropertyTooPrecise: a nonzero seventh (or later) fractional
// digit is always rejected, never rounded.
func TestPricePropertyTooPrecise(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		whole := rapid.Int64Range(0, 1_000_000).Draw(t, "whole")
		extra := rapid.IntRange(7, 30).Draw(t, "digits")
		fracDigits := make([]byte, extra)
		for i := range fracDigits {
			fracDigits[i] = byte('0' + rapid.IntRange(0, 9).Draw(t, "d"))
		}
		fracDigits[extra-1] = byte('1' + rapid.IntRange(0, 8).Draw(t, "last"))
		s := fmt.Sprintf("%d.%s", whole, fracDigits)
		if got, err := parseMicroUSD(s); !errors.Is(err, errTooPrecise) {
			t.Fatalf("parseMicroUSD(%q) = %d, %v; want errTooPrecise", s, got, err)
		}
		if got, err := microUSDFromNumber(literalValue(t, s)); !errors.Is(err, errTooPrecise) {
			t.Fatalf("HCL literal %s = %d, %v; want errTooPrecise", s, got, err)
		}
	})
}

// FuzzParseMicroUSD checks parseMicroUSD against big.Rat: whatever it
// accepts must be exactly the rational value in micro-USD.
func FuzzParseMicroUSD(f *testing.F) {
	for _, s := range []string{"0", "0.15", "2.50", "9223372036854.775807", "1.0000001", "-1", "1e3", ".5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseMicroUSD(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(s, "eE+-_ ") {
			t.Fatalf("accepted %q", s)
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("accepted %q, which big.Rat rejects", s)
		}
		r.Mul(r, big.NewRat(microPerUSD, 1))
		if !r.IsInt() || r.Num().Int64() != got || !r.Num().IsInt64() {
			t.Fatalf("parseMicroUSD(%q) = %d, exact value %s", s, got, r.RatString())
		}
	})
}
