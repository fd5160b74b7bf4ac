package vendorhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// TestVendorCallIsChildSpan: with a span in the request's context the
// vendor call becomes its child and the vendor sees traceparent; without
// one nothing is added.
func TestVendorCallIsChildSpan(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Traceparent"))
	}))
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	c := NewClient(provider.Config{})

	ctx, parent := tp.Tracer("test").Start(context.Background(), "plugin call")
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/x", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()

	req, _ = http.NewRequestWithContext(context.Background(), "POST", srv.URL+"/v1/x", nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	if len(got) != 2 || !strings.Contains(got[0], parent.SpanContext().TraceID().String()) || got[1] != "" {
		t.Fatalf("traceparent headers %q", got)
	}
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "vendor POST" || spans[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v", spans)
	}
}
