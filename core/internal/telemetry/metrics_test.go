package telemetry

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// scrape serves reg through Handler over a real HTTP round trip and parses
// the text exposition, as Prometheus would.
func scrape(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape status %d: %s", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

func newTestMetrics(t *testing.T) (*prometheus.Registry, *Metrics) {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	return reg, m
}

// labelNames returns the sorted label names of a family's first sample.
func labelNames(f *dto.MetricFamily) []string {
	if len(f.GetMetric()) == 0 {
		return nil
	}
	var n []string
	for _, l := range f.GetMetric()[0].GetLabel() {
		n = append(n, l.GetName())
	}
	sort.Strings(n)
	return n
}

// sample finds the sample of f whose labels equal want.
func sample(f *dto.MetricFamily, want map[string]string) *dto.Metric {
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return m
		}
	}
	return nil
}

func TestMetricsExposition(t *testing.T) {
	reg, m := newTestMetrics(t)
	stats := sql.DBStats{MaxOpenConnections: 20, OpenConnections: 5, InUse: 3, Idle: 2, WaitCount: 7, WaitDuration: 1500 * time.Millisecond}
	if err := RegisterDBPool(reg, "primary", func() sql.DBStats { return stats }); err != nil {
		t.Fatal(err)
	}

	m.ObserveHTTP("POST", "/v1/chat/completions", 200, 120*time.Millisecond)
	m.SetBreakerState("openai", "gpt-4o", BreakerOpen)
	m.ProviderError("openai", provider.KindRateLimited)
	m.ObserveProviderCall("openai", "gpt-4o", 80*time.Millisecond)
	m.AddTokens("openai", "gpt-4o", 12, 30)
	m.AddPromptCacheTokens("openai", "gpt-4o", 8, 0)
	m.AddPromptCacheTokens("openai", "gpt-4o", 2, 3)
	m.AddPromptCacheTokens("openai", "gpt-4o", 0, 0)
	m.AddCreditsCharged("openai", "gpt-4o", 1_500_000)
	m.ObserveEstimate("openai", "gpt-4o", 100, 110)
	m.UnpricedRequest("local", "llama3.1:8b")
	m.SetPluginUp("openai", true)
	m.PluginRestarted("openai")
	m.RateLimitRejected("per_minute")
	m.RateLimitBackendError()
	m.Fallback()
	m.UsageDropped(3)
	m.Reloaded(true, 4)
	m.Reloaded(false, 5)
	m.SetProjectBalances([]ProjectBalance{{Project: "default", MicroCredits: 2_500_000}})

	fams := scrape(t, reg)

	tests := []struct {
		name   string
		typ    dto.MetricType
		labels []string
	}{
		{"http_requests_total", dto.MetricType_COUNTER, []string{"method", "route", "status"}},
		{"http_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"method", "route"}},
		{"circuit_breaker_state", dto.MetricType_GAUGE, []string{"model", "provider"}},
		{"provider_errors_total", dto.MetricType_COUNTER, []string{"kind", "provider"}},
		{"oneflow_provider_request_duration_seconds", dto.MetricType_HISTOGRAM, []string{"model", "provider"}},
		{"oneflow_tokens_total", dto.MetricType_COUNTER, []string{"direction", "model", "provider"}},
		{"oneflow_prompt_cache_tokens_total", dto.MetricType_COUNTER, []string{"kind", "model", "provider"}},
		{"oneflow_credits_charged_total", dto.MetricType_COUNTER, []string{"model", "provider"}},
		{"oneflow_plugin_up", dto.MetricType_GAUGE, []string{"plugin"}},
		{"oneflow_plugin_restarts_total", dto.MetricType_COUNTER, []string{"plugin"}},
		{"oneflow_ratelimit_rejections_total", dto.MetricType_COUNTER, []string{"limit"}},
		{"oneflow_fallbacks_total", dto.MetricType_COUNTER, nil},
		{"oneflow_estimate_error_ratio", dto.MetricType_HISTOGRAM, []string{"model", "provider"}},
		{"oneflow_unpriced_requests_total", dto.MetricType_COUNTER, []string{"model", "provider"}},
		{"oneflow_usage_dropped_total", dto.MetricType_COUNTER, nil},
		{"oneflow_ratelimit_backend_errors_total", dto.MetricType_COUNTER, nil},
		{"oneflow_reloads_total", dto.MetricType_COUNTER, []string{"result"}},
		{"oneflow_config_generation", dto.MetricType_GAUGE, nil},
		{"oneflow_project_balance_credits", dto.MetricType_GAUGE, []string{"project"}},
		{"db_pool_open_connections", dto.MetricType_GAUGE, []string{"db"}},
		{"db_pool_in_use", dto.MetricType_GAUGE, []string{"db"}},
		{"db_pool_idle", dto.MetricType_GAUGE, []string{"db"}},
		{"db_pool_wait_count_total", dto.MetricType_COUNTER, []string{"db"}},
		{"db_pool_wait_duration_seconds_total", dto.MetricType_COUNTER, []string{"db"}},
		{"db_pool_max_open", dto.MetricType_GAUGE, []string{"db"}},
		{"go_goroutines", dto.MetricType_GAUGE, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := fams[tt.name]
			if !ok {
				t.Fatalf("metric %s missing from the exposition", tt.name)
			}
			if f.GetType() != tt.typ {
				t.Errorf("type = %v, want %v", f.GetType(), tt.typ)
			}
			if got := labelNames(f); !slices.Equal(got, tt.labels) {
				t.Errorf("labels = %v, want %v", got, tt.labels)
			}
		})
	}

	values := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"http_requests_total", map[string]string{"method": "POST", "route": "/v1/chat/completions", "status": "200"}, 1},
		{"circuit_breaker_state", map[string]string{"provider": "openai", "model": "gpt-4o"}, 2},
		{"provider_errors_total", map[string]string{"provider": "openai", "kind": "rate_limited"}, 1},
		{"oneflow_tokens_total", map[string]string{"provider": "openai", "model": "gpt-4o", "direction": "input"}, 12},
		{"oneflow_tokens_total", map[string]string{"provider": "openai", "model": "gpt-4o", "direction": "output"}, 30},
		{"oneflow_prompt_cache_tokens_total", map[string]string{"provider": "openai", "model": "gpt-4o", "kind": "read"}, 10},
		{"oneflow_prompt_cache_tokens_total", map[string]string{"provider": "openai", "model": "gpt-4o", "kind": "write"}, 3},
		{"oneflow_credits_charged_total", map[string]string{"provider": "openai", "model": "gpt-4o"}, 1.5},
		{"oneflow_reloads_total", map[string]string{"result": "success"}, 1},
		{"oneflow_reloads_total", map[string]string{"result": "failure"}, 1},
		{"oneflow_config_generation", map[string]string{}, 4},
		{"oneflow_usage_dropped_total", map[string]string{}, 3},
		{"oneflow_project_balance_credits", map[string]string{"project": "default"}, 2.5},
		{"db_pool_in_use", map[string]string{"db": "primary"}, 3},
		{"db_pool_wait_count_total", map[string]string{"db": "primary"}, 7},
		{"db_pool_wait_duration_seconds_total", map[string]string{"db": "primary"}, 1.5},
		{"db_pool_max_open", map[string]string{"db": "primary"}, 20},
	}
	for _, v := range values {
		t.Run(fmt.Sprintf("value/%s%v", v.name, v.labels), func(t *testing.T) {
			s := sample(fams[v.name], v.labels)
			if s == nil {
				t.Fatalf("no sample with labels %v", v.labels)
			}
			var got float64
			switch {
			case s.Counter != nil:
				got = s.GetCounter().GetValue()
			case s.Gauge != nil:
				got = s.GetGauge().GetValue()
			}
			if got != v.want {
				t.Errorf("value = %v, want %v", got, v.want)
			}
		})
	}

	t.Run("histogram buckets span 0.5ms to 60s", func(t *testing.T) {
		h := fams["http_request_duration_seconds"].GetMetric()[0].GetHistogram()
		b := h.GetBucket()
		// The text format lists the implicit +Inf bucket last.
		if b[0].GetUpperBound() != 0.0005 || b[len(b)-2].GetUpperBound() != 60 {
			t.Errorf("buckets run %v..%v", b[0].GetUpperBound(), b[len(b)-2].GetUpperBound())
		}
		if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.12 {
			t.Errorf("count %d sum %v, want 1 and 0.12", h.GetSampleCount(), h.GetSampleSum())
		}
	})
	t.Run("estimate ratio observed as actual/estimated", func(t *testing.T) {
		h := fams["oneflow_estimate_error_ratio"].GetMetric()[0].GetHistogram()
		if h.GetSampleSum() != 1.1 {
			t.Errorf("sum = %v, want 1.1", h.GetSampleSum())
		}
	})
}

func TestNewMetricsTwiceOnOneRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	_, err := NewMetrics(reg)
	if err == nil || !strings.Contains(err.Error(), "registering gateway metrics") {
		t.Fatalf("err = %v, want a registration error", err)
	}
}

func TestRegisterDBPoolErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats := func() sql.DBStats { return sql.DBStats{} }
	tests := []struct {
		name  string
		reg   prometheus.Registerer
		stats func() sql.DBStats
	}{
		{"nil registerer", nil, stats},
		{"nil stats", reg, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := RegisterDBPool(tt.reg, "x", tt.stats); err == nil {
				t.Fatal("want an error")
			}
		})
	}
	t.Run("two pools with different names", func(t *testing.T) {
		if err := RegisterDBPool(reg, "primary", stats); err != nil {
			t.Fatal(err)
		}
		if err := RegisterDBPool(reg, "replica", stats); err != nil {
			t.Fatal(err)
		}
		if err := RegisterDBPool(reg, "primary", stats); err == nil {
			t.Fatal("registering the same pool name twice: want an error")
		}
	})
}

func TestObserveHTTPBoundsLabels(t *testing.T) {
	tests := []struct {
		name                  string
		method, route         string
		status                int
		wantMethod, wantRoute string
		wantStatus            string
	}{
		{"standard", "GET", "/v1/models", 200, "GET", "/v1/models", "200"},
		{"made-up method", "BREW", "/v1/models", 200, "OTHER", "/v1/models", "200"},
		{"lowercase method", "get", "/v1/models", 200, "OTHER", "/v1/models", "200"},
		{"no route matched", "GET", "", 404, "GET", "unmatched", "404"},
		{"impossible status", "GET", "/health", 1000, "GET", "/health", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			m.ObserveHTTP(tt.method, tt.route, tt.status, time.Millisecond)
			f := scrape(t, reg)["http_requests_total"]
			want := map[string]string{"method": tt.wantMethod, "route": tt.wantRoute, "status": tt.wantStatus}
			if s := sample(f, want); s == nil || s.GetCounter().GetValue() != 1 {
				t.Fatalf("no sample %v = 1 in %v", want, f)
			}
		})
	}
}

func TestProjectBalancesKeepLowest(t *testing.T) {
	reg, m := newTestMetrics(t)
	var b []ProjectBalance
	for i := range 80 {
		b = append(b, ProjectBalance{Project: fmt.Sprintf("p%02d", i), MicroCredits: int64(i) * 1_000_000})
	}
	// A duplicate keeps its lowest balance.
	b = append(b, ProjectBalance{Project: "p70", MicroCredits: -5_000_000})
	m.SetProjectBalances(b)
	f := scrape(t, reg)["oneflow_project_balance_credits"]
	if got := len(f.GetMetric()); got != MaxProjectBalanceSeries {
		t.Fatalf("%d series, want %d", got, MaxProjectBalanceSeries)
	}
	if s := sample(f, map[string]string{"project": "p70"}); s == nil || s.GetGauge().GetValue() != -5 {
		t.Errorf("p70 = %v, want -5 (its lowest balance)", s)
	}
	if s := sample(f, map[string]string{"project": "p79"}); s != nil {
		t.Errorf("p79 has the highest balance and should not be exported")
	}
	m.SetProjectBalances(nil)
	if f, ok := scrape(t, reg)["oneflow_project_balance_credits"]; ok {
		t.Errorf("after clearing: %v", f)
	}
}

func TestForgetProviderAndPlugin(t *testing.T) {
	reg, m := newTestMetrics(t)
	m.SetBreakerState("openai", "gpt-4o", BreakerHalfOpen)
	m.AddTokens("openai", "gpt-4o", 1, 1)
	m.AddTokens("anthropic", "claude-3-haiku", 1, 1)
	m.AddPromptCacheTokens("openai", "gpt-4o", 1, 1)
	m.SetPluginUp("openai", false)
	m.ForgetProvider("openai")
	m.ForgetPlugin("openai")
	fams := scrape(t, reg)
	if _, ok := fams["circuit_breaker_state"]; ok {
		t.Error("breaker state of a forgotten provider is still exported")
	}
	if _, ok := fams["oneflow_plugin_up"]; ok {
		t.Error("plugin_up of a forgotten plugin is still exported")
	}
	if got := len(fams["oneflow_tokens_total"].GetMetric()); got != 2 {
		t.Errorf("%d token series, want anthropic's two", got)
	}
	for _, s := range fams["oneflow_prompt_cache_tokens_total"].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "provider" && l.GetValue() == "openai" {
				t.Errorf("prompt-cache series of a forgotten provider is still exported: %v", s)
			}
		}
	}
	// Observing again after forgetting must export again, not count into
	// a cached child that is no longer registered.
	m.AddTokens("openai", "gpt-4o", 5, 0)
	s := sample(scrape(t, reg)["oneflow_tokens_total"], map[string]string{"provider": "openai", "model": "gpt-4o", "direction": "input"})
	if s == nil || s.GetCounter().GetValue() != 5 {
		t.Errorf("re-observed tokens = %v, want 5", s)
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *Metrics
	m.ObserveHTTP("GET", "/", 200, time.Millisecond)
	m.SetBreakerState("p", "m", BreakerOpen)
	m.ProviderError("p", provider.KindAuth)
	m.ObserveProviderCall("p", "m", time.Millisecond)
	m.AddTokens("p", "m", 1, 1)
	m.AddPromptCacheTokens("p", "m", 1, 1)
	m.AddCreditsCharged("p", "m", 1)
	m.ObserveEstimate("p", "m", 1, 1)
	m.UnpricedRequest("p", "m")
	m.SetPluginUp("p", true)
	m.PluginRestarted("p")
	m.ForgetPlugin("p")
	m.ForgetProvider("p")
	m.RateLimitRejected("x")
	m.RateLimitBackendError()
	m.Fallback()
	m.UsageDropped(1)
	m.Reloaded(true, 1)
	m.SetConfigGeneration(1)
	m.SetProjectBalances(nil)
}

func TestObserveHTTPConcurrent(t *testing.T) {
	reg, m := newTestMetrics(t)
	const workers, each = 8, 500
	routes := []string{"/v1/chat/completions", "/v1/models", "/health"}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m.ObserveHTTP("GET", routes[(w+i)%len(routes)], 200, time.Millisecond)
			}
		}()
	}
	wg.Wait()
	var total float64
	for _, s := range scrape(t, reg)["http_requests_total"].GetMetric() {
		total += s.GetCounter().GetValue()
	}
	if total != workers*each {
		t.Fatalf("counted %v requests, want %d", total, workers*each)
	}
}

func TestCacheCapStillCounts(t *testing.T) {
	reg, m := newTestMetrics(t)
	// More distinct routes than the cache holds: the overflow is counted
	// uncached rather than dropped.
	n := maxCachedSeries + 10
	for i := range n {
		m.ObserveHTTP("GET", fmt.Sprintf("/r%d", i), 200, time.Millisecond)
	}
	m.ObserveHTTP("GET", fmt.Sprintf("/r%d", n-1), 200, time.Millisecond)
	if p := m.httpCache.m.Load(); p == nil || len(*p) != maxCachedSeries {
		t.Fatalf("cache size not capped at %d", maxCachedSeries)
	}
	s := sample(scrape(t, reg)["http_requests_total"], map[string]string{"method": "GET", "route": fmt.Sprintf("/r%d", n-1), "status": "200"})
	if s == nil || s.GetCounter().GetValue() != 2 {
		t.Fatalf("uncached series = %v, want 2", s)
	}
}

func TestObserveHTTPDoesNotAllocate(t *testing.T) {
	_, m := newTestMetrics(t)
	m.ObserveHTTP("POST", "/v1/chat/completions", 200, time.Millisecond)
	allocs := testing.AllocsPerRun(1000, func() {
		m.ObserveHTTP("POST", "/v1/chat/completions", 200, time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("ObserveHTTP allocates %v times per call with a cached route", allocs)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		m.AddTokens("openai", "gpt-4o", 10, 20)
		m.ObserveProviderCall("openai", "gpt-4o", time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("per-model observations allocate %v times per call", allocs)
	}
}

func BenchmarkObserveHTTP(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	m.ObserveHTTP("POST", "/v1/chat/completions", 200, time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveHTTP("POST", "/v1/chat/completions", 200, 3*time.Millisecond)
	}
}

func BenchmarkObserveHTTPParallel(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveHTTP("POST", "/v1/chat/completions", 200, 3*time.Millisecond)
		}
	})
}

// BenchmarkWithLabelValues is the uncached baseline ObserveHTTP avoids.
func BenchmarkWithLabelValues(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.httpRequests.WithLabelValues("POST", "/v1/chat/completions", "200").Inc()
		m.httpDuration.WithLabelValues("POST", "/v1/chat/completions").Observe(0.003)
	}
}

func BenchmarkAfterCompletion(b *testing.B) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveProviderCall("openai", "gpt-4o", 80*time.Millisecond)
		m.AddTokens("openai", "gpt-4o", 120, 300)
		m.AddCreditsCharged("openai", "gpt-4o", 450)
		m.ObserveEstimate("openai", "gpt-4o", 500, 450)
	}
}
