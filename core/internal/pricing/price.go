package pricing

import (
	"errors"
	"fmt"
	"maps"
)

// DefaultCreditsPerUSD is the exchange rate used when none is configured.
const DefaultCreditsPerUSD int64 = 100

// MicroPerUnit is the number of micro-units (micro-USD, micro-credits) in
// one unit.
const MicroPerUnit int64 = 1_000_000

// picoPerMicro converts micro-USD to pico-USD, the unit in which a cost is
// accumulated exactly (see doc.go).
const picoPerMicro = 1_000_000

var (
	// ErrUnpriced is matched (errors.Is) by the error for a model with no
	// price when unpriced models are not allowed.
	ErrUnpriced = errors.New("model has no price")
	// ErrImageSizeUnpriced reports an image request whose size (and
	// quality) has no price for a model that is otherwise priced. It is
	// returned even when unpriced models are allowed: the operator priced
	// the model, so a missing size is a gap in the price list, not a free
	// model.
	ErrImageSizeUnpriced = errors.New("image size has no price")
	// ErrOverflow reports a cost too large for int64 micro-credits.
	ErrOverflow = errors.New("cost overflows int64")
	// ErrNegative reports a negative price or usage figure.
	ErrNegative = errors.New("negative price or usage")
)

// UnpricedError is the error for a model with no price. It matches
// [ErrUnpriced] with errors.Is.
type UnpricedError struct {
	Provider string
	Model    string
}

// Error tells the operator how to fix the problem.
func (e *UnpricedError) Error() string {
	return fmt.Sprintf("model %s/%s has no price; set its prices in oneflow.hcl or set pricing.allow_unpriced = true",
		e.Provider, e.Model)
}

// Unwrap lets errors.Is(err, ErrUnpriced) match.
func (e *UnpricedError) Unwrap() error { return ErrUnpriced }

// Price is what one model costs, in micro-USD.
type Price struct {
	// InputPerMTok and OutputPerMTok are micro-USD per million tokens.
	InputPerMTok  int64
	OutputPerMTok int64
	// CachedInputPerMTok is micro-USD per million input tokens the vendor
	// served from its prompt cache, and CacheWritePerMTok per million it
	// wrote to it. Each applies only when its Has flag is set: the zero
	// Price bills cache reads and writes at InputPerMTok, which is what
	// the vendor charges when it has no separate cache price, and what a
	// Price built before these fields existed meant.
	CachedInputPerMTok  int64
	HasCachedInputPrice bool
	CacheWritePerMTok   int64
	HasCacheWritePrice  bool
	// Image maps "SIZE/QUALITY", "SIZE" or "*" to micro-USD per image.
	Image map[string]int64
	// PerKChar is micro-USD per thousand characters.
	PerKChar int64
	// Version identifies the price list entry (for example its effective
	// date) so a usage record says which prices it was billed at.
	Version string
	// Priced is false for a model with no configured price. A model that is
	// deliberately free (a local model) has Priced true and zero prices.
	Priced bool
}

// Usage is what one request consumed, as measured by the vendor or
// estimated by the core.
type Usage struct {
	// InputTokens is the whole prompt. CachedInputTokens (read from the
	// vendor's prompt cache) and CacheWriteTokens (written to it) are parts
	// of it, priced at the model's cache prices; the rest is priced at the
	// input price.
	InputTokens       int64
	CachedInputTokens int64
	CacheWriteTokens  int64
	OutputTokens      int64
	Characters        int64
	Images            int64
	ImageSize         string
	ImageQuality      string
}

// Cost is the price of one Usage.
type Cost struct {
	// MicroCredits is the canonical amount to debit, rounded up to the
	// micro-credit.
	MicroCredits int64
	// MicroUSD is the same cost in micro-USD, rounded up.
	MicroUSD int64
	// Exact is true when MicroCredits needed no rounding.
	Exact bool
	// Unpriced is true when the model had no price and unpriced models are
	// allowed; the amounts are then zero.
	Unpriced bool
	// PriceVersion is the Version of the price used.
	PriceVersion string
	// CacheIgnored is true when the usage's prompt-cache counts did not
	// fit in its input tokens and were ignored (see [Compute]).
	CacheIgnored bool
}

type tableKey struct{ provider, model string }

// Table holds the prices of every configured model and the exchange rate.
// Build it with NewTable and Set, then share it: it is safe for concurrent
// use as long as Set is no longer called, which is how the core uses it (a
// config reload builds a new Table).
type Table struct {
	creditsPerUSD int64
	allowUnpriced bool
	prices        map[tableKey]Price
}

// NewTable returns an empty table. A creditsPerUSD of zero or less means
// [DefaultCreditsPerUSD]; config validation rejects such values before
// they get here, so the fallback only protects callers in tests and tools.
func NewTable(creditsPerUSD int64, allowUnpriced bool) *Table {
	if creditsPerUSD <= 0 {
		creditsPerUSD = DefaultCreditsPerUSD
	}
	return &Table{
		creditsPerUSD: creditsPerUSD,
		allowUnpriced: allowUnpriced,
		prices:        make(map[tableKey]Price),
	}
}

// CreditsPerUSD returns the table's exchange rate.
func (t *Table) CreditsPerUSD() int64 { return t.creditsPerUSD }

// AllowUnpriced reports whether unpriced models cost nothing instead of
// failing.
func (t *Table) AllowUnpriced() bool { return t.allowUnpriced }

// Set records the price of provider/model, replacing any earlier one. The
// Image map is copied, so the caller may reuse it.
func (t *Table) Set(provider, model string, p Price) {
	p.Image = maps.Clone(p.Image)
	t.prices[tableKey{provider, model}] = p
}

// Lookup returns the price of provider/model and whether the table has an
// entry for it; an entry may still have Priced false. The returned Image
// map is a copy.
func (t *Table) Lookup(provider, model string) (Price, bool) {
	p, ok := t.prices[tableKey{provider, model}]
	p.Image = maps.Clone(p.Image)
	return p, ok
}

// Cost prices u on provider/model. A model without a price yields an
// [*UnpricedError] unless the table allows unpriced models, in which case
// the cost is zero with Unpriced set.
func (t *Table) Cost(provider, model string, u Usage) (Cost, error) {
	return t.cost(provider, model, u, false)
}

// MaxCost is the most u can cost on provider/model whichever of its input
// tokens the vendor turns out to serve from its prompt cache: u's cache
// counts are ignored and every input token is priced at
// [Price.MaxInputPerMTok]. Credit holds are sized with it. Unpriced models
// behave as in [Table.Cost].
func (t *Table) MaxCost(provider, model string, u Usage) (Cost, error) {
	return t.cost(provider, model, u, true)
}

func (t *Table) cost(provider, model string, u Usage, worst bool) (Cost, error) {
	p, ok := t.prices[tableKey{provider, model}]
	if !ok || !p.Priced {
		if t.allowUnpriced {
			return Cost{Unpriced: true, Exact: true}, nil
		}
		return Cost{}, &UnpricedError{Provider: provider, Model: model}
	}
	if worst {
		p.InputPerMTok = p.MaxInputPerMTok()
		u.CachedInputTokens, u.CacheWriteTokens = 0, 0
	}
	c, err := Compute(p, u, t.creditsPerUSD)
	if err != nil {
		return Cost{}, fmt.Errorf("price usage of %s/%s: %w", provider, model, err)
	}
	return c, nil
}

// Compute prices u at p with the given exchange rate, ignoring p.Priced.
// It is the pure arithmetic behind [Table.Cost]; see the package doc for
// the prompt-cache formula and the rounding rule. creditsPerUSD must be
// positive. Cache counts that cannot be parts of u.InputTokens (negative,
// or more than it together) are ignored, the whole input is priced at the
// input price, and Cost.CacheIgnored says so.
func Compute(p Price, u Usage, creditsPerUSD int64) (Cost, error) {
	if creditsPerUSD <= 0 {
		return Cost{}, fmt.Errorf("compute cost with %d credits per USD: %w", creditsPerUSD, ErrNegative)
	}
	if p.InputPerMTok < 0 || p.OutputPerMTok < 0 || p.PerKChar < 0 || p.CachedInputPerMTok < 0 || p.CacheWritePerMTok < 0 {
		return Cost{}, fmt.Errorf("compute cost: %w: price", ErrNegative)
	}
	if u.InputTokens < 0 || u.OutputTokens < 0 || u.Characters < 0 || u.Images < 0 {
		return Cost{}, fmt.Errorf("compute cost: %w: usage", ErrNegative)
	}
	cached, writes := u.CachedInputTokens, u.CacheWriteTokens
	ignored := false
	// The cache counts come from a plugin, which the core does not trust.
	// Counts that cannot be parts of the input (negative, or more than it)
	// are ignored and the whole input is billed at the input price: the
	// figure every plugin reports and old plugins were billed by. Rejecting
	// the usage instead would charge nothing at all, and clamping would
	// have to guess which of the two counts is wrong.
	if cached < 0 || writes < 0 || cached > u.InputTokens || writes > u.InputTokens-cached {
		cached, writes, ignored = 0, 0, true
	}
	fresh := u.InputTokens - cached - writes

	// Every term is in pico-USD: tokens × (micro-USD per 10⁶ tokens) is
	// already pico-USD; characters × (micro-USD per 10³ chars) needs × 10³;
	// images × micro-USD needs × 10⁶.
	pico := mul64(uint64(fresh), uint64(p.InputPerMTok))
	var over, o bool
	pico, o = pico.add(mul64(uint64(cached), uint64(p.cachedInputPrice())))
	over = over || o
	pico, o = pico.add(mul64(uint64(writes), uint64(p.cacheWritePrice())))
	over = over || o
	pico, o = pico.add(mul64(uint64(u.OutputTokens), uint64(p.OutputPerMTok)))
	over = over || o
	chars, o := mul64(uint64(u.Characters), uint64(p.PerKChar)).mul(1000)
	over = over || o
	pico, o = pico.add(chars)
	over = over || o
	if u.Images > 0 {
		each, err := imagePrice(p, u)
		if err != nil {
			return Cost{}, err
		}
		imgs, o := mul64(uint64(u.Images), uint64(each)).mul(picoPerMicro)
		over = over || o
		pico, o = pico.add(imgs)
		over = over || o
	}
	if over {
		return Cost{}, fmt.Errorf("compute cost: %w", ErrOverflow)
	}

	// micro-credits = pico-USD × 10⁻¹² USD × creditsPerUSD × 10⁶
	//               = pico-USD × creditsPerUSD / 10⁶.
	scaled, o := pico.mul(uint64(creditsPerUSD))
	if o {
		return Cost{}, fmt.Errorf("compute cost: %w", ErrOverflow)
	}
	mcU, exact := scaled.divCeil(picoPerMicro)
	usdU, _ := pico.divCeil(picoPerMicro)
	mc, ok1 := mcU.int64()
	usd, ok2 := usdU.int64()
	if !ok1 || !ok2 {
		return Cost{}, fmt.Errorf("compute cost: %w", ErrOverflow)
	}
	return Cost{MicroCredits: mc, MicroUSD: usd, Exact: exact, PriceVersion: p.Version, CacheIgnored: ignored}, nil
}

// cachedInputPrice is what a token read from the prompt cache costs.
func (p Price) cachedInputPrice() int64 {
	if p.HasCachedInputPrice {
		return p.CachedInputPerMTok
	}
	return p.InputPerMTok
}

// cacheWritePrice is what a token written to the prompt cache costs.
func (p Price) cacheWritePrice() int64 {
	if p.HasCacheWritePrice {
		return p.CacheWritePerMTok
	}
	return p.InputPerMTok
}

// MaxInputPerMTok is the rate a credit hold prices every prompt token at:
// the input price, or the cached-input price should a config make it the
// dearer one, since nobody knows before a call how much of the prompt the
// vendor will serve from its cache.
//
// The cache-write price is left out on purpose. Vendors that bill cache
// writes above the input price (Anthropic) write only prompts whose
// request asks for it, and OneFlow's requests never do; pricing every
// prompt at the write price would make each hold 25 % larger than the
// estimate for a cost that does not occur. A plugin that reports writes
// anyway is billed for them in full: usage above a hold is charged from
// the balance like any usage above the estimate.
func (p Price) MaxInputPerMTok() int64 {
	return max(p.InputPerMTok, p.cachedInputPrice())
}

// imagePrice finds the per-image price for u's size and quality: the most
// specific key wins ("SIZE/QUALITY", then "SIZE", then "*").
func imagePrice(p Price, u Usage) (int64, error) {
	if u.ImageSize != "" && u.ImageQuality != "" {
		if v, ok := p.Image[u.ImageSize+"/"+u.ImageQuality]; ok {
			return checkImagePrice(v)
		}
	}
	if u.ImageSize != "" {
		if v, ok := p.Image[u.ImageSize]; ok {
			return checkImagePrice(v)
		}
	}
	if v, ok := p.Image["*"]; ok {
		return checkImagePrice(v)
	}
	return 0, fmt.Errorf("price image of size %q quality %q: %w", u.ImageSize, u.ImageQuality, ErrImageSizeUnpriced)
}

func checkImagePrice(v int64) (int64, error) {
	if v < 0 {
		return 0, fmt.Errorf("compute cost: %w: image price", ErrNegative)
	}
	return v, nil
}
