package pricing

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// ErrSyntax reports a string that is not a strict credit amount.
var ErrSyntax = errors.New("invalid credit amount")

// maxFracDigits is the precision of a micro-credit amount.
const maxFracDigits = 6

// usdFallbackDigits is how many fractional digits FormatUSD keeps when the
// exact decimal does not terminate.
const usdFallbackDigits = 12

// FormatCredits renders micro-credits as a plain decimal number of credits
// with no trailing zeros and no exponent: 7_500_000 → "7.5", 15 →
// "0.000015", 0 → "0", -1_250_000 → "-1.25". ParseCredits reverses it
// exactly.
func FormatCredits(microCredits int64) string {
	neg := microCredits < 0
	m := uint64(microCredits)
	if neg {
		m = -m // two's complement negation; exact even for math.MinInt64
	}
	var buf [32]byte
	b := buf[:0]
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, m/uint64(MicroPerUnit), 10)
	if frac := m % uint64(MicroPerUnit); frac != 0 {
		var digits [maxFracDigits]byte
		for i := maxFracDigits - 1; i >= 0; i-- {
			digits[i] = byte('0' + frac%10)
			frac /= 10
		}
		n := maxFracDigits
		for digits[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, digits[:n]...)
	}
	return string(b)
}

// FormatUSD renders the exact USD value of microCredits at creditsPerUSD
// credits per dollar: 7_500_000 at 100 → "0.075". The decimal is exact
// when creditsPerUSD has no prime factors but 2 and 5; otherwise it is
// rounded half away from zero to 12 fractional digits. A creditsPerUSD of
// zero or less means DefaultCreditsPerUSD, as in NewTable.
func FormatUSD(microCredits int64, creditsPerUSD int64) string {
	if creditsPerUSD <= 0 {
		creditsPerUSD = DefaultCreditsPerUSD
	}
	if microCredits == 0 {
		return "0"
	}
	num := new(big.Int).SetInt64(microCredits)
	neg := num.Sign() < 0
	num.Abs(num)
	den := new(big.Int).Mul(big.NewInt(creditsPerUSD), big.NewInt(MicroPerUnit))
	g := new(big.Int).GCD(nil, nil, num, den)
	num.Quo(num, g)
	den.Quo(den, g)

	// The fraction terminates after k digits iff den = 2^a × 5^b, with
	// k = max(a, b).
	rest := new(big.Int).Set(den)
	var twos, fives int
	two, five, mod := big.NewInt(2), big.NewInt(5), new(big.Int)
	for {
		q, r := new(big.Int).QuoRem(rest, two, mod)
		if r.Sign() != 0 {
			break
		}
		rest, twos = q, twos+1
	}
	for {
		q, r := new(big.Int).QuoRem(rest, five, mod)
		if r.Sign() != 0 {
			break
		}
		rest, fives = q, fives+1
	}
	digits := max(twos, fives)
	scaled := new(big.Int).Mul(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil))
	if rest.Cmp(big.NewInt(1)) == 0 {
		scaled.Quo(scaled, den) // exact by construction
	} else {
		digits = usdFallbackDigits
		scaled.Mul(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(usdFallbackDigits), nil))
		// Round half away from zero: (2·num·10^k + den) / (2·den).
		scaled.Lsh(scaled, 1).Add(scaled, den)
		scaled.Quo(scaled, new(big.Int).Lsh(den, 1))
	}
	return decimalString(neg, scaled.String(), digits)
}

// decimalString places a decimal point digits places from the right of
// the unsigned integer string s, trimming trailing fractional zeros.
func decimalString(neg bool, s string, digits int) string {
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	intPart, frac := s[:len(s)-digits], strings.TrimRight(s[len(s)-digits:], "0")
	var b strings.Builder
	if neg && (strings.Trim(intPart, "0") != "" || frac != "") {
		b.WriteByte('-')
	}
	b.WriteString(intPart)
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// ParseCredits reads a credit amount such as "7.5" or "-0.000015" into
// micro-credits. It accepts only an optional leading '-', one or more
// digits and an optional '.' followed by one to six digits: no '+', no
// exponent, no spaces or underscores, no NaN or Inf, nothing finer than a
// micro-credit and nothing outside int64.
func ParseCredits(s string) (int64, error) {
	v, err := parseCredits(s)
	if err != nil {
		return 0, fmt.Errorf("parse credits %s: %w", quoteShort(s), err)
	}
	return v, nil
}

func parseCredits(s string) (int64, error) {
	neg := false
	rest := s
	if strings.HasPrefix(rest, "-") {
		neg, rest = true, rest[1:]
	}
	intPart, frac, hasDot := strings.Cut(rest, ".")
	if intPart == "" || !allDigits(intPart) {
		return 0, fmt.Errorf("%w: want digits with an optional '-' and at most %d decimals", ErrSyntax, maxFracDigits)
	}
	if hasDot && (frac == "" || !allDigits(frac)) {
		return 0, fmt.Errorf("%w: want digits after the decimal point", ErrSyntax)
	}
	if len(frac) > maxFracDigits {
		return 0, fmt.Errorf("%w: more than %d decimals", ErrSyntax, maxFracDigits)
	}

	// Accumulate the magnitude in micro-credits; the limit allows
	// math.MinInt64, whose magnitude is one more than math.MaxInt64.
	limit := uint64(1<<63 - 1)
	if neg {
		limit++
	}
	var m uint64
	for _, d := range intPart + frac + strings.Repeat("0", maxFracDigits-len(frac)) {
		digit := uint64(d - '0')
		if m > (limit-digit)/10 {
			return 0, fmt.Errorf("%w: out of range", ErrSyntax)
		}
		m = m*10 + digit
	}
	if neg {
		return int64(-m), nil // -m wraps to the right two's complement value
	}
	return int64(m), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quoteShort quotes s for an error message, cut short so a pasted blob
// does not flood the log.
func quoteShort(s string) string {
	const maxLen = 40
	if len(s) > maxLen {
		return strconv.Quote(s[:maxLen]) + "…"
	}
	return strconv.Quote(s)
}
