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
		InputPerMTok:        rapid.Int64Range(0, 1_000_000_000).Draw(t, "in_price"),
		OutputPerMTok:       rapid.Int64Range(0, 1_000_000_000).Draw(t, "out_price"),
		CachedInputPerMTok:  rapid.Int64Range(0, 1_000_000_000).Draw(t, "cached_price"),
		HasCachedInputPrice: rapid.Bool().Draw(t, "has_cached_price"),
		CacheWritePerMTok:   rapid.Int64Range(0, 1_000_000_000).Draw(t, "write_price"),
		HasCacheWritePrice:  rapid.Bool().Draw(t, "has_write_price"),
		PerKChar:            rapid.Int64Range(0, 10_000_000).Draw(t, "kchar_price"),
		Image:               map[string]int64{"*": rapid.Int64Range(0, 1_000_000_000).Draw(t, "image_price")},
		Priced:              true,
	}
}

// genUsage draws a consistent usage: its cache reads and writes are parts
// of its input tokens.
func genUsage(t *rapid.T, label string) Usage {
	in := rapid.Int64Range(0, 1e12).Draw(t, label+"_in")
	cached := rapid.Int64Range(0, in).Draw(t, label+"_cached")
	return Usage{
		InputTokens:       in,
		CachedInputTokens: cached,
		CacheWriteTokens:  rapid.Int64Range(0, in-cached).Draw(t, label+"_writes"),
		OutputTokens:      rapid.Int64Range(0, 1e12).Draw(t, label+"_out"),
		Characters:        rapid.Int64Range(0, 1e9).Draw(t, label+"_chars"),
		Images:            rapid.Int64Range(0, 1e6).Draw(t, label+"_images"),
	}
}

// noCachePrices is p as it was before cache prices existed.
func noCachePrices(p Price) Price {
	p.CachedInputPerMTok, p.HasCachedInputPrice = 0, false
	p.CacheWritePerMTok, p.HasCacheWritePrice = 0, false
	return p
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
	cachedPrice, writePrice := p.InputPerMTok, p.InputPerMTok
	if p.HasCachedInputPrice {
		cachedPrice = p.CachedInputPerMTok
	}
	if p.HasCacheWritePrice {
		writePrice = p.CacheWritePerMTok
	}
	add(u.InputTokens-u.CachedInputTokens-u.CacheWriteTokens, p.InputPerMTok, 1)
	add(u.CachedInputTokens, cachedPrice, 1)
	add(u.CacheWriteTokens, writePrice, 1)
	add(u.OutputTokens, p.OutputPerMTok, 1)
	add(u.Characters, p.PerKChar, 1000)
	add(u.Images, p.Image["*"], 1_000_000)
	return new(big.Rat).SetFrac(pico.Mul(pico, big.NewInt(rate)), big.NewInt(1_000_000))
}

func plus(a, b Usage) Usage {
	return Usage{
		InputTokens:       a.InputTokens + b.InputTokens,
		CachedInputTokens: a.CachedInputTokens + b.CachedInputTokens,
		CacheWriteTokens:  a.CacheWriteTokens + b.CacheWriteTokens,
		OutputTokens:      a.OutputTokens + b.OutputTokens,
		Characters:        a.Characters + b.Characters,
		Images:            a.Images + b.Images,
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

// TestPropertyMonotone checks that more usage never costs less, whatever
// part of the extra input came from or went to the prompt cache.
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

// TestPropertyCacheMonotone checks each cache price's direction: moving
// input tokens into cache reads never raises the bill when reads are
// priced at or below the input price, and moving them into cache writes
// never lowers it when writes are priced at or above it.
func TestPropertyCacheMonotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, rate, u := genPrice(t), genRate(t), genUsage(t, "u")
		free := u.InputTokens - u.CachedInputTokens - u.CacheWriteTokens
		moved := rapid.Int64Range(0, free).Draw(t, "moved")
		reads, writes := u, u
		reads.CachedInputTokens += moved
		writes.CacheWriteTokens += moved
		c, err1 := Compute(p, u, rate)
		cr, err2 := Compute(p, reads, rate)
		cw, err3 := Compute(p, writes, rate)
		if err1 != nil || err2 != nil || err3 != nil {
			t.Skip("overflow is covered elsewhere")
		}
		if p.cachedInputPrice() <= p.InputPerMTok && cr.MicroCredits > c.MicroCredits {
			t.Fatalf("%d more cache reads at %d ≤ %d raised the cost from %d to %d", moved, p.cachedInputPrice(), p.InputPerMTok, c.MicroCredits, cr.MicroCredits)
		}
		if p.cacheWritePrice() >= p.InputPerMTok && cw.MicroCredits < c.MicroCredits {
			t.Fatalf("%d more cache writes at %d ≥ %d lowered the cost from %d to %d", moved, p.cacheWritePrice(), p.InputPerMTok, c.MicroCredits, cw.MicroCredits)
		}
	})
}

// TestPropertyNoCachePricesIsTheOldFormula checks that a model without
// cache prices bills any usage, whatever its cache counts, exactly as
// before they existed: every input token at the input price.
func TestPropertyNoCachePricesIsTheOldFormula(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, rate, u := noCachePrices(genPrice(t)), genRate(t), genUsage(t, "u")
		got, err := Compute(p, u, rate)
		if err != nil {
			t.Skip("overflow is covered elsewhere")
		}
		// The reference with no cache counts is the formula before them:
		// input × input price + output × output price + characters + images.
		old := u
		old.CachedInputTokens, old.CacheWriteTokens = 0, 0
		want := exactMicroCredits(p, old, rate)
		ceil := new(big.Int).Quo(new(big.Int).Add(want.Num(), new(big.Int).Sub(want.Denom(), big.NewInt(1))), want.Denom())
		if got.MicroCredits != ceil.Int64() || got.Exact != want.IsInt() || got.CacheIgnored {
			t.Fatalf("Compute(%+v) = %+v, want the old formula's ceil(%s)", u, got, want.RatString())
		}
	})
}

// TestPropertyInconsistentCacheIgnored feeds cache counts no vendor could
// report (negative, or more than the input): they never lower the bill
// below the input priced in full, never make it negative or an error,
// and say so in CacheIgnored.
func TestPropertyInconsistentCacheIgnored(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, rate := genPrice(t), genRate(t)
		u := genUsage(t, "u")
		u.CachedInputTokens = rapid.Int64Range(-1e12, 2e12).Draw(t, "bad_cached")
		u.CacheWriteTokens = rapid.Int64Range(-1e12, 2e12).Draw(t, "bad_writes")
		consistent := u.CachedInputTokens >= 0 && u.CacheWriteTokens >= 0 && u.CachedInputTokens+u.CacheWriteTokens <= u.InputTokens
		got, err := Compute(p, u, rate)
		if consistent {
			if err == nil && got.CacheIgnored {
				t.Fatalf("consistent usage %+v reported as ignored", u)
			}
			return
		}
		full := u
		full.CachedInputTokens, full.CacheWriteTokens = 0, 0
		want, werr := Compute(p, full, rate)
		if werr != nil {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("Compute = %+v, %v; the full-price usage fails with %v", got, err, werr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Compute(%+v): %v", u, err)
		}
		want.CacheIgnored = true
		if got != want {
			t.Fatalf("Compute(%+v) = %+v, want the full input price %+v", u, got, want)
		}
	})
}

// TestPropertyMaxCostBounds checks that a hold sized with MaxCost covers
// the settled cost however the vendor splits the prompt between plain
// input and cache reads. Cache writes are left out: OneFlow's requests
// never ask for them, and holds do not reserve for them (see
// Price.MaxInputPerMTok).
func TestPropertyMaxCostBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p, rate, u := genPrice(t), genRate(t), genUsage(t, "u")
		u.CacheWriteTokens = 0
		tb := NewTable(rate, false)
		tb.Set("p", "m", p)
		bound := u
		bound.CachedInputTokens, bound.CacheWriteTokens = 0, 0
		hold, err1 := tb.MaxCost("p", "m", bound)
		got, err2 := tb.Cost("p", "m", u)
		if err1 != nil || err2 != nil {
			t.Skip("overflow is covered elsewhere")
		}
		if got.MicroCredits > hold.MicroCredits {
			t.Fatalf("cost %d of %+v exceeds MaxCost %d", got.MicroCredits, u, hold.MicroCredits)
		}
		if nc := noCachePrices(p); p.MaxInputPerMTok() == nc.InputPerMTok {
			// With no dearer cache rate the hold is the plain estimate.
			if plain, _ := tb.Cost("p", "m", bound); plain != hold {
				t.Fatalf("MaxCost %+v differs from Cost %+v with no dearer cache rate", hold, plain)
			}
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
			InputPerMTok:        rapid.Int64Range(0, math.MaxInt64).Draw(t, "in_price"),
			OutputPerMTok:       rapid.Int64Range(0, math.MaxInt64).Draw(t, "out_price"),
			CachedInputPerMTok:  rapid.Int64Range(0, math.MaxInt64).Draw(t, "cached_price"),
			HasCachedInputPrice: true,
			CacheWritePerMTok:   rapid.Int64Range(0, math.MaxInt64).Draw(t, "write_price"),
			HasCacheWritePrice:  true,
			PerKChar:            rapid.Int64Range(0, math.MaxInt64).Draw(t, "kchar_price"),
			Image:               map[string]int64{"*": rapid.Int64Range(0, math.MaxInt64).Draw(t, "image_price")},
		}
		u := Usage{
			InputTokens:       rapid.Int64Range(0, 1e12).Draw(t, "in"),
			CachedInputTokens: rapid.Int64Range(0, 1e12).Draw(t, "cached"),
			CacheWriteTokens:  rapid.Int64Range(0, 1e12).Draw(t, "writes"),
			OutputTokens:      rapid.Int64Range(0, 1e12).Draw(t, "out"),
			Characters:        rapid.Int64Range(0, 1e12).Draw(t, "chars"),
			Images:            rapid.Int64Range(0, 1e12).Draw(t, "images"),
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
