package ratelimit

import (
	"context"
	"errors"
)

// WithFailOpen decides what l's outages mean. When l returns an error
// wrapping [ErrUnavailable] and failOpen is true, the request is allowed
// (Result{Allowed: true}, Limit 0 so no headers are sent) and onError, if not
// nil, is called with the error so the app can log it and count a metric.
// When failOpen is false the error is returned unchanged: it still wraps
// ErrUnavailable, which the server answers with 503.
//
// Other errors (invalid checks, a cancelled context) are always returned:
// they are not outages, and allowing on them would hide bugs.
func WithFailOpen(l Limiter, failOpen bool, onError func(error)) Limiter {
	return &failPolicy{next: l, failOpen: failOpen, onError: onError}
}

type failPolicy struct {
	next     Limiter
	failOpen bool
	onError  func(error)
}

// Allow implements Limiter.
func (f *failPolicy) Allow(ctx context.Context, checks ...Check) (Result, error) {
	res, err := f.next.Allow(ctx, checks...)
	if err == nil || !f.failOpen || !errors.Is(err, ErrUnavailable) {
		return res, err
	}
	if f.onError != nil {
		f.onError(err)
	}
	return Result{Allowed: true}, nil
}
