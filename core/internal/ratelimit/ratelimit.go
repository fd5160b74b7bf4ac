package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limit names used by [Quota.Checks]. They appear in [Result.LimitName] and in
// Redis key names, so they must not change between releases.
const (
	NameMinute       = "minute"
	NameHour         = "hour"
	NameTokensMinute = "tokens_minute"
)

// minInterval is the smallest time one unit of a limit may stand for. The
// Redis backend keeps time in whole microseconds (exact in a Lua double), so a
// finer limit could not be represented there; the memory backend enforces the
// same bound so both backends accept the same configurations.
const minInterval = time.Microsecond

// ErrUnavailable is wrapped by every error that means "the shared limiter's
// backend could not be asked" (Redis down, timeout, protocol error). Callers
// map it to 503, or let [WithFailOpen] turn it into an allow.
var ErrUnavailable = errors.New("rate limiter unavailable")

// ErrInvalid is wrapped by errors about a malformed [Check]; it is a
// programming or configuration error, never a reason to fail open.
var ErrInvalid = errors.New("invalid rate limit check")

// Limit is one rate: Rate units per Period. A Rate of 0 disables the limit.
type Limit struct {
	// Name tells limits of one principal apart ("minute", "hour",
	// "tokens_minute"); it must be non-empty and contain no ':'.
	Name string
	// Rate is how many units Period allows; also the largest burst.
	Rate int
	// Period is the window the Rate applies to.
	Period time.Duration
}

// Check asks for Cost units of Limit on the bucket of Key.
type Check struct {
	// Key names the principal, e.g. "key:abc", "user:u1", "project:p1".
	Key   string
	Limit Limit
	// Cost is how many units the request uses: 1 for request limits, the
	// estimated token count for token limits. 0 only reports the state.
	Cost int
}

// Result is the outcome of one [Limiter.Allow] call.
//
// When the request is allowed, the fields describe the most restrictive check
// (the lowest Remaining), which is what X-RateLimit-* headers should show.
// When it is denied, they describe the check that blocks it longest, and
// RetryAfter says when to try again. Limit 0 means no limit applied (all
// checks disabled, or the limiter failed open): omit the headers.
type Result struct {
	Allowed bool
	// Limit is the Rate of the reported check.
	Limit int
	// Remaining is how many more units the reported check allows right now
	// (when denied: fewer than the request's cost).
	Remaining int
	// ResetAfter is the time until the reported check's bucket is full again.
	ResetAfter time.Duration
	// RetryAfter is how long to wait before the denied request can pass; 0
	// when allowed.
	RetryAfter time.Duration
	// LimitName and Key identify the reported check.
	LimitName string
	Key       string
	// Oversize is true when the request costs more than the limit's whole
	// Rate, so no amount of waiting lets it through (answer "too large",
	// not "retry later").
	Oversize bool
}

// Limiter decides requests against rate limits.
type Limiter interface {
	// Allow decides all checks together: the request is allowed only if every
	// enabled check passes, and only then is quota consumed (all-or-nothing).
	// Checks with Rate 0 are ignored. A Key/Name pair may appear only once.
	Allow(ctx context.Context, checks ...Check) (Result, error)
}

// Quota is the set of limits one principal has, as configured.
type Quota struct {
	PerMinute       int
	PerHour         int
	TokensPerMinute int
}

// Checks returns the checks for one request that is expected to use tokens
// tokens, for the principal key. Disabled limits are left out.
func (q Quota) Checks(key string, tokens int) []Check {
	out := make([]Check, 0, 3)
	return q.AppendChecks(out, key, tokens)
}

// AppendChecks is Checks appending to dst, so a caller combining several
// principals (key, user, project) builds one slice without extra allocations.
func (q Quota) AppendChecks(dst []Check, key string, tokens int) []Check {
	if q.PerMinute > 0 {
		dst = append(dst, Check{Key: key, Cost: 1, Limit: Limit{Name: NameMinute, Rate: q.PerMinute, Period: time.Minute}})
	}
	if q.PerHour > 0 {
		dst = append(dst, Check{Key: key, Cost: 1, Limit: Limit{Name: NameHour, Rate: q.PerHour, Period: time.Hour}})
	}
	if q.TokensPerMinute > 0 {
		dst = append(dst, Check{Key: key, Cost: tokens, Limit: Limit{Name: NameTokensMinute, Rate: q.TokensPerMinute, Period: time.Minute}})
	}
	return dst
}

// validate rejects checks the algorithm cannot represent. It returns the
// number of enabled checks so callers can skip work when there are none.
func validate(checks []Check) (int, error) {
	enabled := 0
	for i, c := range checks {
		if c.Limit.Rate < 0 {
			return 0, fmt.Errorf("check %d (%s): negative rate %d: %w", i, c.Limit.Name, c.Limit.Rate, ErrInvalid)
		}
		if c.Limit.Rate == 0 {
			continue
		}
		if c.Limit.Name == "" || strings.Contains(c.Limit.Name, ":") {
			return 0, fmt.Errorf("check %d: limit name %q must be non-empty without ':': %w", i, c.Limit.Name, ErrInvalid)
		}
		if c.Cost < 0 {
			return 0, fmt.Errorf("check %d (%s): negative cost %d: %w", i, c.Limit.Name, c.Cost, ErrInvalid)
		}
		if c.Limit.Period/time.Duration(c.Limit.Rate) < minInterval {
			return 0, fmt.Errorf("check %d (%s): %d per %s is finer than one unit per %s: %w",
				i, c.Limit.Name, c.Limit.Rate, c.Limit.Period, minInterval, ErrInvalid)
		}
		// Duplicates would read the same bucket twice and write it twice,
		// silently charging only one of them.
		for j := range i {
			if checks[j].Limit.Rate > 0 && checks[j].Key == c.Key && checks[j].Limit.Name == c.Limit.Name {
				return 0, fmt.Errorf("check %d: duplicate limit %q for the same key: %w", i, c.Limit.Name, ErrInvalid)
			}
		}
		enabled++
	}
	return enabled, nil
}

// outcome is one check's decision, in a backend-neutral form.
type outcome struct {
	allowed    bool
	oversize   bool
	remaining  int
	retryAfter time.Duration
	resetAfter time.Duration
}

// pick folds per-check outcomes into the Result the caller reports. When
// denied it reports the check that blocks longest (an oversize one first,
// since waiting never helps); when allowed, the one with the fewest units
// left, ties broken by the longer reset.
func pick(checks []Check, outs []outcome) Result {
	best := -1
	denied := false
	for i, o := range outs {
		if checks[i].Limit.Rate == 0 {
			continue
		}
		if best < 0 {
			best, denied = i, !o.allowed
			continue
		}
		b := outs[best]
		switch {
		case !o.allowed && !denied:
			best, denied = i, true
		case !o.allowed && denied:
			if (o.oversize && !b.oversize) || (o.oversize == b.oversize && o.retryAfter > b.retryAfter) {
				best = i
			}
		case o.allowed && !denied:
			if o.remaining < b.remaining || (o.remaining == b.remaining && o.resetAfter > b.resetAfter) {
				best = i
			}
		}
	}
	if best < 0 {
		return Result{Allowed: true}
	}
	o, c := outs[best], checks[best]
	r := Result{
		Allowed:    !denied,
		Limit:      c.Limit.Rate,
		Remaining:  o.remaining,
		ResetAfter: o.resetAfter,
		LimitName:  c.Limit.Name,
		Key:        c.Key,
		Oversize:   o.oversize,
	}
	if denied {
		r.RetryAfter = o.retryAfter
	}
	if r.Remaining < 0 {
		// Only after a limit was lowered: the bucket still holds debt from
		// the old, larger burst.
		r.Remaining = 0
	}
	return r
}
