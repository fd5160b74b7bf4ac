package gateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/oneflow-ai/oneflow/core/internal/breaker"
	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/plugins"
	"github.com/oneflow-ai/oneflow/core/internal/retry"
	"github.com/oneflow-ai/oneflow/core/internal/routing"
	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// Target is one provider/model a plan may call.
type Target struct {
	Provider string
	Model    string
	Entry    *Entry
}

// Plan is the ordered list of targets for one request.
type Plan struct {
	Targets  []Target
	Strategy string
	Reason   string
}

// Features describe a request for routing.
type Features struct {
	Modality     string
	InputTokens  int64
	OutputTokens int64
	Streaming    bool
	Capabilities []string
	// Hypothetical plans a request that will not be sent (an estimate):
	// providers that are unconfigured or down still count as candidates.
	Hypothetical bool
}

// Estimator prices a request on an entry before the call, in micro-USD.
// It returns false for an unpriced entry.
type Estimator func(e *Entry, f Features) (int64, bool)

// Snapshot is everything the gateway needs from one config generation.
type Snapshot struct {
	Generation      int64
	Catalog         *Catalog
	Plugins         *plugins.Set
	Strategies      map[string]config.Strategy
	DefaultStrategy string
	StrategyTimeout time.Duration
	MaxFallbacks    int
	// Unconfigured maps a provider to what its operator must set.
	Unconfigured map[string]string
	// Stats is shared across generations: live measurements outlive reloads.
	Stats *routing.Stats
	// Breakers is shared across generations too; nil disables breakers.
	Breakers *breaker.Set
	Retry    retry.Policy
	Estimate Estimator
	Log      hclog.Logger
	// OnAttempt and OnFallback observe calls for metrics; both optional.
	OnAttempt  func(t Target, took time.Duration, err error)
	OnFallback func()
	// Rand is the jitter source (0 ≤ x < 1); nil uses math/rand/v2.
	Rand func() float64
	// Tracer makes spans for routing and each attempt; nil uses a no-op.
	Tracer trace.Tracer

	memo *routing.Memo
}

func (s *Snapshot) rand() float64 {
	if s.Rand != nil {
		return s.Rand()
	}
	return rand.Float64()
}

// NewSnapshot fills in the parts of s that are derived.
func NewSnapshot(s Snapshot) *Snapshot {
	s.memo = routing.NewMemo()
	if s.Log == nil {
		s.Log = hclog.NewNullLogger()
	}
	if s.Stats == nil {
		s.Stats = routing.NewStats()
	}
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = 1
	}
	if s.Tracer == nil {
		s.Tracer = noop.NewTracerProvider().Tracer("")
	}
	return &s
}

// Resolve turns a requested model into a plan: a concrete model yields its
// one target (or every provider offering it); a routing alias asks the
// strategy.
func (s *Snapshot) Resolve(ctx context.Context, model string, f Features) (*Plan, error) {
	ctx, span := s.Tracer.Start(ctx, "routing", trace.WithAttributes(attribute.String("oneflow.model", model), attribute.String("oneflow.modality", f.Modality)))
	defer span.End()
	if name, ok := ParseAlias(model); ok {
		p, err := s.route(ctx, name, f)
		if err == nil {
			span.SetAttributes(attribute.String("oneflow.strategy", p.Strategy), attribute.Int("oneflow.targets", len(p.Targets)))
		}
		return p, err
	}
	entries := s.Catalog.Lookup(model)
	if len(entries) == 0 {
		return nil, &UnknownModelError{Model: model}
	}
	p := &Plan{Reason: "model requested by name"}
	var (
		wrongModality *ModalityError
		unconfigured  *UnconfiguredError
		unsupported   *UnsupportedError
	)
	for _, e := range entries {
		if f.Modality != "" && e.Model.Modality != f.Modality {
			if wrongModality == nil {
				wrongModality = &ModalityError{Model: model, Modality: e.Model.Modality, Want: f.Modality}
			}
			continue
		}
		if hint, ok := s.Unconfigured[e.Provider]; ok && !f.Hypothetical {
			if unconfigured == nil {
				unconfigured = &UnconfiguredError{Provider: e.Provider, Model: model, Hint: hint}
			}
			continue
		}
		if missing := s.missingCapability(e.Provider, f); missing != "" {
			if unsupported == nil {
				unsupported = &UnsupportedError{Provider: e.Provider, Model: model, Capability: missing}
			}
			continue
		}
		p.Targets = append(p.Targets, Target{Provider: e.Provider, Model: e.Model.ID, Entry: e})
	}
	if len(p.Targets) == 0 {
		switch {
		case unconfigured != nil:
			return nil, unconfigured
		case unsupported != nil:
			return nil, unsupported
		}
		return nil, wrongModality
	}
	return p, nil
}

// route asks strategy name (the default when empty) to order the
// candidates, from the memo when the candidate state is unchanged.
func (s *Snapshot) route(ctx context.Context, name string, f Features) (*Plan, error) {
	if name == "" {
		name = s.DefaultStrategy
	}
	st, ok := s.Strategies[name]
	if !ok {
		return nil, &UnknownStrategyError{Name: name}
	}
	req, byKey := s.candidates(f, st.Params)
	if len(req.Candidates) == 0 {
		return nil, fmt.Errorf("%w: no configured %s model is available", ErrNoRoute, f.Modality)
	}
	buckets := make([]uint16, len(req.Candidates))
	for i, c := range req.Candidates {
		// From the figures candidates() already read, not a second lookup.
		buckets[i] = routing.Snapshot{EWMAMillis: c.LatencyEWMAMillis, ErrorRate: c.ErrorRate, Has: c.HasLatency}.Bucket()
	}
	class := routing.Class{
		Strategy: name, Modality: f.Modality, TokenBucket: routing.TokenBucket(f.InputTokens + f.OutputTokens),
		Streaming: f.Streaming, Capabilities: strings.Join(f.Capabilities, ","), Hypothetical: f.Hypothetical,
	}
	fp := routing.Fingerprint(req.Candidates, buckets)
	d, ok := s.memo.Get(class, fp)
	if !ok {
		var perRequest bool
		d, perRequest = s.askStrategy(ctx, st.Plugin, req)
		if !perRequest {
			s.memo.Put(class, fp, d)
		}
	}
	p := &Plan{Strategy: name, Reason: d.Reason}
	limit := 1 + s.MaxFallbacks
	for _, ch := range d.Choices {
		e, ok := byKey[ch.Provider+"/"+ch.Model]
		if !ok {
			continue // a strategy may not invent candidates
		}
		p.Targets = append(p.Targets, Target{Provider: ch.Provider, Model: ch.Model, Entry: e})
		if len(p.Targets) == limit {
			break
		}
	}
	if len(p.Targets) == 0 {
		return nil, fmt.Errorf("%w: strategy %q accepted none of %d candidates (%s)", ErrNoRoute, name, len(req.Candidates), d.Reason)
	}
	return p, nil
}

// askStrategy calls the strategy plugin with a short deadline and falls
// back to the built-in order when it is down, slow or wrong.
func (s *Snapshot) askStrategy(ctx context.Context, instance string, req *strategy.Request) (*strategy.Decision, bool) {
	in, ok := s.Plugins.Get(instance)
	if !ok {
		return routing.BuiltinOrder(req), true
	}
	st, release, err := in.Strategy()
	if err != nil {
		s.Log.Warn("strategy plugin down; using built-in order", "plugin", instance, "err", err)
		return routing.BuiltinOrder(req), true
	}
	defer release()
	perRequest := false
	if info := in.StrategyInfo(); info != nil {
		perRequest = info.PerRequest
	}
	ctx, cancel := context.WithTimeout(ctx, s.StrategyTimeout)
	defer cancel()
	d, err := st.Route(ctx, req)
	if err != nil {
		s.Log.Warn("strategy failed; using built-in order", "plugin", instance, "err", err)
		// Do not memoize a fallback answer: the plugin may be back soon.
		return routing.BuiltinOrder(req), true
	}
	return d, perRequest
}

// candidates lists the entries of f's modality whose provider is
// configured and serving, with the class's token estimate.
func (s *Snapshot) candidates(f Features, params map[string]string) (*strategy.Request, map[string]*Entry) {
	in := routing.TokenBucket(f.InputTokens + f.OutputTokens)
	req := &strategy.Request{Features: strategy.Features{
		Modality: f.Modality, InputTokens: f.InputTokens, OutputTokens: f.OutputTokens,
		ContextTokens: routing.BucketCeiling(in), Streaming: f.Streaming,
		Capabilities: f.Capabilities, Params: params,
	}}
	byKey := make(map[string]*Entry)
	for _, e := range s.Catalog.Entries() {
		if e.Model.Modality != f.Modality {
			continue
		}
		if _, unconf := s.Unconfigured[e.Provider]; unconf && !f.Hypothetical {
			continue
		}
		inst, ok := s.Plugins.Get(e.Provider)
		if !f.Hypothetical && (!ok || inst.Status().State != plugins.StateServing) {
			continue
		}
		c := strategy.Candidate{
			Provider: e.Provider, Model: e.Model.ID, Modality: e.Model.Modality,
			InputMicroUSDPerMTok: e.Model.InputMicroUSDPerMTok, OutputMicroUSDPerMTok: e.Model.OutputMicroUSDPerMTok,
			Quality: e.Model.Quality, ContextWindow: e.Model.ContextWindow,
		}
		if s.Estimate != nil {
			est, priced := s.Estimate(e, f)
			if !priced {
				continue
			}
			c.EstimatedMicroUSD = est
		}
		if info := instInfo(inst); info != nil {
			for _, cp := range info.Capabilities {
				c.Capabilities = append(c.Capabilities, string(cp))
			}
		}
		if s.Breakers != nil {
			switch s.Breakers.State(e.Provider, e.Model.ID) {
			case breaker.StateOpen:
				continue // never route to an open breaker
			case breaker.StateHalfOpen:
				c.Breaker = strategy.BreakerHalfOpen
			}
		}
		live := s.Stats.Get(c.Key())
		c.LatencyEWMAMillis, c.LatencyP95Millis, c.HasLatency, c.ErrorRate = live.EWMAMillis, live.P95Millis, live.Has, live.ErrorRate
		req.Candidates = append(req.Candidates, c)
		byKey[c.Key()] = e
	}
	sort.SliceStable(req.Candidates, func(i, j int) bool { return req.Candidates[i].Key() < req.Candidates[j].Key() })
	return req, byKey
}

// fallbackAllowed says whether a failure of one target lets the plan go on
// to the next: transient vendor failures, a plugin that is down, or a
// provider that cannot serve this at all. A client error or a cancelled
// client ends the plan.
func fallbackAllowed(err error) bool {
	if errors.Is(err, plugins.ErrNotServing) {
		return true
	}
	switch k := provider.KindOf(err); k {
	case provider.KindInvalidRequest, provider.KindCanceled:
		return false
	default:
		return true
	}
}

// callFunc performs a call on one target. mayFallBack false forbids
// moving on to the next target whatever the error (a stream already began).
type callFunc func(ctx context.Context, c provider.Client, t Target) (mayFallBack bool, err error)

// call runs fn along the plan. A retryable failure moves to the next
// target at once — another provider is a better retry than waiting — and
// only the last target is retried in place, with the retry policy's
// backoff and Retry-After, and only when retrySame allows it (image and
// audio generation are retried only under an idempotency key, because a
// vendor may have produced and billed a result we never saw). wait
// accumulates the time spent inside provider calls.
func (s *Snapshot) call(ctx context.Context, plan *Plan, retrySame bool, wait *time.Duration, fn callFunc) (Target, []Attempt, error) {
	attempts := make([]Attempt, 0, len(plan.Targets))
	begun := time.Now()
	var last error
	for i, t := range plan.Targets {
		final := i == len(plan.Targets)-1
		for n := 0; ; n++ {
			start := time.Now()
			mayFallBack, err := s.callOne(ctx, t, fn)
			took := time.Since(start)
			*wait += took
			a := Attempt{Provider: t.Provider, Model: t.Model, Outcome: "ok", LatencyMS: took.Milliseconds(), Err: err}
			if err != nil {
				a.Outcome = outcome(err)
			}
			attempts = append(attempts, a)
			if s.OnAttempt != nil {
				s.OnAttempt(t, took, err)
			}
			if err == nil {
				if i > 0 && s.OnFallback != nil {
					s.OnFallback()
				}
				return t, attempts, nil
			}
			if last == nil || !errors.Is(err, breaker.ErrOpen) {
				// A breaker that this request's own failures just opened
				// must not hide the vendor's answer (a 429, a timeout)
				// from the client.
				last = err
			}
			if !mayFallBack || !fallbackAllowed(err) || ctx.Err() != nil {
				// The last target is returned with the error: a stream that
				// failed after relaying chunks is billed to it.
				return t, attempts, &CallError{Attempts: attempts, Last: last}
			}
			// An open breaker answers the same until its cool-down ends;
			// waiting for it inside one request would only add latency.
			if !final || !retrySame || !retry.Retryable(err) || errors.Is(err, breaker.ErrOpen) {
				break
			}
			delay, ok := s.Retry.Next(n, time.Since(begun), retryAfterOf(err), s.rand)
			if !ok {
				break
			}
			s.Log.Debug("retrying", "provider", t.Provider, "model", t.Model, "delay", delay, "err", err)
			if retry.Sleep(ctx, delay) != nil {
				return t, attempts, &CallError{Attempts: attempts, Last: last}
			}
		}
		if !final {
			// Skipping an open breaker is routine while a vendor is down,
			// one line per request; the breaker's own transition is logged.
			level := hclog.Warn
			if errors.Is(attempts[len(attempts)-1].Err, breaker.ErrOpen) {
				level = hclog.Debug
			}
			s.Log.Log(level, "attempt failed; trying next target", "provider", t.Provider, "model", t.Model, "err", attempts[len(attempts)-1].Err)
		}
	}
	return plan.Targets[len(plan.Targets)-1], attempts, &CallError{Attempts: attempts, Last: last}
}

func retryAfterOf(err error) time.Duration {
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// callOne makes one attempt on t through its breaker and plugin.
func (s *Snapshot) callOne(ctx context.Context, t Target, fn callFunc) (bool, error) {
	done := func(breaker.Outcome) {}
	if s.Breakers != nil {
		d, err := s.Breakers.Allow(t.Provider, t.Model)
		if err != nil {
			return true, err
		}
		done = d
	}
	ctx, span := s.Tracer.Start(ctx, "provider attempt", trace.WithAttributes(attribute.String("oneflow.provider", t.Provider), attribute.String("oneflow.model", t.Model)))
	defer span.End()
	// A plugin that is down says nothing about its vendor: counted as a
	// failure, a crash the supervisor repairs in half a second would keep
	// the vendor's breaker open for its whole cool-down.
	in, ok := s.Plugins.Get(t.Provider)
	if !ok {
		done(breaker.Ignore)
		return true, fmt.Errorf("provider %q: %w", t.Provider, plugins.ErrNotServing)
	}
	c, release, err := in.Provider()
	if err != nil {
		done(breaker.Ignore)
		return true, err
	}
	defer release()
	start := time.Now()
	mayFallBack, err := fn(ctx, c, t)
	done(breakerOutcome(ctx, err))
	if err != nil {
		span.SetStatus(codes.Error, provider.KindOf(err).String())
	}
	if ctx.Err() == nil {
		s.Stats.Observe(t.Provider+"/"+t.Model, time.Since(start), err != nil && retry.Retryable(err))
	}
	if provider.KindOf(err) == provider.KindUnavailable {
		in.ReportFailure()
	}
	return mayFallBack, err
}

// breakerOutcome decides what a call says about the vendor's health:
// retryable failures and rejected credentials count against it; client
// mistakes are a healthy answer; a client that went away, or a plugin
// process that died under the call, says nothing.
func breakerOutcome(ctx context.Context, err error) breaker.Outcome {
	if err == nil {
		return breaker.Success
	}
	if ctx.Err() != nil || errors.Is(err, provider.ErrPluginLink) {
		return breaker.Ignore
	}
	switch provider.KindOf(err) {
	case provider.KindCanceled:
		return breaker.Ignore
	case provider.KindInvalidRequest, provider.KindUnsupported:
		return breaker.Success
	}
	return breaker.Failure
}

func outcome(err error) string {
	if errors.Is(err, plugins.ErrNotServing) {
		return "plugin_down"
	}
	if errors.Is(err, breaker.ErrOpen) {
		return "breaker_open"
	}
	return provider.KindOf(err).String()
}

// ChatResult is a completed chat call.
type ChatResult struct {
	Target   Target
	Response *provider.ChatResponse
	Attempts []Attempt
	// ProviderWait is the time spent waiting on provider plugins.
	ProviderWait time.Duration
}

// Chat runs a non-streaming chat along the plan.
func (s *Snapshot) Chat(ctx context.Context, plan *Plan, req *provider.ChatRequest) (*ChatResult, error) {
	res := &ChatResult{}
	t, attempts, err := s.call(ctx, plan, true, &res.ProviderWait, func(ctx context.Context, c provider.Client, t Target) (bool, error) {
		r := *req
		r.Model = t.Model
		resp, err := c.Chat(ctx, &r)
		res.Response = resp
		return true, err
	})
	res.Target, res.Attempts = t, attempts
	return res, err
}

// StreamResult describes a finished stream.
type StreamResult struct {
	Target       Target
	Attempts     []Attempt
	ProviderWait time.Duration
	// Sent is true once any chunk reached the client.
	Sent bool
}

// ChatStream runs a streaming chat along the plan. A target that fails
// before its first chunk is relayed is replaced by the next; once a chunk
// has been relayed the stream is never switched to another model, because
// the client would see two answers spliced together.
func (s *Snapshot) ChatStream(ctx context.Context, plan *Plan, req *provider.ChatRequest, send func(Target, *provider.ChatChunk) error) (*StreamResult, error) {
	res := &StreamResult{}
	t, attempts, err := s.call(ctx, plan, true, &res.ProviderWait, func(ctx context.Context, c provider.Client, t Target) (bool, error) {
		r := *req
		r.Model = t.Model
		err := c.ChatStream(ctx, &r, func(ch *provider.ChatChunk) error {
			res.Sent = true
			return send(t, ch)
		})
		return !res.Sent, err
	})
	res.Target, res.Attempts = t, attempts
	return res, err
}

// Generic runs any single-shot call (embeddings, images, speech) along the
// plan; fn performs the call on one target. retrySame allows retrying the
// last target in place (see call).
func (s *Snapshot) Generic(ctx context.Context, plan *Plan, retrySame bool, fn func(ctx context.Context, c provider.Client, t Target) error) (Target, []Attempt, time.Duration, error) {
	var wait time.Duration
	t, attempts, err := s.call(ctx, plan, retrySame, &wait, func(ctx context.Context, c provider.Client, t Target) (bool, error) {
		return true, fn(ctx, c, t)
	})
	return t, attempts, wait, err
}

// missingCapability names an ability f needs that prov's plugin does
// not declare, or "" when it has them all or has not described itself yet
// (a plugin that is down fails the call on its own).
func (s *Snapshot) missingCapability(prov string, f Features) string {
	if len(f.Capabilities) == 0 || f.Hypothetical {
		return ""
	}
	inst, _ := s.Plugins.Get(prov)
	info := instInfo(inst)
	if info == nil {
		return ""
	}
	for _, want := range f.Capabilities {
		if !slices.ContainsFunc(info.Capabilities, func(c provider.Capability) bool { return string(c) == want }) {
			return want
		}
	}
	return ""
}

func instInfo(in *plugins.Instance) *provider.Info {
	if in == nil {
		return nil
	}
	return in.Info()
}
