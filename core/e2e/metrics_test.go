package e2e

import (
	"bytes"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// TestMetricsScrape scrapes /metrics after traffic and parses it with
// Prometheus's own text parser.
func TestMetricsScrape(t *testing.T) {
	_, ok := newUpstream(t, fakeupstream.Faults{})
	_, bad := newUpstream(t, fakeupstream.Faults{ErrorRate: 1})
	c := startCore(t, configFor([]string{ok, bad}, ""))
	c.waitReady()
	for i := 0; i < 3; i++ {
		if resp, b := c.do("POST", "/api/v1/request", map[string]any{"prompt": "hi", "strategy": "quality"}); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
	resp, err := http.Get(c.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, buf.String())
	}
	want := map[string]dto.MetricType{
		"http_requests_total":                       dto.MetricType_COUNTER,
		"http_request_duration_seconds":             dto.MetricType_HISTOGRAM,
		"circuit_breaker_state":                     dto.MetricType_GAUGE,
		"provider_errors_total":                     dto.MetricType_COUNTER,
		"oneflow_provider_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"oneflow_tokens_total":                      dto.MetricType_COUNTER,
		"oneflow_credits_charged_total":             dto.MetricType_COUNTER,
		"oneflow_plugin_up":                         dto.MetricType_GAUGE,
		"oneflow_fallbacks_total":                   dto.MetricType_COUNTER,
	}
	for name, typ := range want {
		f, ok := families[name]
		if !ok {
			t.Errorf("metric %s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("metric %s has type %v, want %v", name, f.GetType(), typ)
		}
	}
	if f := families["oneflow_fallbacks_total"]; f != nil && f.Metric[0].GetCounter().GetValue() != 3 {
		t.Errorf("fallbacks = %v, want 3", f.Metric[0].GetCounter().GetValue())
	}
	// Route labels are templates, never raw paths.
	for _, m := range families["http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && l.GetValue() != "/api/v1/request" && l.GetValue() != "/ready" && l.GetValue() != "/metrics" && l.GetValue() != "/api/v1/plugins" {
				t.Errorf("unexpected route label %q", l.GetValue())
			}
		}
	}
	// Errors are counted by provider and kind.
	found := false
	for _, m := range families["provider_errors_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["provider"] == "up1" && labels["kind"] == "unavailable" && m.GetCounter().GetValue() == 3 {
			found = true
		}
	}
	if !found {
		t.Errorf("provider_errors_total{provider=up1,kind=unavailable} != 3")
	}
}
