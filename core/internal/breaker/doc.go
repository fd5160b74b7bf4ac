// Package breaker keeps one circuit breaker per provider and model, so that
// a vendor (or one of its models) that keeps failing is skipped quickly
// instead of costing every request a slow failure, and is probed again
// after a cool-down.
//
// # States
//
// A breaker starts closed and lets every call through. It opens when,
// within the rolling window Settings.Window, either FailureThreshold
// failures happen in a row, or at least FailureThreshold calls completed
// and the share of failures among them reached FailureRatio. An open
// breaker refuses calls at once with an error that matches ErrOpen. After
// the cool-down it becomes half-open and lets HalfOpenProbes calls through
// (refusing the rest with ErrTooManyProbes); when that many probes succeed
// in a row it closes again, and a single failed probe opens it again.
//
// The cool-down grows with every consecutive opening: Timeout, then twice
// that, four times, and so on up to MaxTimeout. It falls back to Timeout
// once the breaker has closed, so a vendor that recovered is not punished
// for an old outage.
//
// # How gobreaker is used
//
// The counting, the rolling window, the trip rule and the half-open probe
// budget are github.com/sony/gobreaker/v2's (a TwoStepCircuitBreaker per
// provider and model, with BucketPeriod = Window/10). gobreaker's open
// period is fixed per breaker, so the growing cool-down is a gate in front
// of it: gobreaker keeps the base Timeout, and whenever it opens this
// package records an "open until" instant (now plus the current, possibly
// doubled, cool-down). Until that instant passes, Allow, State and
// Snapshot answer "open" without asking gobreaker at all, and outcomes of
// calls admitted before the breaker opened are dropped without reaching
// it. Because the gate is never shorter than gobreaker's own Timeout,
// gobreaker has always finished its open period by the time the gate lets
// a call reach it, and its open → half-open transition then happens (and
// is reported) exactly when the longer cool-down ends.
//
// The transition out of the open state is observed lazily, by the next
// Allow, State or Snapshot call for that breaker; a metrics collector that
// calls Snapshot at scrape time keeps a state gauge accurate.
//
// Time comes from the monotonic clock (time.Now): gobreaker reads it
// directly, so an injected clock could not move its rolling window, and a
// clock that moved only the cool-down would give two inconsistent notions
// of time. Tests therefore use millisecond settings and poll with
// deadlines, and check cool-down lengths through Status.Cooldown, which
// does not depend on timing.
//
// # What counts as a failure
//
// The caller decides, through the Outcome passed to the done function
// that Allow returns. The gateway reports Failure only for retryable
// vendor or plugin failures (rate limited, unavailable, timeout, unknown,
// a plugin that crashed), Success when the vendor answered (including a
// client error such as invalid_request, which says nothing bad about the
// vendor), and Ignore when the caller went away or the result says
// nothing about the vendor's health. Ignore matters in the half-open
// state: it gives the probe slot back so that another call can probe.
//
// Keys should come from configuration (the configured providers and their
// models), not from raw client input: every distinct key keeps a breaker
// for the life of the Set.
package breaker
