package pricing

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

// genPrice draws realistic prices: up to $1000 per million tokens or per
// image and $10 per thousand characters, in micro-USD, including prices
// that are not multiples of anything in particular.
func genPrice(t *rapid.T) Price {
	return Price{
		InputPerMTok:  rapid.Int64Range(0, 1_000_000_000).Draw(t, "in_price"),
		OutputPerMTok: rapid.Int64Range(0, 1_000_000_000).Draw(t, "out_price"),
		PerKChar:      rapid.Int64Range(0, 10_000_000).Draw(t, "kchar_price"),
		Image:         map[string]int64{"*": rapid.Int64Range(0, 1_000_000_000).Draw(t, "image_price")},
		Priced:        true,
	}
}

func genUsage(t *rapid.T, label string) Usage {
	return Usage{
		InputTokens:  rapid.Int64Range(0, 1e12).Draw(t, label+"_in"),
		OutputTokens: rapid.Int64Range(0, 1e12).Draw(t, label+"_out"),
		Characters:   rapid.Int64Range(0, 1e9).Draw(t, label+"_chars"),
		Images:       rapid.Int64Range(0, 1e6).Draw(t, label+"_images"),
	}
}

func genRate(t *rapid.T) int64 {
	return rapid.SampledFrom([]int64{1, 3, 7, 100, 1000, 12345}).Draw(t, "rate")
}

// exactMicroCredits is the reference computation in math/big.
func exactMicroCredits(p Price, u Usage, rate int64) *big.Rat {
	pico := new(big.Int)
	add := func(a, b, scale int64) {
		x := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		pico.Add(pico, x.Mul(x, big.NewInt(scale)))
	}
	add(u.InputTokens, p.InputPerMTok, 1)
	add(u.OutputTokens, p.OutputPerMTok, 1)
	add(u.Characters, p.PerKChar, 1000)
	add(u.Images, p.Image["*"], 1_000_000)
	return new(big.Rat).SetFrac(pico.Mul(pico, big.NewInt(rate)), big.NewInt(1_000_000))
}

func plus(a, b Usage) Usage {
	return Usage{
		InputTokens:  a.InputTokens + b.InputTokens,
		OutputTokens: a.OutputTokens + b.OutputTokens,
		Characters:   a.Characters + b.Characters,
		Images:       a.Images + b.Images,
	}
}

// TestPropertyMatchesReference checks Compute against math/big: the
// result is the exact value rounded up, never negative, and Exact says
// whether rounding happened; anything beyond int64 is ErrOverflow, not a
// panic or a wrapped value.
func TestPropertyMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, u, rate := genPrice(t), genUsage(t, "u"), genRate(t)
		c, err := Compute(p, u, rate)
		want := exactMicroCredits(p, u, rate)
		ceil := new(big.Int).Quo(new(big.Int).Add(want.Num(), new(big.Int).Sub(want.Denom(), big.NewInt(1))), want.Denom())
		if !ceil.IsInt64() {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("Compute = %+v, %v; want ErrOverflow for %s", c, err, ceil)
			}
			return
		}
		if err != nil {
			t.Fatalf("Compute: %v (exact %s)", err, want.RatString())
		}
		if c.MicroCredits < 0 || c.MicroUSD < 0 {
			t.Fatalf("negative cost %+v", c)
		}
		if c.MicroCredits != ceil.Int64() {
			t.Fatalf("MicroCredits = %d, want ceil(%s) = %s", c.MicroCredits, want.RatString(), ceil)
		}
		if c.Exact != want.IsInt() {
			t.Fatalf("Exact = %v for %s", c.Exact, want.RatString())
		}
	})
}

// TestPropertyMonotone checks that more usage never costs less.
func TestPropertyMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, rate := genPrice(t), genRate(t)
		a, extra := genUsage(t, "a"), genUsage(t, "extra")
		ca, errA := Compute(p, a, rate)
		cb, errB := Compute(p, plus(a, extra), rate)
		if errA != nil || errB != nil {
			t.Skip("overflow is covered elsewhere")
		}
		if cb.MicroCredits < ca.MicroCredits || cb.MicroUSD < ca.MicroUSD {
			t.Fatalf("cost(a+extra) = %+v < cost(a) = %+v", cb, ca)
		}
	})
}

// TestPropertyAdditive checks that splitting a request in two changes the
// bill only by the rounding: ceil(x+y) is within one micro-credit below
// ceil(x)+ceil(y), and equal when both parts are exact.
func TestPropertyAdditive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, rate := genPrice(t), genRate(t)
		a, b := genUsage(t, "a"), genUsage(t, "b")
		ca, err1 := Compute(p, a, rate)
		cb, err2 := Compute(p, b, rate)
		cab, err3 := Compute(p, plus(a, b), rate)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Skip("overflow is covered elsewhere")
		}
		sum := ca.MicroCredits + cb.MicroCredits
		if cab.MicroCredits > sum || cab.MicroCredits < sum-1 {
			t.Fatalf("cost(a+b) = %d, cost(a)+cost(b) = %d", cab.MicroCredits, sum)
		}
		if ca.Exact && cb.Exact && (cab.MicroCredits != sum || !cab.Exact) {
			t.Fatalf("exact parts: cost(a+b) = %+v, want exactly %d", cab, sum)
		}
	})
}

// TestPropertyHugeUsage drives usage up to 10¹² tokens with any price:
// the answer is a cost or ErrOverflow, never a panic.
func TestPropertyHugeUsage(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := Price{
			InputPerMTok:  rapid.Int64Range(0, math.MaxInt64).Draw(t, "in_price"),
			OutputPerMTok: rapid.Int64Range(0, math.MaxInt64).Draw(t, "out_price"),
			PerKChar:      rapid.Int64Range(0, math.MaxInt64).Draw(t, "kchar_price"),
			Image:         map[string]int64{"*": rapid.Int64Range(0, math.MaxInt64).Draw(t, "image_price")},
		}
		u := Usage{
			InputTokens:  rapid.Int64Range(0, 1e12).Draw(t, "in"),
			OutputTokens: rapid.Int64Range(0, 1e12).Draw(t, "out"),
			Characters:   rapid.Int64Range(0, 1e12).Draw(t, "chars"),
			Images:       rapid.Int64Range(0, 1e12).Draw(t, "images"),
		}
		c, err := Compute(p, u, rapid.Int64Range(1, math.MaxInt64).Draw(t, "rate"))
		if err != nil && !errors.Is(err, ErrOverflow) {
			t.Fatalf("Compute: unexpected error %v", err)
		}
		if err == nil && (c.MicroCredits < 0 || c.MicroUSD < 0) {
			t.Fatalf("negative cost %+v", c)
		}
	})
}

// TestPropertyCreditsRoundTrip checks FormatCredits and ParseCredits are
// inverse over all of int64.
func TestPropertyCreditsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Int64().Draw(t, "micro_credits")
		s := FormatCredits(v)
		back, err := ParseCredits(s)
		if err != nil || back != v {
			t.Fatalf("ParseCredits(FormatCredits(%d) = %q) = %d, %v", v, s, back, err)
		}
	})
}

// TestPropertyFormatUSDExact checks FormatUSD against math/big for rates
// made of 2s and 5s, where the decimal must be exact.
func TestPropertyFormatUSDExact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Int64().Draw(t, "micro_credits")
		rate := rapid.SampledFrom([]int64{1, 2, 4, 5, 10, 16, 100, 125, 1000, 1 << 20}).Draw(t, "rate")
		s := FormatUSD(v, rate)
		got, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("FormatUSD(%d, %d) = %q is not a decimal", v, rate, s)
		}
		want := new(big.Rat).SetFrac(big.NewInt(v), new(big.Int).Mul(big.NewInt(rate), big.NewInt(1_000_000)))
		if got.Cmp(want) != 0 {
			t.Fatalf("FormatUSD(%d, %d) = %q, want %s", v, rate, s, want.FloatString(30))
		}
	})
}
