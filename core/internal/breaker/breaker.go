package breaker

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Defaults used by New for settings left at zero.
const (
	DefaultFailureThreshold = 5
	DefaultTimeout          = 30 * time.Second
	DefaultHalfOpenProbes   = 1
)

// windowBuckets is how many buckets the rolling window is cut into: enough
// that failures age out smoothly, few enough that rolling stays cheap.
const windowBuckets = 10

// Settings configures every breaker of a Set. Zero values take the
// defaults documented on each field.
type Settings struct {
	// FailureThreshold is how many failures in a row open the breaker, and
	// how many completed calls the ratio rule needs before it applies.
	// Zero or less means DefaultFailureThreshold.
	FailureThreshold int
	// FailureRatio opens the breaker when at least FailureThreshold calls
	// completed in the window and this share of them failed (0.5 = half).
	// Zero or less disables the ratio rule.
	FailureRatio float64
	// Window is the rolling window over which failures are counted. Zero or
	// less keeps counting until the breaker changes state.
	Window time.Duration
	// Timeout is the first cool-down of an open breaker. Zero or less means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxTimeout caps the cool-down, which doubles with every consecutive
	// opening. Values below Timeout mean the cool-down never grows.
	MaxTimeout time.Duration
	// HalfOpenProbes is how many calls a half-open breaker lets through,
	// and how many of them must succeed in a row to close it. Zero or less
	// means DefaultHalfOpenProbes.
	HalfOpenProbes int
}

// normalized returns s with defaults applied.
func (s Settings) normalized() Settings {
	if s.FailureThreshold <= 0 {
		s.FailureThreshold = DefaultFailureThreshold
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.MaxTimeout < s.Timeout {
		s.MaxTimeout = s.Timeout
	}
	if s.HalfOpenProbes <= 0 {
		s.HalfOpenProbes = DefaultHalfOpenProbes
	}
	if s.Window < 0 {
		s.Window = 0
	}
	// gobreaker counts in uint32; larger values would be meaningless.
	s.FailureThreshold = min(s.FailureThreshold, math.MaxInt32)
	s.HalfOpenProbes = min(s.HalfOpenProbes, math.MaxInt32)
	return s
}

// State is a breaker's state. The numeric values are the ones exported as
// the breaker state metric.
type State int

// The breaker states.
const (
	StateClosed   State = 0
	StateHalfOpen State = 1
	StateOpen     State = 2
)

// String returns the state's name as used in logs and metric labels.
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half_open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Outcome is what the caller reports about an allowed call.
type Outcome uint8

// The outcomes of a call.
const (
	// Success: the vendor answered; it resets the run of failures and
	// counts toward closing a half-open breaker.
	Success Outcome = iota
	// Failure: the vendor or plugin failed in a way that says it is
	// unhealthy; it counts toward opening the breaker and reopens a
	// half-open one.
	Failure
	// Ignore: the call says nothing about the vendor's health (for example
	// the client went away); it is not counted, and a half-open breaker
	// gets its probe slot back.
	Ignore
)

// ErrOpen is matched (with errors.Is) by every refusal from Allow.
var ErrOpen = errors.New("circuit breaker is open")

// ErrTooManyProbes is matched, besides ErrOpen, by a refusal from a
// half-open breaker whose probe slots are all taken.
var ErrTooManyProbes = errors.New("circuit breaker is half-open and all probe slots are taken")

// OpenError is the error Allow returns when it refuses a call.
type OpenError struct {
	Provider string
	Model    string
	// State is StateOpen, or StateHalfOpen when the probe slots are taken.
	State State
	// Remaining is how long the cool-down still lasts; zero when half-open.
	// The gateway can use it as a Retry-After hint.
	Remaining time.Duration
}

// Error describes the refusal.
func (e *OpenError) Error() string {
	if e.State == StateHalfOpen {
		return fmt.Sprintf("circuit breaker for %s/%s is half-open and all probe slots are taken", e.Provider, e.Model)
	}
	return fmt.Sprintf("circuit breaker for %s/%s is open (cool-down ends in %s)", e.Provider, e.Model, e.Remaining.Round(time.Millisecond))
}

// Is makes every OpenError match ErrOpen, and half-open refusals also
// match ErrTooManyProbes.
func (e *OpenError) Is(target error) bool {
	return target == ErrOpen || (target == ErrTooManyProbes && e.State == StateHalfOpen)
}

// Status is one breaker's state as reported by Snapshot.
type Status struct {
	Provider string
	Model    string
	State    State
	// Requests and Failures count calls and failures in the current
	// window (or, when not closed, since the last state change).
	Requests            int
	Failures            int
	ConsecutiveFailures int
	// Cooldown is the length of the current cool-down while open or
	// half-open, and zero while closed.
	Cooldown time.Duration
	// Remaining is how long the breaker stays open; zero unless open.
	Remaining time.Duration
}

// Option configures a Set.
type Option func(*Set)

// WithOnStateChange registers fn to be called on every state change of any
// breaker. It runs while that breaker is locked, so it must be quick (set
// a gauge, write a log line) and must not call back into the Set for the
// same provider and model.
func WithOnStateChange(fn func(provider, model string, from, to State)) Option {
	return func(s *Set) { s.onChange = fn }
}

// key identifies one breaker; a struct key keeps map lookups allocation
// free.
type key struct{ provider, model string }

// Set holds the breakers of all providers and models. It is safe for
// concurrent use; the zero value is not usable, call New.
type Set struct {
	settings Settings
	onChange func(provider, model string, from, to State)
	// epoch anchors the monotonic instants stored as int64 in entries.
	epoch time.Time

	mu      sync.RWMutex
	entries map[key]*entry
}

// New returns a Set whose breakers all use s (with defaults applied).
func New(s Settings, opts ...Option) *Set {
	set := &Set{
		settings: s.normalized(),
		epoch:    time.Now(),
		entries:  make(map[key]*entry),
	}
	for _, o := range opts {
		o(set)
	}
	return set
}

// Settings returns the settings in use, with defaults applied.
func (s *Set) Settings() Settings { return s.settings }

// now returns the monotonic time since the Set was created.
func (s *Set) now() int64 { return int64(time.Since(s.epoch)) }

// Allow asks whether a call to provider/model may go ahead. When it may,
// the caller must call done exactly once with the call's Outcome (further
// calls are ignored); a half-open breaker whose probe never reports back
// would stay half-open. When it may not, err matches ErrOpen (and
// ErrTooManyProbes if the breaker is half-open) and is an *OpenError.
func (s *Set) Allow(provider, model string) (done func(Outcome), err error) {
	e := s.entry(provider, model)
	if rem, gated := e.gated(); gated {
		return nil, &OpenError{Provider: provider, Model: model, State: StateOpen, Remaining: rem}
	}
	gbDone, err := e.cb.Allow()
	if err != nil {
		if errors.Is(err, gobreaker.ErrTooManyRequests) {
			return nil, &OpenError{Provider: provider, Model: model, State: StateHalfOpen}
		}
		// gobreaker opened between the gate check and its own check.
		rem, _ := e.gated()
		return nil, &OpenError{Provider: provider, Model: model, State: StateOpen, Remaining: rem}
	}
	t := &ticket{e: e, done: gbDone}
	return t.finish, nil
}

// State returns the breaker state of provider/model; a pair never seen by
// Allow is closed.
func (s *Set) State(provider, model string) State {
	s.mu.RLock()
	e := s.entries[key{provider, model}]
	s.mu.RUnlock()
	if e == nil {
		return StateClosed
	}
	return e.state()
}

// Snapshot returns the status of every breaker that Allow has created,
// sorted by provider and model.
func (s *Set) Snapshot() []Status {
	s.mu.RLock()
	list := make([]*entry, 0, len(s.entries))
	for _, e := range s.entries {
		list = append(list, e)
	}
	s.mu.RUnlock()

	out := make([]Status, 0, len(list))
	for _, e := range list {
		st := Status{Provider: e.provider, Model: e.model}
		if rem, gated := e.gated(); gated {
			st.State = StateOpen
			st.Remaining = rem
		} else {
			// Asking gobreaker first rolls its window forward, so the
			// counts below are current.
			st.State = State(e.cb.State())
		}
		c := e.cb.Counts()
		st.Requests = int(c.Requests)
		st.Failures = int(c.TotalFailures)
		st.ConsecutiveFailures = int(c.ConsecutiveFailures)
		if st.State != StateClosed {
			st.Cooldown = time.Duration(e.cooldown.Load())
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int {
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.Model, b.Model))
	})
	return out
}

// entry returns the breaker for provider/model, creating it on first use.
func (s *Set) entry(provider, model string) *entry {
	k := key{provider, model}
	s.mu.RLock()
	e := s.entries[k]
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e = s.entries[k]; e != nil {
		return e
	}
	e = s.newEntry(provider, model)
	s.entries[k] = e
	return e
}

// newEntry builds the gobreaker for one provider/model.
func (s *Set) newEntry(provider, model string) *entry {
	e := &entry{set: s, provider: provider, model: model}
	st := s.settings
	gs := gobreaker.Settings{
		Name:        provider + "/" + model,
		MaxRequests: uint32(st.HalfOpenProbes),
		Interval:    st.Window,
		// gobreaker keeps the base cool-down; the gate in entry stretches
		// it (see the package documentation).
		Timeout:       st.Timeout,
		ReadyToTrip:   e.readyToTrip,
		OnStateChange: e.onStateChange,
		IsExcluded:    isIgnored,
	}
	if st.Window > 0 {
		gs.BucketPeriod = st.Window / windowBuckets
	}
	e.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gs)
	return e
}

// outcomeError carries an Outcome through gobreaker's error-based done
// callback; being a small integer type it converts to error without
// allocating.
type outcomeError Outcome

func (o outcomeError) Error() string {
	if Outcome(o) == Ignore {
		return "call ignored"
	}
	return "call failed"
}

// isIgnored tells gobreaker which results to leave out of its counts.
func isIgnored(err error) bool { return err == outcomeError(Ignore) }

// entry is one provider/model breaker: gobreaker plus the cool-down gate.
type entry struct {
	set      *Set
	provider string
	model    string
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]

	// openUntil is when the current cool-down ends, in Set.now units; zero
	// while closed so that the hot path skips reading the clock.
	openUntil atomic.Int64
	// cooldown is the length of the current cool-down.
	cooldown atomic.Int64
	// opens counts consecutive openings since the breaker last closed.
	// It is only written from onStateChange, under gobreaker's lock.
	opens atomic.Int32
}

// gated reports whether the cool-down is still running, and for how long.
func (e *entry) gated() (time.Duration, bool) {
	until := e.openUntil.Load()
	if until == 0 {
		return 0, false
	}
	now := e.set.now()
	if now < until {
		return time.Duration(until - now), true
	}
	return 0, false
}

// state returns the breaker's state without waking gobreaker early.
func (e *entry) state() State {
	if _, gated := e.gated(); gated {
		return StateOpen
	}
	return State(e.cb.State())
}

// readyToTrip applies the count rule and the ratio rule.
func (e *entry) readyToTrip(c gobreaker.Counts) bool {
	st := &e.set.settings
	threshold := uint32(st.FailureThreshold)
	if c.ConsecutiveFailures >= threshold {
		return true
	}
	if st.FailureRatio <= 0 {
		return false
	}
	// Completed calls only: calls still in flight would dilute the ratio.
	completed := c.TotalSuccesses + c.TotalFailures
	return completed >= threshold && float64(c.TotalFailures) >= st.FailureRatio*float64(completed)
}

// onStateChange runs under gobreaker's lock on every transition; it sets
// the gate and forwards the change to the Set's callback.
func (e *entry) onStateChange(_ string, from, to gobreaker.State) {
	switch State(to) {
	case StateOpen:
		n := e.opens.Add(1)
		d := cooldown(e.set.settings.Timeout, e.set.settings.MaxTimeout, int(n)-1)
		e.cooldown.Store(int64(d))
		e.openUntil.Store(e.set.now() + int64(d))
	case StateClosed:
		e.opens.Store(0)
		e.cooldown.Store(0)
		e.openUntil.Store(0)
	}
	if fn := e.set.onChange; fn != nil {
		fn(e.provider, e.model, State(from), State(to))
	}
}

// cooldown returns base doubled n times, capped at limit, without
// overflowing.
func cooldown(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 0; i < n && d < limit; i++ {
		if d > limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// ticket is one allowed call waiting for its outcome.
type ticket struct {
	e    *entry
	done func(error)
	used atomic.Bool
}

// finish reports the outcome to gobreaker once.
func (t *ticket) finish(o Outcome) {
	if t.used.Swap(true) {
		return
	}
	if _, gated := t.e.gated(); gated {
		// The breaker opened after this call was admitted, so the result
		// belongs to a finished generation. Handing it to gobreaker would
		// only make it notice the end of its (shorter) open period early
		// and report a half-open state the gate does not honour yet.
		return
	}
	switch o {
	case Success:
		t.done(nil)
	case Failure:
		t.done(outcomeError(Failure))
	default:
		t.done(outcomeError(Ignore))
	}
}
