package telemetry

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// LatencyBuckets are the histogram buckets, in seconds, for HTTP and
// provider latency. They span 0.5 ms (a cached or rejected request) to 60 s
// (a long streamed completion) roughly logarithmically, so that
// histogram_quantile stays within one bucket's width of the truth at p50,
// p95 and p99 for both ends.
var latencyBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
	0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60,
}

// estimateRatioBuckets bucket actual/estimated cost. 1 means the reservation
// was exact; below 1 the gateway reserved too much (harmless, released),
// above 1 it reserved too little (the overrun is charged at settlement).
var estimateRatioBuckets = []float64{
	0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2, 4, 10,
}

// BreakerState is the value of the circuit_breaker_state gauge. The order
// matches sony/gobreaker's State constants, so a gobreaker.State converts
// with BreakerState(s).
type BreakerState int

// Breaker states as exported; alerts compare against 2 (open).
const (
	BreakerClosed   BreakerState = 0
	BreakerHalfOpen BreakerState = 1
	BreakerOpen     BreakerState = 2
)

// Token directions for [Metrics.AddTokens].
const (
	directionInput  = "input"
	directionOutput = "output"
)

// Prompt-cache operations for [Metrics.AddPromptCacheTokens].
const (
	cacheRead  = "read"
	cacheWrite = "write"
)

// Reload results for the oneflow_reloads_total{result} label.
const (
	reloadSuccess = "success"
	reloadFailure = "failure"
)

// routeUnmatched is the route label for requests no route matched (404s).
// Using the raw path instead would let any client mint series.
const routeUnmatched = "unmatched"

// maxCachedSeries caps each label-value cache. Past it observations still
// count (through WithLabelValues) but are not cached, so a caller passing
// unbounded values cannot grow the cache without limit.
const maxCachedSeries = 1024

// Metrics holds every gateway series. Its methods are safe for concurrent
// use and cheap enough for the request path. A nil *Metrics is valid and
// records nothing, so components can take one optionally.
type Metrics struct {
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec

	breakerState     *prometheus.GaugeVec
	providerErrors   *prometheus.CounterVec
	providerDuration *prometheus.HistogramVec
	tokens           *prometheus.CounterVec
	cacheTokens      *prometheus.CounterVec
	credits          *prometheus.CounterVec
	estimateRatio    *prometheus.HistogramVec
	unpriced         *prometheus.CounterVec

	pluginUp       *prometheus.GaugeVec
	pluginRestarts *prometheus.CounterVec

	ratelimitRejections *prometheus.CounterVec
	ratelimitBackendErr prometheus.Counter
	fallbacks           prometheus.Counter
	usageDropped        prometheus.Counter
	reloads             *prometheus.CounterVec
	reloadOK            prometheus.Counter
	reloadFailed        prometheus.Counter
	configGeneration    prometheus.Gauge

	balances *balanceCollector

	httpCache  cowCache[httpKey, httpSeries]
	modelCache cowCache[modelKey, *modelSeries]
}

type httpKey struct {
	method, route string
	status        int
}

type httpSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

type modelKey struct{ provider, model string }

// modelSeries pre-resolves every per-model child so that the per-request
// observations after a completion cost one map lookup, not six label hashes.
type modelSeries struct {
	duration      prometheus.Observer
	inputTokens   prometheus.Counter
	outputTokens  prometheus.Counter
	cacheRead     prometheus.Counter
	cacheWrite    prometheus.Counter
	credits       prometheus.Counter
	estimateRatio prometheus.Observer
	unpriced      prometheus.Counter
}

// NewMetrics creates the gateway's metrics and registers them on reg. A nil
// reg creates working but unregistered metrics (useful in tests). It fails
// when a metric of the same name is already registered on reg, for example
// when NewMetrics is called twice with one registry.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by method, route template and status code.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request latency from first byte in to last byte out, by method and route template.",
			Buckets: latencyBuckets,
		}, []string{"method", "route"}),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "circuit_breaker_state",
			Help: "Circuit breaker state per provider and model: 0 closed, 1 half-open, 2 open.",
		}, []string{"provider", "model"}),
		providerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "provider_errors_total",
			Help: "Failed provider calls, by provider and error kind.",
		}, []string{"provider", "kind"}),
		providerDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oneflow_provider_request_duration_seconds",
			Help:    "Latency of calls to provider plugins (including the vendor round trip), by provider and model.",
			Buckets: latencyBuckets,
		}, []string{"provider", "model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oneflow_tokens_total",
			Help: "Tokens reported by vendors, by provider, model and direction (input or output).",
		}, []string{"provider", "model", "direction"}),
		// Not a direction of oneflow_tokens_total: these tokens are part
		// of its input, and a sum over directions must not count them
		// twice.
		cacheTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oneflow_prompt_cache_tokens_total",
			Help: "Input tokens the vendor read from (kind=read) or wrote to (kind=write) its prompt cache, by provider and model; already counted in oneflow_tokens_total{direction=\"input\"}.",
		}, []string{"provider", "model", "kind"}),
		credits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oneflow_credits_charged_total",
			Help: "Credits charged, as a float for dashboards; the ledger holds the exact amounts.",
		}, []string{"provider", "model"}),
		estimateRatio: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oneflow_estimate_error_ratio",
			Help:    "Actual cost divided by the pre-request estimate; 1 is a perfect reservation.",
			Buckets: estimateRatioBuckets,
		}, []string{"provider", "model"}),
		unpriced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oneflow_unpriced_requests_total",
			Help: "Requests served by a model with no configured price (allow_unpriced), by provider and model.",
		}, []string{"provider", "model"}),
		pluginUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oneflow_plugin_up",
			Help: "1 when the plugin process is running and healthy, 0 otherwise.",
		}, []string{"plugin"}),
		pluginRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oneflow_plugin_restarts_total",
			Help: "Plugin process restarts by the supervisor.",
		}, []string{"plugin"}),
		ratelimitRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oneflow_ratelimit_rejections_total",
			Help: "Requests rejected by a rate limit or quota, by limit name.",
		}, []string{"limit"}),
		ratelimitBackendErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oneflow_ratelimit_backend_errors_total",
			Help: "Rate limit checks that failed to reach their backend (Redis); see rate_limit.fail_open.",
		}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oneflow_fallbacks_total",
			Help: "Requests moved to a fallback candidate after the previous one failed.",
		}),
		usageDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oneflow_usage_dropped_total",
			Help: "Usage records dropped because the asynchronous writer's queue was full or the store failed.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oneflow_reloads_total",
			Help: "Configuration reloads, by result (success or failure).",
		}, []string{"result"}),
		configGeneration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "oneflow_config_generation",
			Help: "Generation number of the configuration currently serving.",
		}),
		balances: newBalanceCollector(),
	}
	// Both results exist from the start so that increase() and absent-based
	// alerts work before the first reload.
	m.reloadOK = m.reloads.WithLabelValues(reloadSuccess)
	m.reloadFailed = m.reloads.WithLabelValues(reloadFailure)

	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.httpRequests, m.httpDuration, m.breakerState, m.providerErrors,
		m.providerDuration, m.tokens, m.cacheTokens, m.credits, m.estimateRatio, m.unpriced,
		m.pluginUp, m.pluginRestarts, m.ratelimitRejections, m.ratelimitBackendErr,
		m.fallbacks, m.usageDropped, m.reloads, m.configGeneration, m.balances,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering gateway metrics: %w", err)
		}
	}
	return m, nil
}

// ObserveHTTP records one served HTTP request. route must be the router's
// route template (gin's c.FullPath()); an empty route, as for a 404, is
// recorded as "unmatched". Methods outside the standard set are recorded as
// "OTHER", so a client cannot mint series with made-up methods.
func (m *Metrics) ObserveHTTP(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	k := httpKey{method: normalizeMethod(method), route: route, status: status}
	if k.route == "" {
		k.route = routeUnmatched
	}
	s, ok := m.httpCache.load(k)
	if !ok {
		s = httpSeries{
			count:    m.httpRequests.WithLabelValues(k.method, k.route, statusLabel(k.status)),
			duration: m.httpDuration.WithLabelValues(k.method, k.route),
		}
		m.httpCache.store(k, s)
	}
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// SetBreakerState publishes a breaker's state.
func (m *Metrics) SetBreakerState(providerName, model string, s BreakerState) {
	if m == nil {
		return
	}
	m.breakerState.WithLabelValues(providerName, model).Set(float64(s))
}

// ProviderError counts one failed provider call by error kind.
func (m *Metrics) ProviderError(providerName string, kind provider.Kind) {
	if m == nil {
		return
	}
	m.providerErrors.WithLabelValues(providerName, kind.String()).Inc()
}

// ObserveProviderCall records the latency of one provider call, successful
// or not.
func (m *Metrics) ObserveProviderCall(providerName, model string, d time.Duration) {
	if m == nil {
		return
	}
	m.model(providerName, model).duration.Observe(d.Seconds())
}

// AddTokens counts the input and output tokens a vendor reported for one
// request. Zero counts are skipped.
func (m *Metrics) AddTokens(providerName, model string, input, output int64) {
	if m == nil {
		return
	}
	s := m.model(providerName, model)
	if input > 0 {
		s.inputTokens.Add(float64(input))
	}
	if output > 0 {
		s.outputTokens.Add(float64(output))
	}
}

// AddPromptCacheTokens counts the input tokens a vendor reported reading
// from and writing to its prompt cache for one request. Zero counts are
// skipped.
func (m *Metrics) AddPromptCacheTokens(providerName, model string, read, write int64) {
	if m == nil || (read <= 0 && write <= 0) {
		return
	}
	s := m.model(providerName, model)
	if read > 0 {
		s.cacheRead.Add(float64(read))
	}
	if write > 0 {
		s.cacheWrite.Add(float64(write))
	}
}

// AddCreditsCharged counts credits charged for one request, given in the
// ledger's exact unit (micro-credits). The metric is a float64 number of
// credits: fine for rates and dashboards, never for accounting.
func (m *Metrics) AddCreditsCharged(providerName, model string, microCredits int64) {
	if m == nil || microCredits <= 0 {
		return
	}
	m.model(providerName, model).credits.Add(float64(microCredits) / 1e6)
}

// ObserveEstimate records how far the pre-request estimate was from the
// settled cost, as actual/estimated. Requests whose estimate was zero (free
// or unpriced models) are skipped: the ratio is undefined.
func (m *Metrics) ObserveEstimate(providerName, model string, estimatedMicroCredits, actualMicroCredits int64) {
	if m == nil || estimatedMicroCredits <= 0 || actualMicroCredits < 0 {
		return
	}
	m.model(providerName, model).estimateRatio.Observe(float64(actualMicroCredits) / float64(estimatedMicroCredits))
}

// UnpricedRequest counts a request served by a model without a price.
func (m *Metrics) UnpricedRequest(providerName, model string) {
	if m == nil {
		return
	}
	m.model(providerName, model).unpriced.Inc()
}

// SetPluginUp publishes whether a plugin process is up.
func (m *Metrics) SetPluginUp(plugin string, up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.pluginUp.WithLabelValues(plugin).Set(v)
}

// PluginRestarted counts one supervisor restart of a plugin.
func (m *Metrics) PluginRestarted(plugin string) {
	if m == nil {
		return
	}
	m.pluginRestarts.WithLabelValues(plugin).Inc()
}

// ForgetPlugin deletes a plugin's series, for a plugin removed by a reload;
// otherwise its last oneflow_plugin_up value would linger and alert.
func (m *Metrics) ForgetPlugin(plugin string) {
	if m == nil {
		return
	}
	m.pluginUp.DeleteLabelValues(plugin)
	m.pluginRestarts.DeleteLabelValues(plugin)
}

// ForgetProvider deletes every series of a provider removed by a reload.
func (m *Metrics) ForgetProvider(providerName string) {
	if m == nil {
		return
	}
	l := prometheus.Labels{"provider": providerName}
	m.breakerState.DeletePartialMatch(l)
	m.providerErrors.DeletePartialMatch(l)
	m.providerDuration.DeletePartialMatch(l)
	m.tokens.DeletePartialMatch(l)
	m.cacheTokens.DeletePartialMatch(l)
	m.credits.DeletePartialMatch(l)
	m.estimateRatio.DeletePartialMatch(l)
	m.unpriced.DeletePartialMatch(l)
	// Cached children of deleted series would keep counting into series
	// no longer exported, so the whole cache is dropped; it refills lazily.
	m.modelCache.reset()
}

// RateLimitRejected counts a request refused by the named limit (for
// example "per_minute", "per_hour", "tokens_per_minute", "quota").
func (m *Metrics) RateLimitRejected(limit string) {
	if m == nil {
		return
	}
	m.ratelimitRejections.WithLabelValues(limit).Inc()
}

// RateLimitBackendError counts a limit check that could not reach Redis.
func (m *Metrics) RateLimitBackendError() {
	if m == nil {
		return
	}
	m.ratelimitBackendErr.Inc()
}

// Fallback counts a move to the next candidate.
func (m *Metrics) Fallback() {
	if m == nil {
		return
	}
	m.fallbacks.Inc()
}

// UsageDropped counts n usage records that could not be written.
func (m *Metrics) UsageDropped(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.usageDropped.Add(float64(n))
}

// Reloaded counts one configuration reload attempt and, on success,
// publishes the new generation.
func (m *Metrics) Reloaded(ok bool, generation uint64) {
	if m == nil {
		return
	}
	if !ok {
		m.reloadFailed.Inc()
		return
	}
	m.reloadOK.Inc()
	m.configGeneration.Set(float64(generation))
}

// SetConfigGeneration publishes the generation serving, for the first
// generation at startup (later ones come through [Metrics.Reloaded]).
func (m *Metrics) SetConfigGeneration(generation uint64) {
	if m == nil {
		return
	}
	m.configGeneration.Set(float64(generation))
}

// SetProjectBalances replaces the exported project balances. Only the
// [MaxProjectBalanceSeries] lowest balances are kept: they are the ones an
// exhaustion alert needs, and the cap keeps the series count bounded however
// many projects exist. Pass the default project alone to export just that.
func (m *Metrics) SetProjectBalances(b []ProjectBalance) {
	if m == nil {
		return
	}
	m.balances.set(b)
}

func (m *Metrics) model(providerName, model string) *modelSeries {
	k := modelKey{provider: providerName, model: model}
	if s, ok := m.modelCache.load(k); ok {
		return s
	}
	s := &modelSeries{
		duration:      m.providerDuration.WithLabelValues(providerName, model),
		inputTokens:   m.tokens.WithLabelValues(providerName, model, directionInput),
		outputTokens:  m.tokens.WithLabelValues(providerName, model, directionOutput),
		cacheRead:     m.cacheTokens.WithLabelValues(providerName, model, cacheRead),
		cacheWrite:    m.cacheTokens.WithLabelValues(providerName, model, cacheWrite),
		credits:       m.credits.WithLabelValues(providerName, model),
		estimateRatio: m.estimateRatio.WithLabelValues(providerName, model),
		unpriced:      m.unpriced.WithLabelValues(providerName, model),
	}
	m.modelCache.store(k, s)
	return s
}

// normalizeMethod folds the HTTP method onto the standard set. The switch
// returns constants, so it never allocates.
func normalizeMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodHead, http.MethodOptions,
		http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// statusLabel renders a status code, folding impossible values into "0" so
// they cannot mint series. Only called on a cache miss.
func statusLabel(status int) string {
	if status < 100 || status > 599 {
		return "0"
	}
	return strconv.Itoa(status)
}

// NewRegistry returns a fresh registry with the Go runtime and process
// collectors, for the composition root to pass to [NewMetrics] and
// [Handler]. The process-wide default registry is deliberately not used.
func NewRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("registering the Go runtime collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("registering the process collector: %w", err)
	}
	return reg, nil
}

// Handler serves the metrics of g in the Prometheus text format. A collector
// that fails is reported in the scrape's error log and skipped rather than
// failing the whole scrape, so one broken pool stat does not blind every
// dashboard.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		// A scrape is cheap, but several stuck scrapers must not pile up.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}
