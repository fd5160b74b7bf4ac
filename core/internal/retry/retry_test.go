package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// fixed returns an rnd that always yields v.
func fixed(v float64) func() float64 { return func() float64 { return v } }

func TestDelay(t *testing.T) {
	std := Policy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}
	tests := []struct {
		name       string
		p          Policy
		attempt    int
		retryAfter time.Duration
		rnd        float64
		want       time.Duration
	}{
		{"first retry, half jitter", std, 0, 0, 0.5, 50 * time.Millisecond},
		{"second retry doubles the ceiling", std, 1, 0, 0.5, 100 * time.Millisecond},
		{"zero jitter", std, 2, 0, 0, 0},
		{"rnd at 1 reaches the ceiling", std, 2, 0, 1, 400 * time.Millisecond},
		{"capped at MaxDelay", std, 5, 0, 1, 2 * time.Second},
		{"huge attempt stays capped", std, 1000, 0, 0.5, time.Second},
		{"negative attempt acts as the first", std, -3, 0, 1, 100 * time.Millisecond},
		{"rnd below 0 clamps to 0", std, 3, 0, -0.5, 0},
		{"rnd NaN clamps to 0", std, 3, 0, math.NaN(), 0},
		{"rnd above 1 clamps to the ceiling", std, 3, 0, 7, 800 * time.Millisecond},
		{"Retry-After longer than backoff wins", std, 0, 3 * time.Second, 0.5, 3 * time.Second},
		{"Retry-After beyond MaxDelay is not capped", std, 9, time.Minute, 1, time.Minute},
		{"backoff longer than Retry-After wins", std, 3, 10 * time.Millisecond, 1, 800 * time.Millisecond},
		{"no base delay", Policy{MaxAttempts: 3}, 4, 0, 1, 0},
		{"no base delay keeps Retry-After", Policy{MaxAttempts: 3}, 4, 2 * time.Second, 1, 2 * time.Second},
		{"no MaxDelay means no cap", Policy{BaseDelay: time.Second}, 10, 0, 1, 1024 * time.Second},
		{"no MaxDelay does not overflow", Policy{BaseDelay: time.Second}, 70, 0, 1, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.attempt, tt.retryAfter, fixed(tt.rnd)); got != tt.want {
				t.Fatalf("Delay(%d, %s) = %s, want %s", tt.attempt, tt.retryAfter, got, tt.want)
			}
		})
	}
}

func TestDelayNilRandIsBounded(t *testing.T) {
	p := Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for attempt := range 10 {
		if d := p.Delay(attempt, 0, nil); d < 0 || d > time.Second {
			t.Fatalf("Delay(%d) = %s, want within [0, 1s]", attempt, d)
		}
	}
}

func TestDelayProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := Policy{
			BaseDelay: time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "base")),
			MaxDelay:  time.Duration(rapid.Int64Range(0, int64(24*time.Hour)).Draw(t, "max")),
		}
		attempt := rapid.IntRange(-2, 200).Draw(t, "attempt")
		u := rapid.Float64Range(0, 1).Draw(t, "rnd")
		retryAfter := time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "retryAfter"))
		if rapid.Bool().Draw(t, "noRetryAfter") {
			retryAfter = 0
		}

		// The ceiling computed with big numbers, as the specification says.
		ceiling := float64(p.BaseDelay) * math.Pow(2, float64(max(attempt, 0)))
		if p.MaxDelay > 0 {
			ceiling = math.Min(ceiling, float64(p.MaxDelay))
		}
		if p.BaseDelay <= 0 {
			ceiling = 0
		}

		d := p.Delay(attempt, retryAfter, fixed(u))
		if d < 0 {
			t.Fatalf("Delay = %s, negative", d)
		}
		if d < retryAfter {
			t.Fatalf("Delay = %s, shorter than Retry-After %s", d, retryAfter)
		}
		if retryAfter == 0 && float64(d) > ceiling {
			t.Fatalf("Delay = %s, above the ceiling %s", d, time.Duration(ceiling))
		}
		if retryAfter > 0 && float64(d) > math.Max(ceiling, float64(retryAfter)) {
			t.Fatalf("Delay = %s, above both the ceiling %s and Retry-After %s", d, time.Duration(ceiling), retryAfter)
		}
	})
}

func TestNext(t *testing.T) {
	p := Policy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, Deadline: time.Second}
	tests := []struct {
		name       string
		p          Policy
		attempt    int
		elapsed    time.Duration
		retryAfter time.Duration
		wantDelay  time.Duration
		wantOK     bool
	}{
		{"first retry", p, 0, 0, 0, 100 * time.Millisecond, true},
		{"last retry", p, 1, 0, 0, 200 * time.Millisecond, true},
		{"attempts used up", p, 2, 0, 0, 0, false},
		{"far beyond the attempts", p, 50, 0, 0, 0, false},
		{"single attempt policy", Policy{MaxAttempts: 1, BaseDelay: time.Millisecond}, 0, 0, 0, 0, false},
		{"zero MaxAttempts means no retry", Policy{BaseDelay: time.Millisecond}, 0, 0, 0, 0, false},
		{"delay ends exactly at the deadline", p, 0, 900 * time.Millisecond, 0, 100 * time.Millisecond, true},
		{"delay would cross the deadline", p, 1, 900 * time.Millisecond, 0, 0, false},
		{"deadline already passed", p, 0, 2 * time.Second, 0, 0, false},
		{"Retry-After crosses the deadline", p, 0, 0, 5 * time.Second, 0, false},
		{"Retry-After fits", p, 0, 0, 500 * time.Millisecond, 500 * time.Millisecond, true},
		{"huge Retry-After does not overflow", p, 0, 500 * time.Millisecond, math.MaxInt64, 0, false},
		{"no deadline", Policy{MaxAttempts: 2, BaseDelay: time.Second}, 0, 24 * time.Hour, time.Hour, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := tt.p.Next(tt.attempt, tt.elapsed, tt.retryAfter, fixed(1))
			if d != tt.wantDelay || ok != tt.wantOK {
				t.Fatalf("Next = (%s, %v), want (%s, %v)", d, ok, tt.wantDelay, tt.wantOK)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"rate_limited", provider.Errorf(provider.KindRateLimited, "slow down"), true},
		{"unavailable", provider.Errorf(provider.KindUnavailable, "502"), true},
		{"timeout", provider.Errorf(provider.KindTimeout, "read timeout"), true},
		{"unknown", provider.Errorf(provider.KindUnknown, "odd"), true},
		{"plain error is unknown", errors.New("connection reset"), true},
		{"invalid_request", provider.Errorf(provider.KindInvalidRequest, "bad"), false},
		{"auth", provider.Errorf(provider.KindAuth, "401"), false},
		{"unsupported", provider.Errorf(provider.KindUnsupported, "no images"), false},
		{"unconfigured", provider.Errorf(provider.KindUnconfigured, "no key"), false},
		{"canceled", provider.Errorf(provider.KindCanceled, "gone"), false},
		{"context canceled", context.Canceled, false},
		{"context deadline is a timeout", fmt.Errorf("calling vendor: %w", context.DeadlineExceeded), true},
		{"wrapped kind", fmt.Errorf("calling plugin: %w", provider.Errorf(provider.KindUnavailable, "x")), true},
		{"permanent", Permanent(provider.Errorf(provider.KindUnavailable, "x")), false},
		{"wrapped permanent", fmt.Errorf("stream: %w", Permanent(errors.New("cut"))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Fatalf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestPermanentIsTransparent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Fatal("Permanent(nil) != nil")
	}
	inner := &provider.Error{Kind: provider.KindRateLimited, Message: "slow down", RetryAfter: time.Second}
	err := Permanent(inner)
	if err.Error() != inner.Error() {
		t.Fatalf("Error() = %q, want %q", err.Error(), inner.Error())
	}
	var pe *provider.Error
	if !errors.As(err, &pe) || pe != inner {
		t.Fatal("errors.As does not reach the wrapped *provider.Error")
	}
	if k := provider.KindOf(err); k != provider.KindRateLimited {
		t.Fatalf("KindOf = %s, want rate_limited", k)
	}
}

// script is an fn for Do that returns errs in order, then nil, and
// records the attempt numbers it was called with.
type script struct {
	errs  []error
	calls []int
}

func (s *script) fn(_ context.Context, attempt int) error {
	s.calls = append(s.calls, attempt)
	if len(s.calls) <= len(s.errs) {
		return s.errs[len(s.calls)-1]
	}
	return nil
}

func TestDo(t *testing.T) {
	unavailable := provider.Errorf(provider.KindUnavailable, "502 from vendor")
	invalid := provider.Errorf(provider.KindInvalidRequest, "bad model")
	auth := provider.Errorf(provider.KindAuth, "401")
	// A rate-limited failure carrying the vendor's Retry-After.
	limited := &provider.Error{Kind: provider.KindRateLimited, Message: "slow down", Status: 429, RetryAfter: 1500 * time.Millisecond}
	tooLong := &provider.Error{Kind: provider.KindRateLimited, Message: "slow down", Status: 429, RetryAfter: time.Hour}
	plain := errors.New("connection reset by peer")
	perAttemptTimeout := fmt.Errorf("calling plugin: %w", context.DeadlineExceeded)
	stopped := Permanent(unavailable)

	p := Policy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second, Deadline: time.Minute}
	tests := []struct {
		name         string
		p            Policy
		errs         []error
		wantAttempts int
		wantSleeps   []time.Duration
		wantErr      error
	}{
		{"success first time", p, nil, 1, nil, nil},
		{"retried until success", p, []error{unavailable, unavailable}, 3, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, nil},
		{"attempts exhausted", p, []error{unavailable, unavailable, unavailable, unavailable}, 3, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, unavailable},
		{"no retry policy", Policy{}, []error{unavailable}, 1, nil, unavailable},
		{"client error not retried", p, []error{invalid}, 1, nil, invalid},
		{"auth not retried", p, []error{auth}, 1, nil, auth},
		{"Retry-After honoured", p, []error{limited}, 2, []time.Duration{1500 * time.Millisecond}, nil},
		{"Retry-After beyond the deadline stops", p, []error{tooLong}, 1, nil, tooLong},
		{"unclassified errors retried", p, []error{plain}, 2, []time.Duration{50 * time.Millisecond}, nil},
		{"per-attempt timeout retried", p, []error{perAttemptTimeout}, 2, []time.Duration{50 * time.Millisecond}, nil},
		{"permanent stops", p, []error{stopped}, 1, nil, stopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{errs: tt.errs}
			var sleeps []time.Duration
			sleep := func(ctx context.Context, d time.Duration) error {
				sleeps = append(sleeps, d)
				return ctx.Err()
			}
			attempts, err := Do(context.Background(), tt.p, fixed(0.5), sleep, s.fn)
			if attempts != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", attempts, tt.wantAttempts)
			}
			if fmt.Sprint(sleeps) != fmt.Sprint(tt.wantSleeps) {
				t.Errorf("sleeps = %v, want %v", sleeps, tt.wantSleeps)
			}
			for i, a := range s.calls {
				if a != i {
					t.Errorf("call %d got attempt %d", i, a)
				}
			}
			if len(s.calls) != attempts {
				t.Errorf("fn called %d times, Do reported %d", len(s.calls), attempts)
			}
			if err != tt.wantErr {
				t.Errorf("err = %v, want %v unchanged", err, tt.wantErr)
			}
		})
	}
}

func TestDoStopsAtDeadline(t *testing.T) {
	// Real sleeps of at least 20 ms each: after k of them more than 20k ms
	// have passed, so no more than three attempts fit in 50 ms whatever the
	// machine's load, while 100 attempts would be allowed without it.
	p := Policy{MaxAttempts: 100, BaseDelay: 20 * time.Millisecond, MaxDelay: 20 * time.Millisecond, Deadline: 50 * time.Millisecond}
	fail := provider.Errorf(provider.KindUnavailable, "down")
	attempts, err := Do(context.Background(), p, fixed(1), nil, func(context.Context, int) error { return fail })
	if attempts < 1 || attempts > 3 {
		t.Fatalf("attempts = %d, want 1 to 3", attempts)
	}
	if err != fail {
		t.Fatalf("err = %v, want the last failure", err)
	}
}

func TestDoContext(t *testing.T) {
	fail := provider.Errorf(provider.KindUnavailable, "down")
	p := Policy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: time.Second}

	t.Run("canceled before the first attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		attempts, err := Do(ctx, p, fixed(1), nil, func(context.Context, int) error { called = true; return nil })
		if attempts != 0 || called || !errors.Is(err, context.Canceled) {
			t.Fatalf("Do = (%d, %v), called=%v; want (0, canceled) without calling fn", attempts, err, called)
		}
	})

	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sleep := func(ctx context.Context, _ time.Duration) error {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		attempts, err := Do(ctx, p, fixed(1), sleep, func(context.Context, int) error { return fail })
		if attempts != 1 {
			t.Fatalf("attempts = %d, want 1", attempts)
		}
		if !errors.Is(err, context.Canceled) || provider.KindOf(err) != provider.KindCanceled {
			t.Fatalf("err = %v (kind %s), want canceled", err, provider.KindOf(err))
		}
		if !strings.Contains(err.Error(), fail.Error()) {
			t.Fatalf("err = %q, want it to quote the last failure %q", err, fail)
		}
	})

	t.Run("canceled during an attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		slept := false
		sleep := func(context.Context, time.Duration) error { slept = true; return nil }
		attempts, err := Do(ctx, p, fixed(1), sleep, func(context.Context, int) error { cancel(); return fail })
		if attempts != 1 || slept || err != fail {
			t.Fatalf("Do = (%d, %v), slept=%v; want (1, the attempt's error) without waiting", attempts, err, slept)
		}
	})

	t.Run("delay beyond the context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		slept := false
		sleep := func(context.Context, time.Duration) error { slept = true; return nil }
		// rnd=1 gives a one-second delay, longer than the context has left.
		attempts, err := Do(ctx, p, fixed(1), sleep, func(context.Context, int) error { return fail })
		if attempts != 1 || slept || err != fail {
			t.Fatalf("Do = (%d, %v), slept=%v; want (1, the attempt's error) without waiting", attempts, err, slept)
		}
	})

	t.Run("default sleep is interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			time.Sleep(20 * time.Millisecond)
			cancel()
		}()
		start := time.Now()
		// An hour-long delay and no context deadline: only cancellation
		// can end the wait.
		attempts, err := Do(ctx, Policy{MaxAttempts: 2, BaseDelay: time.Hour, MaxDelay: time.Hour},
			fixed(1), nil, func(context.Context, int) error { return fail })
		if attempts != 1 || !errors.Is(err, context.Canceled) {
			t.Fatalf("Do = (%d, %v), want (1, canceled)", attempts, err)
		}
		if waited := time.Since(start); waited > time.Minute {
			t.Fatalf("Do waited %s after cancellation", waited)
		}
	})
}

func TestSleep(t *testing.T) {
	t.Run("waits", func(t *testing.T) {
		start := time.Now()
		if err := Sleep(context.Background(), 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) < 10*time.Millisecond {
			t.Fatal("Sleep returned early")
		}
	})
	t.Run("zero returns at once", func(t *testing.T) {
		if err := Sleep(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want canceled", err)
		}
		if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("zero delay: err = %v, want canceled", err)
		}
	})
}
