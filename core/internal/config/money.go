package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// microPerUSD is how many micro-USD make one US dollar.
const microPerUSD = 1_000_000

// maxFracDigits is the finest price precision accepted: one micro-USD.
const maxFracDigits = 6

var (
	errNegativePrice = errors.New("a price must not be negative")
	errTooPrecise    = errors.New("a price must not be more precise than 0.000001 USD (one micro-USD)")
	errTooLarge      = errors.New("a price is too large to be stored in micro-USD")
)

// microUSDFromNumber converts a cty number of USD into micro-USD without
// any float64 step. HCL parses literals into 512-bit binary floats, so 0.15
// is not exact; its shortest decimal form at that precision ("0.15") is,
// and is what the user wrote. That decimal string is then parsed exactly.
func microUSDFromNumber(v cty.Value) (int64, error) {
	bf := v.AsBigFloat()
	if bf.IsInf() {
		return 0, errTooLarge
	}
	switch bf.Sign() {
	case 0:
		return 0, nil
	case -1:
		return 0, errNegativePrice
	}
	// Bound the magnitude before formatting: Text of 1e-999999 or 1e999999
	// would produce a million digits.
	if bf.Cmp(new(big.Float).SetInt64(math.MaxInt64/microPerUSD+1)) > 0 {
		return 0, errTooLarge
	}
	// MantExp gives bf = mant × 2^exp with 0.5 <= mant < 1, so exp < -24
	// means bf < 2^-25, below one micro-USD. Anything between that and
	// 1e-6 is short enough to format and is rejected by the parser.
	if bf.MantExp(nil) < -24 {
		return 0, errTooPrecise
	}
	return parseMicroUSD(bf.Text('f', -1))
}

// parseMicroUSD parses a plain decimal USD amount ("12", "0.15", "2.500")
// into micro-USD. It accepts only digits with an optional fraction: no
// sign, exponent or separators. Trailing zeros do not count towards the
// six fractional digits allowed.
func parseMicroUSD(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, errNegativePrice
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > maxFracDigits {
		return 0, errTooPrecise
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	// 19 digits can exceed int64; ParseInt reports that as a range error.
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || whole > math.MaxInt64/microPerUSD {
		return 0, errTooLarge
	}
	var fracMicro int64
	if frac != "" {
		frac += strings.Repeat("0", maxFracDigits-len(frac))
		fracMicro, err = strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	total := whole * microPerUSD
	if total > math.MaxInt64-fracMicro {
		return 0, errTooLarge
	}
	return total + fracMicro, nil
}

// usd renders a non-negative micro-USD amount as the decimal a user
// writes in the config ("1.25", "0.075", "3").
func usd(micro int64) string {
	whole, frac := micro/microPerUSD, micro%microPerUSD
	if frac == 0 {
		return strconv.FormatInt(whole, 10)
	}
	f := strings.TrimRight(fmt.Sprintf("%06d", frac), "0")
	return strconv.FormatInt(whole, 10) + "." + f
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// priceVersion names a model's prices: "<effective date>#<8 hex digits>".
// The hash covers every price so that editing a price without moving the
// date still yields a new version, which usage records keep.
func priceVersion(m *Model) string {
	var b strings.Builder
	fmt.Fprintf(&b, "modality=%s;in=%d;out=%d;kchar=%d", m.Modality, m.InputMicroUSDPerMTok, m.OutputMicroUSDPerMTok, m.PerKCharMicroUSD)
	// Only when set, so that the version of a model without cache prices
	// is what it was before they existed, and its usage records group
	// with the older ones.
	if m.HasCachedInputPrice {
		fmt.Fprintf(&b, ";cached=%d", m.CachedInputMicroUSDPerMTok)
	}
	if m.HasCacheWritePrice {
		fmt.Fprintf(&b, ";cache_write=%d", m.CacheWriteMicroUSDPerMTok)
	}
	keys := make([]string, 0, len(m.ImageMicroUSD))
	for k := range m.ImageMicroUSD {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ";img[%q]=%d", k, m.ImageMicroUSD[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	date := "undated"
	if !m.Effective.IsZero() {
		date = m.Effective.Format(dateLayout)
	}
	return date + "#" + hex.EncodeToString(sum[:4])
}
