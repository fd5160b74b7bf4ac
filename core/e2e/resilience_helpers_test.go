package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// withProviderAttrs adds attributes (HCL lines) to the provider block that
// configFor rendered for upstream url, such as read_timeout, which the
// extra argument of configFor cannot reach. It fails the test if the block
// is not found, so a change of configFor's layout is noticed, not ignored.
func withProviderAttrs(t *testing.T, cfg, url string, attrs ...string) string {
	t.Helper()
	anchor := fmt.Sprintf("base_url = %q", url)
	if strings.Count(cfg, anchor) != 1 {
		t.Fatalf("config has %d provider blocks with %s; configFor's layout changed?\n%s", strings.Count(cfg, anchor), anchor, cfg)
	}
	return strings.Replace(cfg, anchor, anchor+"\n  "+strings.Join(attrs, "\n  "), 1)
}

// breakerHCL is a circuit_breaker block tripping after threshold failures
// in a row, with a fixed cool-down (max_timeout equal to timeout, so the
// cool-down does not grow and tests can plan around it).
func breakerHCL(threshold int, cooldown time.Duration) string {
	return fmt.Sprintf(`
circuit_breaker {
  failure_threshold = %d
  failure_ratio     = 0.5
  window            = "60s"
  timeout           = %q
  max_timeout       = %q
  half_open_probes  = 1
}
`, threshold, cooldown, cooldown)
}

// retryHCL is a retry block with the given attempt budget.
func retryHCL(maxAttempts int) string {
	return fmt.Sprintf(`
retry {
  max_attempts = %d
  base_delay   = "50ms"
  max_delay    = "500ms"
  deadline     = "10s"
}
`, maxAttempts)
}

// openAIError is OpenAI's error body.
type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// errorCode returns the code of an OpenAI-shaped error body, or an error
// saying why b is not one.
func errorCode(b []byte) (string, error) {
	var e openAIError
	if err := json.Unmarshal(b, &e); err != nil {
		return "", fmt.Errorf("error body is not JSON: %w: %q", err, b)
	}
	if e.Error.Code == nil || e.Error.Message == "" || e.Error.Type == "" {
		return "", fmt.Errorf("error body lacks message, type or code: %s", b)
	}
	return *e.Error.Code, nil
}

// wantError checks that a response is an OpenAI-shaped error with the
// given status and code.
func wantError(t *testing.T, resp *http.Response, b []byte, status int, code string) {
	t.Helper()
	got, err := errorCode(b)
	if err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != status || got != code {
		t.Fatalf("got %d %s; want %d with code %s", resp.StatusCode, b, status, code)
	}
}

// breakerState returns the breaker state GET /api/v1/providers reports for
// provider/model.
func (c *core) breakerState(providerName, modelID string) string {
	c.t.Helper()
	resp, b := c.do("GET", "/api/v1/providers", nil)
	if resp.StatusCode != 200 {
		c.t.Fatalf("providers: %d %s", resp.StatusCode, b)
	}
	var out struct {
		Providers []struct {
			Name     string `json:"name"`
			Breakers []struct {
				Model string `json:"model"`
				State string `json:"state"`
			} `json:"breakers"`
		} `json:"providers"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatalf("providers: %v: %s", err, b)
	}
	for _, p := range out.Providers {
		for _, br := range p.Breakers {
			if p.Name == providerName && br.Model == modelID {
				return br.State
			}
		}
	}
	c.t.Fatalf("providers does not list %s/%s: %s", providerName, modelID, b)
	return ""
}

// metric returns the value of the sample of family name whose labels
// include labels, and whether there is one.
func (c *core) metric(name string, labels map[string]string) (float64, bool) {
	c.t.Helper()
	resp, err := http.Get(c.base + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		c.t.Fatalf("parse /metrics: %v", err)
	}
	f, ok := families[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// pluginRow returns the /api/v1/plugins row of the named plugin.
func (c *core) pluginRow(name string) pluginRow {
	c.t.Helper()
	_, rows := c.plugins()
	for _, r := range rows {
		if r.Name == name {
			return r
		}
	}
	c.t.Fatalf("plugin %s not listed: %+v", name, rows)
	return pluginRow{}
}

// post sends a JSON POST with the admin key and extra headers; unlike
// c.try it takes headers, and unlike c.do it never fails the test, so
// goroutines may call it.
func (c *core) post(ctx context.Context, path string, body any, header map[string]string) (*http.Response, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp, out, err
}

// openStream starts a streaming chat and returns the response, whose body
// the caller reads event by event and must close.
func (c *core) openStream(ctx context.Context, model string) (*http.Response, error) {
	body := chatBody(model)
	body["stream"] = true
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/chat/completions", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

// sseEvents reads "data: " payloads from r until it ends or fails.
type sseEvents struct{ sc *bufio.Scanner }

func newSSEEvents(r io.Reader) *sseEvents {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &sseEvents{sc: sc}
}

// next returns the next event's payload, or false at the end.
func (s *sseEvents) next() (string, bool) {
	for s.sc.Scan() {
		if data, ok := strings.CutPrefix(s.sc.Text(), "data: "); ok {
			return data, true
		}
	}
	return "", false
}

// counter is something that only goes up, such as a fake upstream's
// request count.
type counter interface{ Load() int64 }

// waitCount waits until c reaches at least n and returns how long it took.
func waitCount(t *testing.T, what string, c counter, n int64, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, fmt.Sprintf("%s to reach %d", what, n), d, func() bool { return c.Load() >= n })
	return time.Since(start)
}
