package app

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oneflow-ai/oneflow/core/internal/breaker"
	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/core/internal/plugins"
	"github.com/oneflow-ai/oneflow/core/internal/pricing"
	"github.com/oneflow-ai/oneflow/core/internal/retry"
	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// generation is everything built from one config. It is immutable once
// built; a reload builds a new one.
type generation struct {
	id      int64
	cfg     *config.Config
	plugins *plugins.Set
	prices  *pricing.Table
	snap    *gateway.Snapshot
	// quotas are the per-provider caps by provider name.
	quotas map[string]config.Quota
	// governance is this generation's limits on the process's backends.
	governance *server.Governance

	// refs counts requests holding this generation; retire waits for zero
	// before stopping its plugins, so no request loses its plugin mid-way.
	refs    atomic.Int64
	retired atomic.Bool
}

// specs derives the plugin instances a config needs: one process per
// enabled provider (each has its own key and base URL) and one per
// strategy plugin. Providers whose key variable is unset are not launched.
func specs(cfg *config.Config) ([]plugins.Spec, map[string]string) {
	var out []plugins.Spec
	unconfigured := make(map[string]string)
	for _, p := range cfg.Providers {
		if !p.Enabled {
			continue
		}
		pl, ok := cfg.Plugin(p.Plugin)
		if !ok {
			continue // validation guarantees this does not happen
		}
		out = append(out, plugins.Spec{
			Name: p.Name, Plugin: pl.Name, Kind: plugins.KindProvider,
			Path: pl.Path, SHA256: pl.SHA256, Args: pl.Args, Env: pl.Env,
			Provider: provider.Config{
				APIKey: p.APIKey, BaseURL: p.BaseURL,
				ConnectTimeout: p.ConnectTimeout, ReadTimeout: p.ReadTimeout, Options: p.Options,
			},
		})
		// A key read from an unset variable means "not configured yet"; a
		// block with no api_key at all is a provider that needs none (a
		// local server, a custom plugin).
		if p.APIKey == "" && p.APIKeyEnv != "" {
			unconfigured[p.Name] = "set the " + p.APIKeyEnv + " environment variable and reload"
		}
	}
	for _, pl := range cfg.Plugins {
		if pl.Kind != config.KindStrategy {
			continue
		}
		out = append(out, plugins.Spec{
			Name: pl.Name, Plugin: pl.Name, Kind: plugins.KindStrategy,
			Path: pl.Path, SHA256: pl.SHA256, Args: pl.Args, Env: pl.Env,
		})
	}
	return out, unconfigured
}

func priceTable(cfg *config.Config) *pricing.Table {
	t := pricing.NewTable(cfg.Pricing.CreditsPerUSD, cfg.Pricing.AllowUnpriced)
	for _, p := range cfg.Providers {
		for _, m := range p.Models {
			t.Set(p.Name, m.ID, pricing.Price{
				InputPerMTok: m.InputMicroUSDPerMTok, OutputPerMTok: m.OutputMicroUSDPerMTok,
				CachedInputPerMTok: m.CachedInputMicroUSDPerMTok, HasCachedInputPrice: m.HasCachedInputPrice,
				CacheWritePerMTok: m.CacheWriteMicroUSDPerMTok, HasCacheWritePrice: m.HasCacheWritePrice,
				Image: m.ImageMicroUSD, PerKChar: m.PerKCharMicroUSD,
				Version: m.PriceVersion, Priced: m.Priced,
			})
		}
	}
	return t
}

// build launches a generation's plugins and assembles its gateway view.
// strict makes any plugin launch failure fatal (reloads); otherwise failed
// plugins keep retrying in the background (first start).
func (a *App) build(ctx context.Context, cfg *config.Config, strict bool) (*generation, error) {
	id := a.genSeq.Add(1)
	log := a.log.With("generation", id)
	sp, unconf := specs(cfg)
	set, err := plugins.Launch(ctx, sp, unconf, a.pluginOpts, log, strict)
	if err != nil && strict {
		return nil, fmt.Errorf("start plugins for generation %d: %w", id, err)
	}
	if err != nil {
		log.Error("some plugins failed to start; they will be retried", "err", err)
	}
	g := &generation{id: id, cfg: cfg, plugins: set, prices: priceTable(cfg), governance: a.governance(cfg),
		quotas: make(map[string]config.Quota, len(cfg.Quotas))}
	for _, q := range cfg.Quotas {
		g.quotas[q.Provider] = q
	}
	strategies := make(map[string]config.Strategy, len(cfg.Strategies))
	for _, s := range cfg.Strategies {
		strategies[s.Name] = s
	}
	g.snap = gateway.NewSnapshot(gateway.Snapshot{
		Generation: id, Catalog: gateway.NewCatalog(cfg), Plugins: set,
		Strategies: strategies, DefaultStrategy: cfg.Routing.DefaultStrategy,
		StrategyTimeout: cfg.Routing.StrategyTimeout, MaxFallbacks: cfg.Routing.MaxFallbacks,
		Unconfigured: unconf, Stats: a.stats, Estimate: g.estimate, Log: log,
		Breakers: a.breakersFor(cfg.Breaker),
		Tracer:   a.tracer,
		OnAttempt: func(t gateway.Target, took time.Duration, err error) {
			// A target skipped for an open breaker or a plugin that is down
			// made no provider call: counting it as a provider error would
			// fire the provider alert on every skipped request.
			if a.metrics == nil || errors.Is(err, breaker.ErrOpen) || errors.Is(err, plugins.ErrNotServing) {
				return
			}
			a.metrics.ObserveProviderCall(t.Provider, t.Model, took)
			if err != nil {
				a.metrics.ProviderError(t.Provider, provider.KindOf(err))
			}
		},
		OnFallback: func() {
			if a.metrics != nil {
				a.metrics.Fallback()
			}
		},
		Retry: retry.Policy{
			MaxAttempts: cfg.Retry.MaxAttempts, BaseDelay: cfg.Retry.BaseDelay,
			MaxDelay: cfg.Retry.MaxDelay, Deadline: cfg.Retry.Deadline,
		},
	})
	return g, nil
}

// estimate prices a request class on an entry for routing, in micro-USD.
// An entry that cannot be priced is not a candidate (ok false), unless
// unpriced models are allowed, when it competes at zero cost.
func (g *generation) estimate(e *gateway.Entry, f gateway.Features) (microUSD int64, ok bool) {
	u := pricing.Usage{InputTokens: f.InputTokens, OutputTokens: f.OutputTokens}
	switch e.Model.Modality {
	case "image":
		u = pricing.Usage{Images: 1, ImageSize: "1024x1024"}
	case "audio":
		u = pricing.Usage{Characters: f.InputTokens * 4}
	}
	c, err := g.prices.Cost(e.Provider, e.Model.ID, u)
	if err != nil {
		return 0, false
	}
	return c.MicroUSD, true
}

// retireGrace is what the plugins of a generation retired in a hurry get
// to finish the calls still inside them before they are killed.
const retireGrace = 2 * time.Second

// retire waits until no request holds g (at most drain, or until hurry is
// closed), then drains and kills its plugins.
func (g *generation) retire(drain time.Duration, hurry <-chan struct{}, log hclog.Logger) {
	g.retired.Store(true)
	deadline := time.Now().Add(drain)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	hurried := false
	for !hurried && g.refs.Load() > 0 && time.Now().Before(deadline) {
		select {
		case <-hurry:
			hurried = true
		case <-tick.C:
		}
	}
	remaining := max(time.Until(deadline), 0)
	if hurried {
		remaining = min(remaining, retireGrace)
	}
	g.plugins.Stop(remaining)
	log.Info("generation retired", "generation", g.id)
}

// breakersFor returns the breaker set for settings, keeping the current one
// (and the state it learned) across reloads that do not change them.
func (a *App) breakersFor(c config.Breaker) *breaker.Set {
	s := breaker.Settings{
		FailureThreshold: c.FailureThreshold, FailureRatio: c.FailureRatio, Window: c.Window,
		Timeout: c.Timeout, MaxTimeout: c.MaxTimeout, HalfOpenProbes: c.HalfOpenProbes,
	}
	a.breakersMu.Lock()
	defer a.breakersMu.Unlock()
	if a.breakers == nil || a.breakerSettings != s {
		a.breakers = breaker.New(s)
		a.breakerSettings = s
	}
	return a.breakers
}
