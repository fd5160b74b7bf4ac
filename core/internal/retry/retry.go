package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// Policy says how often and how fast a failed call is retried. Attempts
// are numbered from zero: attempt 0 is the first call, and the delay
// after attempt n is the wait before attempt n+1.
type Policy struct {
	// MaxAttempts is the total number of calls, the first one included.
	// Zero or less means a single call, no retries.
	MaxAttempts int
	// BaseDelay is the backoff ceiling after the first call; it doubles
	// with every further attempt. Zero or less retries without waiting
	// (unless the vendor sent Retry-After).
	BaseDelay time.Duration
	// MaxDelay caps the backoff ceiling (not Retry-After, which is always
	// honoured). Zero or less means no cap.
	MaxDelay time.Duration
	// Deadline bounds the time from the first call to the start of the
	// last retry: a retry whose delay would cross it is not made. Zero or
	// less means no deadline.
	Deadline time.Duration
}

// Delay returns how long to wait after the given attempt failed. It is
// full jitter, rnd()·min(MaxDelay, BaseDelay·2^attempt), so concurrent
// clients spread out; when the vendor sent retryAfter (> 0) the delay is
// at least that long. rnd must return values in [0, 1); values outside are
// clamped, and nil means math/rand/v2's Float64.
func (p Policy) Delay(attempt int, retryAfter time.Duration, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	ceiling := p.ceiling(attempt)
	u := rnd()
	if !(u > 0) { // also catches NaN
		u = 0
	}
	var d time.Duration
	// Compare in floating point before converting: a product at or above
	// 2^63 would not convert back to int64.
	if f := u * float64(ceiling); f >= float64(ceiling) {
		d = ceiling
	} else {
		d = time.Duration(f)
	}
	return max(d, retryAfter)
}

// ceiling returns min(MaxDelay, BaseDelay·2^attempt) without overflowing.
func (p Policy) ceiling(attempt int) time.Duration {
	if p.BaseDelay <= 0 {
		return 0
	}
	limit := p.MaxDelay
	if limit <= 0 {
		limit = math.MaxInt64
	}
	attempt = max(attempt, 0)
	if attempt >= 63 || p.BaseDelay > limit>>attempt {
		return limit
	}
	return min(p.BaseDelay<<attempt, limit)
}

// Next decides whether to retry after the given attempt failed, elapsed
// after the first call started. It returns the delay to wait, or ok=false
// when the attempts are used up or the delay would cross Deadline.
func (p Policy) Next(attempt int, elapsed, retryAfter time.Duration, rnd func() float64) (delay time.Duration, ok bool) {
	attempt = max(attempt, 0)
	if attempt+1 >= max(p.MaxAttempts, 1) {
		return 0, false
	}
	d := p.Delay(attempt, retryAfter, rnd)
	// Written as a subtraction so that a huge Retry-After cannot overflow.
	if p.Deadline > 0 && d > p.Deadline-elapsed {
		return 0, false
	}
	return d, true
}

// Retryable reports whether another attempt may succeed where err failed:
// true for the kinds rate_limited, unavailable, timeout and unknown (which
// includes errors without a kind), false for invalid_request, auth,
// unsupported, unconfigured and canceled, for errors wrapped with
// Permanent, and for nil.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *permanentError
	if errors.As(err, &pe) {
		return false
	}
	return provider.KindOf(err).Retryable()
}

// Permanent marks err as one that must not be retried whatever its kind,
// for example because a stream already sent bytes to the client. The mark
// is transparent: Error, errors.Is, errors.As and provider.KindOf see err.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// permanentError is the mark added by Permanent.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Sleep waits for d or until ctx is done, whichever comes first, and
// returns ctx's error in the second case. It is the sleep Do uses when
// given nil.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Do calls fn, numbering attempts from zero, and calls it again while its
// error is Retryable, p.Next allows another attempt (with the vendor's
// provider.Error.RetryAfter as the minimum delay) and ctx is not done. It
// returns how many times fn was called and fn's last error, unchanged.
//
// A retry is also skipped when its delay would outlast ctx's deadline. If
// ctx ends while waiting, the returned error wraps ctx's error (so
// provider.KindOf says canceled or timeout) and quotes fn's last error.
// Usage reported in a failed attempt's provider.Error.Partial is only seen
// by fn, so fn must account for it before returning.
//
// rnd and sleep may be nil for math/rand/v2's Float64 and Sleep.
func Do(ctx context.Context, p Policy, rnd func() float64, sleep func(context.Context, time.Duration) error,
	fn func(ctx context.Context, attempt int) error) (attempts int, err error) {
	if rnd == nil {
		rnd = rand.Float64
	}
	if sleep == nil {
		sleep = Sleep
	}
	if cerr := ctx.Err(); cerr != nil {
		return 0, fmt.Errorf("before the first attempt: %w", cerr)
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err = fn(ctx, attempt)
		attempts = attempt + 1
		if err == nil || !Retryable(err) || ctx.Err() != nil {
			return attempts, err
		}
		d, ok := p.Next(attempt, time.Since(start), retryAfter(err), rnd)
		if !ok {
			return attempts, err
		}
		if dl, has := ctx.Deadline(); has && time.Until(dl) < d {
			return attempts, err
		}
		if serr := sleep(ctx, d); serr != nil {
			return attempts, fmt.Errorf("waiting %s to retry after attempt %d: %w (last error: %v)", d, attempts, serr, err)
		}
		if cerr := ctx.Err(); cerr != nil {
			return attempts, fmt.Errorf("retrying after attempt %d: %w (last error: %v)", attempts, cerr, err)
		}
	}
}

// retryAfter returns the vendor's Retry-After hint carried by err, if any.
func retryAfter(err error) time.Duration {
	var pe *provider.Error
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		return pe.RetryAfter
	}
	return 0
}
