package e2e

import (
	"context"
	"encoding/hex"
	"net"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// collector is an OTLP/gRPC trace receiver on loopback that both the core
// and its plugins export to.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
	svc   map[string]string // span id → service.name
}

func (c *collector) Export(_ context.Context, r *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range r.GetResourceSpans() {
		svc := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				svc = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, s)
				c.svc[hex.EncodeToString(s.GetSpanId())] = svc
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *collector) byName(name string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range c.spans {
		if s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// TestTraceCrossesIntoPlugin: with tracing on, a chat request yields the
// HTTP span, routing and attempt children, the gRPC call into the plugin,
// and the plugin's vendor call as a descendant, all in one trace.
func TestTraceCrossesIntoPlugin(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{svc: map[string]string{}}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, `
telemetry {
  tracing       = true
  otlp_endpoint = "`+lis.Addr().String()+`"
}
`))
	c.waitReady()
	if resp, b := c.do("POST", "/v1/chat/completions", chatBody("gpt-4o-mini")); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var vendor *tracepb.Span
	waitFor(t, "the plugin's vendor span", 20*time.Second, func() bool {
		if vs := col.byName("vendor POST"); len(vs) > 0 {
			vendor = vs[0]
			return true
		}
		return false
	})
	c.stop() // flushes the core's batch of spans
	waitFor(t, "the core's HTTP span", 20*time.Second, func() bool { return len(col.byName("POST /v1/chat/completions")) > 0 })

	httpSpan := col.byName("POST /v1/chat/completions")[0]
	trace := httpSpan.GetTraceId()
	col.mu.Lock()
	byID := map[string]*tracepb.Span{}
	for _, s := range col.spans {
		byID[hex.EncodeToString(s.GetSpanId())] = s
	}
	col.mu.Unlock()
	// Walk from the vendor span up to the HTTP span.
	var chain []string
	for s := vendor; s != nil; s = byID[hex.EncodeToString(s.GetParentSpanId())] {
		if hex.EncodeToString(s.GetTraceId()) != hex.EncodeToString(trace) {
			t.Fatalf("span %q is in another trace", s.GetName())
		}
		chain = append(chain, s.GetName())
		if s == httpSpan {
			break
		}
	}
	t.Logf("span chain from the vendor call up: %v", chain)
	if chain[len(chain)-1] != httpSpan.GetName() {
		t.Fatalf("vendor span does not descend from the HTTP span: %v", chain)
	}
	has := func(name string) bool {
		for _, n := range chain {
			if n == name {
				return true
			}
		}
		return false
	}
	if !has("provider attempt") {
		t.Errorf("no provider attempt span between HTTP and vendor: %v", chain)
	}
	if col.svc[hex.EncodeToString(vendor.GetSpanId())] != "oneflow-openai" {
		t.Errorf("vendor span service %q, want oneflow-openai", col.svc[hex.EncodeToString(vendor.GetSpanId())])
	}
	if len(col.byName("routing")) == 0 {
		t.Error("no routing span")
	}
}
