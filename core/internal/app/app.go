package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/oneflow-ai/oneflow/core/internal/apidocs"
	"github.com/oneflow-ai/oneflow/core/internal/breaker"
	"github.com/oneflow-ai/oneflow/core/internal/config"
	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/core/internal/plugins"
	"github.com/oneflow-ai/oneflow/core/internal/pricing"
	"github.com/oneflow-ai/oneflow/core/internal/routing"
	"github.com/oneflow-ai/oneflow/core/internal/server"
	"github.com/oneflow-ai/oneflow/core/internal/store"
	"github.com/oneflow-ai/oneflow/core/internal/telemetry"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// App is a running OneFlow core.
type App struct {
	cfgPath    string
	listen     string // ONEFLOW_LISTEN, overrides the config
	log        hclog.Logger
	stderr     io.Writer
	pluginOpts plugins.Options
	stats      *routing.Stats
	counter    *pricing.Counter

	genSeq   atomic.Int64
	cur      atomic.Pointer[generation]
	reloadMu sync.Mutex
	// retiring counts generations a reload replaced that are still
	// draining; hurry is closed at shutdown to cut their drains short.
	retiring sync.WaitGroup
	hurry    chan struct{}
	adminKey string
	accounts server.Accounts

	// redactor scrubs the config's secrets from every log line.
	redactor *telemetry.Redactor
	shared   *shared
	quotas   *quotas
	metrics  *telemetry.Metrics
	tracer   trace.Tracer

	breakersMu      sync.Mutex
	breakers        *breaker.Set
	breakerSettings breaker.Settings
}

// defaultMaxTokens is the output a credit hold assumes for a request that
// sets no max_tokens; the vendor-reported usage is what is finally billed.
const defaultMaxTokens = 4096

// acquire returns the current generation with a reference held; release
// must be called when the request ends. The re-check after taking the
// reference closes the race with a concurrent swap: a request never holds
// a generation that retire has already stopped waiting for.
func (a *App) acquire() (*generation, func()) {
	for {
		g := a.cur.Load()
		g.refs.Add(1)
		if a.cur.Load() == g {
			return g, func() { g.refs.Add(-1) }
		}
		g.refs.Add(-1)
	}
}

// Reload re-reads the config file and, if it is valid and its plugins
// start, swaps it in and retires the old generation in the background. On
// any error the running generation keeps serving. Reloads run one at a
// time, and each returns as soon as the new generation serves: waiting
// for the old one's requests here held every later reload, and the
// signal loop's SIGTERM, for as long as its longest stream.
func (a *App) Reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	cfg, err := a.loadConfig()
	if err != nil {
		a.log.Error("reload refused: config invalid; keeping the running config", "err", err)
		a.reloadFailed()
		return err
	}
	g, err := a.build(ctx, cfg, true)
	if err != nil {
		a.log.Error("reload refused: plugins failed to start; keeping the running config", "err", err)
		a.reloadFailed()
		return err
	}
	old := a.cur.Swap(g)
	a.log.Info("config reloaded", "generation", g.id)
	if a.metrics != nil {
		a.metrics.Reloaded(true, uint64(g.id))
	}
	if old != nil {
		drain := reloadDrain(cfg.Server)
		a.retiring.Add(1)
		go func() {
			defer a.retiring.Done()
			old.retire(drain, a.hurry, a.log)
		}()
	}
	return nil
}

// reloadDrain is how long requests on a replaced generation may run on.
// A request cannot outlive the server's write timeout, so waiting that
// long cuts no stream short; shutdown_timeout is the floor (and the
// bound when writes are unlimited).
func reloadDrain(s config.Server) time.Duration {
	return max(s.ShutdownTimeout, s.WriteTimeout)
}

// finishRetiring cuts the drains of replaced generations short and waits
// for their plugins to stop. Shutdown calls it after the HTTP server has
// drained, so their requests have had as long as everyone else's.
func (a *App) finishRetiring() {
	close(a.hurry)
	a.retiring.Wait()
}

// loadConfig reads and validates the config, logging diagnostics with
// their file:line:col.
func (a *App) loadConfig() (*config.Config, error) {
	cfg, diags := config.Load(a.cfgPath)
	if len(diags) > 0 {
		var buf bytes.Buffer
		_ = config.WriteDiagnostics(&buf, diags, sourcesOf(cfg, a.cfgPath))
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			if len(line) > 0 {
				a.log.Warn("config", "diagnostic", string(line))
			}
		}
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("config %s has errors: %s", a.cfgPath, diags.Error())
	}
	if a.listen != "" {
		cfg.Server.Listen = a.listen
	}
	if a.redactor != nil {
		a.redactor.SetSecrets(secretsOf(cfg))
	}
	return cfg, nil
}

func sourcesOf(cfg *config.Config, path string) map[string][]byte {
	if cfg != nil && cfg.Sources != nil {
		return cfg.Sources
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return map[string][]byte{path: b}
}

// ---------------------------------------------------------------- server.Backend

type backend struct{ a *App }

func (b backend) Acquire() (*gateway.Snapshot, func()) {
	g, release := b.a.acquire()
	return g.snap, release
}

func (b backend) Plugins() []plugins.Status { return b.a.cur.Load().plugins.Statuses() }

func (b backend) Generation() int64 { return b.a.cur.Load().id }

func (b backend) Ready() (bool, map[string]string) {
	g := b.a.cur.Load()
	detail := map[string]string{"config": "ok (generation " + fmt.Sprint(g.id) + ")"}
	ready := true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.a.accounts.Ready(ctx); err != nil {
		ready = false
		detail["store"] = "unavailable"
	} else {
		detail["store"] = "ok"
	}
	for _, st := range g.plugins.Statuses() {
		state := string(st.State)
		switch st.State {
		case plugins.StateServing:
		case plugins.StateUnconfigured:
			// An unconfigured provider is the operator's choice (no key),
			// not a failure: routing skips it and readiness does not wait.
			state += ": " + st.Error
		default:
			ready = false
			if st.Error != "" {
				state += ": " + st.Error
			}
		}
		detail["plugin:"+st.Name] = state
	}
	return ready, detail
}

func (b backend) Reload(ctx context.Context) error { return b.a.Reload(ctx) }

func (b backend) Quote(t gateway.Target, u server.Usage) (server.Quote, error) {
	return quote(b.a.cur.Load().prices.Cost, t, u)
}

func (b backend) QuoteMax(t gateway.Target, u server.Usage) (server.Quote, error) {
	return quote(b.a.cur.Load().prices.MaxCost, t, u)
}

func quote(cost func(provider, model string, u pricing.Usage) (pricing.Cost, error), t gateway.Target, u server.Usage) (server.Quote, error) {
	c, err := cost(t.Provider, t.Model, pricing.Usage{
		InputTokens: u.InputTokens, CachedInputTokens: u.CachedInputTokens, CacheWriteTokens: u.CacheWriteTokens,
		OutputTokens: u.OutputTokens, Characters: u.Characters,
		Images: u.Images, ImageSize: u.ImageSize, ImageQuality: u.ImageQuality,
	})
	if err != nil {
		return server.Quote{}, err
	}
	return server.Quote{MicroCredits: c.MicroCredits, Unpriced: c.Unpriced, PriceVersion: c.PriceVersion}, nil
}

func (b backend) Reserve(ctx context.Context, p *server.Principal, requestID string, maxMicroCredits int64) (server.Hold, error) {
	h, err := b.a.accounts.Reserve(ctx, p, requestID, maxMicroCredits)
	if err != nil {
		return nil, err
	}
	return &meteredHold{a: b.a, p: p, requestID: requestID, hold: h}, nil
}

func (b backend) CheckQuota(ctx context.Context, p *server.Principal, provider string, maxMicroCredits int64) error {
	g := b.a.cur.Load()
	if len(g.quotas) == 0 || p == nil || p.Bootstrap || b.a.quotas == nil {
		return nil
	}
	return b.a.quotas.check(ctx, g.quotas, p.Project, provider, maxMicroCredits)
}

func (b backend) FormatUSD(mc int64) string {
	return pricing.FormatUSD(mc, b.a.cur.Load().cfg.Pricing.CreditsPerUSD)
}

func (b backend) Tokens() server.TokenCounter { return tokenCounter{b.a} }

func (b backend) Governance() *server.Governance { return b.a.cur.Load().governance }

// tokenCounter counts with the model's tokenizer when the config names
// one, else with the documented approximation (see package pricing).
type tokenCounter struct{ a *App }

func (tc tokenCounter) encoding(model string) string {
	if es := tc.a.cur.Load().snap.Catalog.Lookup(model); len(es) > 0 {
		return es[0].Model.Tokenizer
	}
	return ""
}

func (tc tokenCounter) Messages(model string, msgs []provider.Message) int64 {
	return tc.a.counter.CountMessages(tc.encoding(model), msgs)
}

func (tc tokenCounter) Text(model, text string) int64 {
	return tc.a.counter.CountText(tc.encoding(model), text)
}

// ---------------------------------------------------------------- admin key

// ensureAdminKey returns the bootstrap admin key: ONEFLOW_ADMIN_KEY (via
// the config) if set, else the one saved in ./data/admin.key, else a new
// key that is saved there (mode 0600) and printed once to stderr.
func (a *App) ensureAdminKey(ctx context.Context, cfg *config.Config, st *store.Store) error {
	if cfg.Auth.AdminKey != "" {
		a.adminKey = cfg.Auth.AdminKey
		return nil
	}
	path := filepath.Join("data", "admin.key")
	if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
		a.adminKey = string(bytes.TrimSpace(b))
		return nil
	}
	// Only a store nobody has set up gets a generated key: once there are
	// users or projects, admins use their own keys (or ONEFLOW_ADMIN_KEY).
	users, err := st.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("check whether the store is empty: %w", err)
	}
	projects, err := st.ListProjects(ctx)
	if err != nil {
		return fmt.Errorf("check whether the store is empty: %w", err)
	}
	if len(users) > 0 || len(projects) > 1 {
		a.log.Info("no bootstrap admin key (ONEFLOW_ADMIN_KEY unset, store in use); use an admin API key")
		return nil
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("generate admin key: %w", err)
	}
	key := "of-admin-" + hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	a.adminKey = key
	fmt.Fprintf(a.stderr, "\nOneFlow created an admin API key (shown once; also saved to %s):\n\n    %s\n\n", path, key)
	return nil
}

// ---------------------------------------------------------------- serve

func (a *App) serve(ctx context.Context, hup <-chan struct{}) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := a.ensureAdminKey(ctx, cfg, st); err != nil {
		return err
	}
	if addr := os.Getenv("ONEFLOW_PPROF"); addr != "" {
		if err := a.servePprof(ctx, addr); err != nil {
			return fmt.Errorf("pprof listener on %s: %w", addr, err)
		}
	}
	if a.shared, err = newShared(cfg); err != nil {
		return err
	}
	defer a.shared.close()
	docs, err := apidocs.New()
	if err != nil {
		return fmt.Errorf("load the embedded API document: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.metrics, err = telemetry.NewMetrics(reg); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	tp, shutdownTracing, err := telemetry.SetupTracing(ctx, telemetry.TracingConfig{
		Enabled: cfg.Telemetry.Tracing, Endpoint: cfg.Telemetry.OTLPEndpoint, ServiceName: "oneflow", ServiceVersion: Version,
	})
	if err != nil {
		return fmt.Errorf("set up tracing: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(sctx)
	}()
	a.tracer = tp.Tracer("github.com/oneflow-ai/oneflow/core")
	if cfg.Telemetry.Tracing {
		a.pluginOpts.DialOptions = []grpc.DialOption{telemetry.GRPCDialOption(tp)}
		a.pluginOpts.Env = map[string]string{"ONEFLOW_TRACING": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": cfg.Telemetry.OTLPEndpoint}
	}
	if err := telemetry.RegisterDBPool(reg, "oneflow", st.PoolStats); err != nil {
		return fmt.Errorf("register database pool metrics: %w", err)
	}
	svc, err := a.newAccounts(ctx, cfg, st)
	if err != nil {
		return err
	}
	a.quotas = newQuotas(st, time.Now)
	a.accounts = svc
	accountsCtx, stopAccounts := context.WithCancel(context.Background())
	accountsDone := make(chan struct{})
	go func() { _ = svc.Run(accountsCtx); close(accountsDone) }()
	defer func() {
		// After the HTTP server has drained: stop the loops, then flush
		// the usage queue so a graceful stop loses no record.
		stopAccounts()
		<-accountsDone
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := svc.Close(cctx); err != nil {
			a.log.Error("flushing usage records failed", "err", err)
		}
	}()
	a.pluginOpts.OnState = func(name string, st plugins.State) { a.metrics.SetPluginUp(name, st == plugins.StateServing) }
	a.pluginOpts.OnRestart = a.metrics.PluginRestarted

	g, err := a.build(ctx, cfg, false)
	if err != nil {
		return err
	}
	a.cur.Store(g)
	defer func() {
		a.finishRetiring()
		a.cur.Load().retire(cfg.Server.ShutdownTimeout, a.hurry, a.log)
	}()
	a.metrics.SetConfigGeneration(uint64(g.id))

	h := server.New(server.Options{
		Docs:        docs,
		Metrics:     telemetry.Handler(a.gathererWithBreakers(reg)),
		ObserveHTTP: a.metrics.ObserveHTTP,
		Tracer:      a.tracer,
		Backend:     backend{a}, Log: a.log, BodyLimit: cfg.Server.BodyLimit,
		FormatCredits: pricing.FormatCredits, DefaultMaxTokens: defaultMaxTokens,
		Accounts: a.accounts, ParseCredits: pricing.ParseCredits,
		CORSOrigins: cfg.Server.CORSOrigins,
	})
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       120 * time.Second,
	}
	a.log.Info("oneflow serving", "addr", ln.Addr().String(), "generation", g.id)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	for {
		select {
		case <-hup:
			// Errors are logged by Reload; the old generation keeps serving.
			_ = a.Reload(context.Background())
		case err := <-serveErr:
			return fmt.Errorf("http server: %w", err)
		case <-ctx.Done():
			a.log.Info("shutting down: draining requests")
			sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
			err := srv.Shutdown(sctx)
			cancel()
			if err != nil {
				a.log.Warn("shutdown deadline passed with requests in flight", "err", err)
			}
			return nil
		}
	}
}

func (a *App) reloadFailed() {
	if a.metrics != nil {
		a.metrics.Reloaded(false, uint64(a.cur.Load().id))
	}
}

// gathererWithBreakers refreshes the breaker gauges at scrape time: an
// open breaker turns half-open only when someone looks (see breaker).
func (a *App) gathererWithBreakers(reg *prometheus.Registry) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		a.breakersMu.Lock()
		b := a.breakers
		a.breakersMu.Unlock()
		if b != nil {
			for _, st := range b.Snapshot() {
				a.metrics.SetBreakerState(st.Provider, st.Model, telemetry.BreakerState(st.State))
			}
		}
		return reg.Gather()
	})
}

// secretsOf lists the values in cfg that must never reach a log line.
func secretsOf(cfg *config.Config) []string {
	out := []string{cfg.Auth.AdminKey, cfg.Auth.JWTSecret}
	for _, p := range cfg.Providers {
		out = append(out, p.APIKey)
	}
	return out
}
