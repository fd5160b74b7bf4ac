package breaker

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// waitFor is how long tests poll for a state the breaker reaches by
// itself; generous so that a loaded 2-core machine does not flake.
const waitFor = 10 * time.Second

// call runs one allowed call with the given outcome and fails the test if
// the breaker refuses it.
func call(t *testing.T, s *Set, provider, model string, o Outcome) {
	t.Helper()
	done, err := s.Allow(provider, model)
	if err != nil {
		t.Fatalf("Allow(%s, %s): %v", provider, model, err)
	}
	done(o)
}

// waitState polls State until it reports want.
func waitState(t *testing.T, s *Set, provider, model string, want State) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := s.State(provider, model)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("State(%s, %s) = %s after %s, want %s", provider, model, got, waitFor, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// status returns the Snapshot entry for provider/model.
func status(t *testing.T, s *Set, provider, model string) Status {
	t.Helper()
	for _, st := range s.Snapshot() {
		if st.Provider == provider && st.Model == model {
			return st
		}
	}
	t.Fatalf("Snapshot has no entry for %s/%s", provider, model)
	return Status{}
}

// transition is one recorded OnStateChange call.
type transition struct {
	provider, model string
	from, to        State
	at              time.Time
}

// recorder collects transitions from WithOnStateChange.
type recorder struct {
	mu     sync.Mutex
	events []transition
}

func (r *recorder) record(provider, model string, from, to State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, transition{provider, model, from, to, time.Now()})
}

func (r *recorder) list() []transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]transition(nil), r.events...)
}

func TestTripRules(t *testing.T) {
	const (
		S = Success
		F = Failure
		I = Ignore
	)
	tests := []struct {
		name     string
		settings Settings
		outcomes []Outcome
		want     State
	}{
		{"consecutive failures reach the threshold", Settings{FailureThreshold: 3}, []Outcome{F, F, F}, StateOpen},
		{"below the threshold stays closed", Settings{FailureThreshold: 3}, []Outcome{F, F}, StateClosed},
		{"a success breaks the run", Settings{FailureThreshold: 3}, []Outcome{F, F, S, F, F}, StateClosed},
		{"ignored calls do not break the run", Settings{FailureThreshold: 2}, []Outcome{F, I, F}, StateOpen},
		{"ignored calls do not count", Settings{FailureThreshold: 2}, []Outcome{I, I, I, I}, StateClosed},
		{"ratio reached", Settings{FailureThreshold: 4, FailureRatio: 0.5}, []Outcome{S, F, S, F}, StateOpen},
		{"ratio reached later", Settings{FailureThreshold: 4, FailureRatio: 0.5}, []Outcome{S, S, S, F, F, F}, StateOpen},
		{"ratio not reached", Settings{FailureThreshold: 4, FailureRatio: 0.6}, []Outcome{S, F, S, F}, StateClosed},
		{"ratio needs threshold completed calls", Settings{FailureThreshold: 4, FailureRatio: 0.5}, []Outcome{S, F, F}, StateClosed},
		{"ratio rule disabled", Settings{FailureThreshold: 4}, []Outcome{S, F, S, F, S, F}, StateClosed},
		{"ignored calls stay out of the ratio", Settings{FailureThreshold: 4, FailureRatio: 0.5}, []Outcome{I, I, F, S, F}, StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An hour-long cool-down keeps an open breaker open for the
			// whole test; the hour-long window exercises the rolling
			// buckets without letting anything age out.
			tt.settings.Timeout = time.Hour
			tt.settings.Window = time.Hour
			s := New(tt.settings)
			for _, o := range tt.outcomes {
				call(t, s, "openai", "gpt-4o", o)
			}
			if got := s.State("openai", "gpt-4o"); got != tt.want {
				t.Fatalf("State = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOpenRefusesImmediately(t *testing.T) {
	s := New(Settings{FailureThreshold: 2, Timeout: time.Hour})
	call(t, s, "openai", "gpt-4o", Failure)
	call(t, s, "openai", "gpt-4o", Failure)

	for range 3 {
		done, err := s.Allow("openai", "gpt-4o")
		if done != nil {
			t.Fatal("Allow returned a done function with its refusal")
		}
		if !errors.Is(err, ErrOpen) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
		if errors.Is(err, ErrTooManyProbes) {
			t.Fatalf("err = %v matches ErrTooManyProbes while open", err)
		}
		var oe *OpenError
		if !errors.As(err, &oe) {
			t.Fatalf("err = %T, want *OpenError", err)
		}
		if oe.Provider != "openai" || oe.Model != "gpt-4o" || oe.State != StateOpen {
			t.Fatalf("OpenError = %+v", oe)
		}
		if oe.Remaining <= 0 || oe.Remaining > time.Hour {
			t.Fatalf("Remaining = %s, want in (0, 1h]", oe.Remaining)
		}
	}
	st := status(t, s, "openai", "gpt-4o")
	if st.State != StateOpen || st.Cooldown != time.Hour || st.Remaining <= 0 {
		t.Fatalf("Status = %+v", st)
	}
}

func TestWindowForgetsOldFailures(t *testing.T) {
	const window = 50 * time.Millisecond
	s := New(Settings{FailureThreshold: 3, Window: window, Timeout: time.Hour})
	call(t, s, "openai", "gpt-4o", Failure)
	call(t, s, "openai", "gpt-4o", Failure)
	// Sleeping far longer than the window only makes forgetting more
	// certain, so this is robust on a slow machine.
	time.Sleep(5 * window)
	call(t, s, "openai", "gpt-4o", Failure)
	if got := s.State("openai", "gpt-4o"); got != StateClosed {
		t.Fatalf("State = %s, want closed: failures older than the window counted", got)
	}
	if st := status(t, s, "openai", "gpt-4o"); st.Failures != 1 || st.ConsecutiveFailures != 1 {
		t.Fatalf("Status = %+v, want 1 failure in the window", st)
	}
}

func TestHalfOpenProbes(t *testing.T) {
	s := New(Settings{FailureThreshold: 1, Timeout: 10 * time.Millisecond, HalfOpenProbes: 2})
	call(t, s, "openai", "gpt-4o", Failure)
	waitState(t, s, "openai", "gpt-4o", StateHalfOpen)

	// An ignored probe gives its slot back.
	call(t, s, "openai", "gpt-4o", Ignore)

	done1, err := s.Allow("openai", "gpt-4o")
	if err != nil {
		t.Fatalf("first probe refused: %v", err)
	}
	done2, err := s.Allow("openai", "gpt-4o")
	if err != nil {
		t.Fatalf("second probe refused: %v", err)
	}
	_, err = s.Allow("openai", "gpt-4o")
	if !errors.Is(err, ErrTooManyProbes) || !errors.Is(err, ErrOpen) {
		t.Fatalf("third probe: err = %v, want ErrTooManyProbes and ErrOpen", err)
	}
	var oe *OpenError
	if !errors.As(err, &oe) || oe.State != StateHalfOpen {
		t.Fatalf("third probe: err = %#v, want a half-open *OpenError", err)
	}

	done1(Success)
	if got := s.State("openai", "gpt-4o"); got != StateHalfOpen {
		t.Fatalf("after one of two probes: State = %s, want half_open", got)
	}
	if _, err := s.Allow("openai", "gpt-4o"); !errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("a finished probe must not free a slot: err = %v", err)
	}
	done2(Success)
	if got := s.State("openai", "gpt-4o"); got != StateClosed {
		t.Fatalf("after two successful probes: State = %s, want closed", got)
	}
	call(t, s, "openai", "gpt-4o", Success)
}

func TestCooldownGrowsAndResets(t *testing.T) {
	const base = 20 * time.Millisecond
	rec := &recorder{}
	s := New(Settings{FailureThreshold: 1, Timeout: base, MaxTimeout: 70 * time.Millisecond},
		WithOnStateChange(rec.record))

	// Each failed probe reopens with the next cool-down: 20, 40, 70 (capped
	// from 80), 70.
	call(t, s, "openai", "gpt-4o", Failure)
	for i, want := range []time.Duration{base, 2 * base, 70 * time.Millisecond, 70 * time.Millisecond} {
		if i > 0 {
			waitState(t, s, "openai", "gpt-4o", StateHalfOpen)
			call(t, s, "openai", "gpt-4o", Failure)
		}
		st := status(t, s, "openai", "gpt-4o")
		if st.Cooldown != want {
			t.Fatalf("opening %d: Cooldown = %s, want %s", i+1, st.Cooldown, want)
		}
		if st.State == StateClosed {
			t.Fatalf("opening %d: State = closed", i+1)
		}
		if st.State == StateOpen && (st.Remaining <= 0 || st.Remaining > want) {
			t.Fatalf("opening %d: Remaining = %s, want in (0, %s]", i+1, st.Remaining, want)
		}
	}

	// A successful probe closes the breaker and resets the cool-down.
	waitState(t, s, "openai", "gpt-4o", StateHalfOpen)
	call(t, s, "openai", "gpt-4o", Success)
	if st := status(t, s, "openai", "gpt-4o"); st.State != StateClosed || st.Cooldown != 0 {
		t.Fatalf("after recovery: Status = %+v, want closed with no cool-down", st)
	}
	call(t, s, "openai", "gpt-4o", Failure)
	if st := status(t, s, "openai", "gpt-4o"); st.Cooldown != base {
		t.Fatalf("first opening after recovery: Cooldown = %s, want %s", st.Cooldown, base)
	}
	checkCooldownsHonoured(t, rec.list(), []time.Duration{base, 2 * base, 70 * time.Millisecond, 70 * time.Millisecond, base})
}

// checkCooldownsHonoured checks that no open → half-open transition came
// before the cool-down of the opening it ends. Only lower bounds are
// checked: a slow machine can make a cool-down look longer, never shorter.
func checkCooldownsHonoured(t *testing.T, events []transition, cooldowns []time.Duration) {
	t.Helper()
	// A little slack for the instants read around the callback.
	const slack = time.Millisecond
	opened := -1
	var openedAt time.Time
	for _, ev := range events {
		switch ev.to {
		case StateOpen:
			opened++
			openedAt = ev.at
		case StateHalfOpen:
			if opened < 0 || opened >= len(cooldowns) {
				t.Fatalf("unexpected half-open transition %+v", ev)
			}
			if got := ev.at.Sub(openedAt); got < cooldowns[opened]-slack {
				t.Fatalf("opening %d went half-open after %s, before its %s cool-down", opened+1, got, cooldowns[opened])
			}
		}
	}
	if opened+1 != len(cooldowns) {
		t.Fatalf("saw %d openings, want %d", opened+1, len(cooldowns))
	}
}

func TestStaleOutcomeDoesNotShortenCooldown(t *testing.T) {
	// gobreaker keeps the base Timeout; after a failed probe the gate
	// stretches the cool-down to twice that. An outcome of a call
	// admitted before the breaker opened arrives in between and must not
	// make gobreaker go half-open early.
	const base = 40 * time.Millisecond
	rec := &recorder{}
	s := New(Settings{FailureThreshold: 1, Timeout: base, MaxTimeout: time.Hour}, WithOnStateChange(rec.record))

	stale, err := s.Allow("openai", "gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	call(t, s, "openai", "gpt-4o", Failure)
	waitState(t, s, "openai", "gpt-4o", StateHalfOpen)
	call(t, s, "openai", "gpt-4o", Failure)
	time.Sleep(base + base/4)
	stale(Success)

	waitState(t, s, "openai", "gpt-4o", StateHalfOpen)
	checkCooldownsHonoured(t, rec.list(), []time.Duration{base, 2 * base})
}

func TestOnStateChange(t *testing.T) {
	rec := &recorder{}
	s := New(Settings{FailureThreshold: 2, Timeout: 5 * time.Millisecond}, WithOnStateChange(rec.record))

	call(t, s, "anthropic", "claude", Failure)
	call(t, s, "anthropic", "claude", Failure)
	waitState(t, s, "anthropic", "claude", StateHalfOpen)
	call(t, s, "anthropic", "claude", Failure)
	waitState(t, s, "anthropic", "claude", StateHalfOpen)
	call(t, s, "anthropic", "claude", Success)

	want := []struct{ from, to State }{
		{StateClosed, StateOpen},
		{StateOpen, StateHalfOpen},
		{StateHalfOpen, StateOpen},
		{StateOpen, StateHalfOpen},
		{StateHalfOpen, StateClosed},
	}
	got := rec.list()
	if len(got) != len(want) {
		t.Fatalf("got %d transitions %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.provider != "anthropic" || g.model != "claude" || g.from != w.from || g.to != w.to {
			t.Errorf("transition %d = %s/%s %s→%s, want anthropic/claude %s→%s", i, g.provider, g.model, g.from, g.to, w.from, w.to)
		}
	}
}

func TestBreakersAreIndependent(t *testing.T) {
	s := New(Settings{FailureThreshold: 1, Timeout: time.Hour})
	call(t, s, "openai", "gpt-4o", Failure)

	tests := []struct {
		provider, model string
		want            State
	}{
		{"openai", "gpt-4o", StateOpen},
		{"openai", "gpt-4o-mini", StateClosed},
		{"anthropic", "gpt-4o", StateClosed},
		{"never", "seen", StateClosed},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.model, func(t *testing.T) {
			if got := s.State(tt.provider, tt.model); got != tt.want {
				t.Fatalf("State = %s, want %s", got, tt.want)
			}
		})
	}
	call(t, s, "openai", "gpt-4o-mini", Success)
	call(t, s, "anthropic", "gpt-4o", Success)

	snap := s.Snapshot()
	var keys []string
	for _, st := range snap {
		keys = append(keys, st.Provider+"/"+st.Model+"="+st.State.String())
	}
	wantKeys := fmt.Sprint([]string{"anthropic/gpt-4o=closed", "openai/gpt-4o=open", "openai/gpt-4o-mini=closed"})
	if fmt.Sprint(keys) != wantKeys {
		t.Fatalf("Snapshot = %v, want %v (State must not create breakers)", keys, wantKeys)
	}
}

func TestDoneTwiceCountsOnce(t *testing.T) {
	s := New(Settings{FailureThreshold: 2, Timeout: time.Hour})
	done, err := s.Allow("openai", "gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	done(Failure)
	done(Failure)
	if got := s.State("openai", "gpt-4o"); got != StateClosed {
		t.Fatalf("State = %s, want closed: a second done call was counted", got)
	}
}

func TestSettingsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Settings
		want Settings
	}{
		{"zero", Settings{}, Settings{FailureThreshold: DefaultFailureThreshold, Timeout: DefaultTimeout, MaxTimeout: DefaultTimeout, HalfOpenProbes: DefaultHalfOpenProbes}},
		{"max below timeout", Settings{FailureThreshold: 3, Timeout: time.Minute, MaxTimeout: time.Second, HalfOpenProbes: 2, Window: -1},
			Settings{FailureThreshold: 3, Timeout: time.Minute, MaxTimeout: time.Minute, HalfOpenProbes: 2}},
		{"kept", Settings{FailureThreshold: 5, FailureRatio: 0.5, Window: time.Minute, Timeout: 30 * time.Second, MaxTimeout: 5 * time.Minute, HalfOpenProbes: 1},
			Settings{FailureThreshold: 5, FailureRatio: 0.5, Window: time.Minute, Timeout: 30 * time.Second, MaxTimeout: 5 * time.Minute, HalfOpenProbes: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.in).Settings(); got != tt.want {
				t.Fatalf("Settings = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCooldown(t *testing.T) {
	tests := []struct {
		base, limit time.Duration
		n           int
		want        time.Duration
	}{
		{10, 35, 0, 10},
		{10, 35, 1, 20},
		{10, 35, 2, 35},
		{10, 35, 50, 35},
		{10, 10, 3, 10},
		{1, math.MaxInt64, 200, math.MaxInt64},
		{3, math.MaxInt64, 62, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%d_%d", tt.base, tt.limit, tt.n), func(t *testing.T) {
			if got := cooldown(tt.base, tt.limit, tt.n); got != tt.want {
				t.Fatalf("cooldown = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestStateString(t *testing.T) {
	tests := map[State]string{StateClosed: "closed", StateHalfOpen: "half_open", StateOpen: "open", 7: "state(7)"}
	for s, want := range tests {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(Settings{FailureThreshold: 3, FailureRatio: 0.5, Window: 20 * time.Millisecond,
		Timeout: time.Millisecond, MaxTimeout: 4 * time.Millisecond, HalfOpenProbes: 2},
		WithOnStateChange(func(string, string, State, State) {}))
	models := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				m := models[(g+i)%len(models)]
				if i%100 == 0 {
					_ = s.State("p", m)
					_ = s.Snapshot()
				}
				done, err := s.Allow("p", m)
				if err != nil {
					if !errors.Is(err, ErrOpen) {
						t.Errorf("Allow: %v does not match ErrOpen", err)
						return
					}
					continue
				}
				done(Outcome((g * i) % 3))
			}
		})
	}
	wg.Wait()
	if got := len(s.Snapshot()); got != len(models) {
		t.Fatalf("Snapshot has %d breakers, want %d", got, len(models))
	}
}

func BenchmarkAllowDoneClosed(b *testing.B) {
	s := New(Settings{FailureThreshold: 5, FailureRatio: 0.5, Window: time.Minute, Timeout: 30 * time.Second, MaxTimeout: 5 * time.Minute})
	b.ReportAllocs()
	for b.Loop() {
		done, err := s.Allow("openai", "gpt-4o")
		if err != nil {
			b.Fatal(err)
		}
		done(Success)
	}
}

func BenchmarkAllowDoneClosedParallel(b *testing.B) {
	s := New(Settings{FailureThreshold: 5, FailureRatio: 0.5, Window: time.Minute, Timeout: 30 * time.Second, MaxTimeout: 5 * time.Minute})
	models := []string{"gpt-4o", "gpt-4o-mini", "o3", "o4-mini"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			done, err := s.Allow("openai", models[i%len(models)])
			if err != nil {
				b.Error(err)
				return
			}
			done(Success)
			i++
		}
	})
}

func BenchmarkAllowOpen(b *testing.B) {
	s := New(Settings{FailureThreshold: 1, Timeout: time.Hour})
	done, _ := s.Allow("openai", "gpt-4o")
	done(Failure)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Allow("openai", "gpt-4o"); err == nil {
			b.Fatal("open breaker allowed a call")
		}
	}
}
