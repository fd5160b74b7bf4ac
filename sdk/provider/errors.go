package provider

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind classifies a failure so that the core can decide whether to retry,
// fall back or answer the client. Kinds survive the plugin process boundary.
type Kind int

// The failure kinds.
const (
	KindUnknown Kind = iota
	// KindInvalidRequest: the request cannot succeed as sent (vendor 400/404/422).
	KindInvalidRequest
	// KindAuth: the vendor refused the credentials (401/403).
	KindAuth
	// KindRateLimited: the vendor asked to slow down (429); see RetryAfter.
	KindRateLimited
	// KindUnavailable: the vendor failed or could not be reached (5xx,
	// connection reset); retrying elsewhere may succeed.
	KindUnavailable
	// KindTimeout: the call ran out of time.
	KindTimeout
	// KindUnsupported: the plugin does not offer this ability or model.
	KindUnsupported
	// KindUnconfigured: the plugin lacks settings it needs, such as an API key.
	KindUnconfigured
	// KindCanceled: the caller went away.
	KindCanceled
)

var kindNames = [...]string{
	KindUnknown:        "unknown",
	KindInvalidRequest: "invalid_request",
	KindAuth:           "auth",
	KindRateLimited:    "rate_limited",
	KindUnavailable:    "unavailable",
	KindTimeout:        "timeout",
	KindUnsupported:    "unsupported",
	KindUnconfigured:   "unconfigured",
	KindCanceled:       "canceled",
}

// String returns the kind's snake_case name, used in metrics and logs.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// Retryable reports whether another attempt, here or at another provider,
// may succeed.
func (k Kind) Retryable() bool {
	switch k {
	case KindRateLimited, KindUnavailable, KindTimeout, KindUnknown:
		return true
	}
	return false
}

// Error is a classified provider failure. Message must not contain secrets.
type Error struct {
	Kind    Kind
	Message string
	// RetryAfter is the vendor's hint for KindRateLimited, zero if none.
	RetryAfter time.Duration
	// Status is the vendor's HTTP status when there was one.
	Status int
	// Partial is the usage consumed before the failure (for example a
	// stream cut short); the core bills it.
	Partial *Usage

	// link is set by the host's client for a failure in the link to the
	// plugin (see ErrPluginLink); a plugin cannot set it.
	link bool
}

// ErrPluginLink is matched, with errors.Is, by an error from the host's
// client when the call failed between host and plugin (the plugin process
// died or its connection broke) rather than at the vendor. Such a failure
// says nothing about the vendor's health.
var ErrPluginLink = errors.New("the link to the plugin failed")

// Is reports whether e is a failure of the link to the plugin when target
// is ErrPluginLink.
func (e *Error) Is(target error) bool { return target == ErrPluginLink && e.link }

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s: %s (vendor status %d)", e.Kind, e.Message, e.Status)
	}
	return e.Kind.String() + ": " + e.Message
}

// Errorf builds an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err: the Kind of an *Error in its chain,
// KindTimeout or KindCanceled for context errors, else KindUnknown.
func KindOf(err error) Kind {
	if err == nil {
		return KindUnknown
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCanceled
	}
	return KindUnknown
}
