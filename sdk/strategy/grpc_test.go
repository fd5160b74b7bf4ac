package strategy_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// fake records the request it was given and answers with decision, err or
// a panic.
type fake struct {
	info     *strategy.Info
	mu       sync.Mutex
	got      *strategy.Request
	decision *strategy.Decision
	err      error
	panics   bool
}

func (f *fake) Describe(context.Context) (*strategy.Info, error) {
	if f.info == nil {
		return nil, errors.New("no info")
	}
	return f.info, nil
}

func (f *fake) Route(_ context.Context, req *strategy.Request) (*strategy.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panics {
		panic("strategy bug")
	}
	f.got = req
	return f.decision, f.err
}

// fullRequest sets every field, at every depth, to a non-zero value, so a
// field added without conversion code fails the round trip.
func fullRequest() *strategy.Request {
	return &strategy.Request{
		Features: strategy.Features{
			Modality: "text", InputTokens: 1200, OutputTokens: 300, ContextTokens: 1500, Streaming: true,
			Capabilities: []string{"chat", "chat_stream"},
			Params:       map[string]string{"cost_weight": "0.5", "prefer": "anthropic"},
		},
		Candidates: []strategy.Candidate{
			{
				Provider: "openai", Model: "gpt-4o-mini", Modality: "text",
				InputMicroUSDPerMTok: 150_000, OutputMicroUSDPerMTok: 600_000, UnitMicroUSD: 1,
				EstimatedMicroUSD: 360, Quality: 72.5, ContextWindow: 128_000, Capabilities: []string{"chat", "chat_stream"},
				LatencyEWMAMillis: 420.5, LatencyP95Millis: 900.25, HasLatency: true, ErrorRate: 0.02, Breaker: strategy.BreakerHalfOpen,
			},
			{
				Provider: "anthropic", Model: "claude-haiku", Modality: "text",
				InputMicroUSDPerMTok: 800_000, OutputMicroUSDPerMTok: 4_000_000, UnitMicroUSD: 2,
				EstimatedMicroUSD: 2160, Quality: 80, ContextWindow: 200_000, Capabilities: []string{"chat"},
				LatencyEWMAMillis: 610, LatencyP95Millis: 1400, HasLatency: true, ErrorRate: 0.5, Breaker: strategy.BreakerOpen,
			},
		},
	}
}

func TestRouteRoundTrip(t *testing.T) {
	req := fullRequest()
	requireFull(t, "Request", reflect.ValueOf(req))
	want := &strategy.Decision{
		Choices: []strategy.Choice{{Provider: "anthropic", Model: "claude-haiku", Score: 0.75}, {Provider: "openai", Model: "gpt-4o-mini", Score: -1.5}},
		Reason:  "prefer=anthropic",
	}
	requireFull(t, "Decision", reflect.ValueOf(want))

	f := &fake{info: &strategy.Info{Name: "prefer", Version: "1.0.0", PerRequest: true}, decision: want}
	c := plugintest.Strategy(t, f)

	got, err := c.Route(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decision:\n got %#v\nwant %#v", got, want)
	}
	f.mu.Lock()
	seen := f.got
	f.mu.Unlock()
	if !reflect.DeepEqual(seen, req) {
		t.Errorf("request seen by plugin:\n got %#v\nwant %#v", seen, req)
	}

	info, err := c.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info, f.info) {
		t.Errorf("info = %+v, want %+v", info, f.info)
	}
}

func TestRouteErrors(t *testing.T) {
	tests := []struct {
		name    string
		f       *fake
		wantMsg string
	}{
		{"error returned", &fake{err: errors.New("no candidate fits")}, "no candidate fits"},
		{"panic", &fake{panics: true}, "plugin panicked"},
		{"nil decision", &fake{}, "plugin panicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := plugintest.Strategy(t, tt.f)
			_, err := c.Route(context.Background(), fullRequest())
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Route error = %v, want one containing %q", err, tt.wantMsg)
			}
			// The server keeps serving after any of these.
			tt.f.mu.Lock()
			tt.f.panics, tt.f.err, tt.f.decision = false, nil, &strategy.Decision{Reason: "ok"}
			tt.f.mu.Unlock()
			d, err := c.Route(context.Background(), &strategy.Request{})
			if err != nil || d.Reason != "ok" {
				t.Fatalf("next Route = %+v, %v", d, err)
			}
		})
	}
	t.Run("describe error", func(t *testing.T) {
		_, err := plugintest.Strategy(t, &fake{}).Describe(context.Background())
		if err == nil || !strings.Contains(err.Error(), "no info") {
			t.Fatalf("Describe error = %v", err)
		}
	})
}

func TestCandidateKey(t *testing.T) {
	c := strategy.Candidate{Provider: "openai", Model: "gpt-4o"}
	if got := c.Key(); got != "openai/gpt-4o" {
		t.Errorf("Key() = %q", got)
	}
}

func requireFull(t *testing.T, path string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			t.Errorf("fixture %s is nil", path)
			return
		}
		requireFull(t, path, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			requireFull(t, path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			t.Errorf("fixture %s is empty", path)
		}
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				requireFull(t, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		}
	default:
		if v.IsZero() {
			t.Errorf("fixture %s is the zero value", path)
		}
	}
}
