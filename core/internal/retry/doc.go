// Package retry decides whether and when a failed call to a provider is
// tried again.
//
// Policy is pure arithmetic: exponential backoff with full jitter (a
// random delay between zero and min(MaxDelay, BaseDelay·2^attempt), which
// spreads retries from many clients instead of having them hit a
// recovering vendor in lockstep), a vendor's Retry-After that is honoured
// and never shortened, an attempt budget, and an overall deadline that a
// retry's delay may not cross.
//
// Retryable classifies errors with the sdk's provider kinds: rate
// limited, unavailable, timeout and unknown failures may succeed on
// another attempt; invalid requests, refused credentials, unsupported
// abilities, missing configuration and cancellations will not.
//
// Do runs the loop with injected randomness and sleep so that tests need
// neither real time nor luck. A call that must not be repeated, such as a
// stream that already sent bytes to the client, returns its error wrapped
// with Permanent.
//
// Elapsed time for the deadline is read from the monotonic clock rather
// than summed from the delays, because the deadline is about the real time
// spent on the request, attempts included.
package retry
