package telemetry

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	channelzpb "google.golang.org/grpc/channelz/grpc_channelz_v1"
	channelzsvc "google.golang.org/grpc/channelz/service"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"
)

// testTracing returns an enabled provider that exports into memory.
func testTracing(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp, shutdown, err := SetupTracing(context.Background(), TracingConfig{Enabled: true, ServiceName: "oneflow-test", Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	sdk, ok := tp.(*sdktrace.TracerProvider)
	if !ok {
		t.Fatalf("enabled tracing returned %T, want the SDK provider", tp)
	}
	return sdk, exp
}

// grpcPair starts a gRPC server over an in-memory listener with the
// channelz service (a tiny real unary service that ships with gRPC) and the
// health service, and returns a client connection to it.
func grpcPair(t *testing.T, serverOpts []grpc.ServerOption, dialOpts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(serverOpts...)
	channelzsvc.RegisterChannelzServiceToServer(srv)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	dialOpts = append(dialOpts,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	conn, err := grpc.NewClient("passthrough:///bufnet", dialOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestSetupTracingDisabledIsNoop(t *testing.T) {
	tp, shutdown, err := SetupTracing(context.Background(), TracingConfig{Endpoint: "collector:4317"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("t").Start(context.Background(), "x")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("a disabled provider recorded a span")
	}
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestGRPCServerSpanIsChildOfClientSpan(t *testing.T) {
	tp, exp := testTracing(t)
	conn := grpcPair(t,
		[]grpc.ServerOption{grpc.StatsHandler(GRPCServerStatsHandler(tp))},
		GRPCDialOption(tp))

	ctx, root := tp.Tracer("test").Start(context.Background(), "gateway request")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := channelzpb.NewChannelzClient(conn).GetServers(ctx, &channelzpb.GetServersRequest{}); err != nil {
		t.Fatalf("calling over gRPC: %v", err)
	}
	// Health checks happen every few seconds per plugin; they must not
	// produce spans.
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health check: %v", err)
	}
	root.End()
	// The server span ends in the server's stats handler after the
	// response is on the wire, so the client can return before it is
	// exported: wait for it rather than race it.
	var spans tracetest.SpanStubs
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if err := tp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		spans = exp.GetSpans()
		if hasKind(spans, trace.SpanKindServer) || time.Now().After(deadline) {
			break
		}
	}
	var client, server *tracetest.SpanStub
	for i := range spans {
		s := &spans[i]
		if strings.Contains(s.Name, "Health") {
			t.Errorf("health check traced: %s", s.Name)
		}
		switch s.SpanKind {
		case trace.SpanKindClient:
			client = s
		case trace.SpanKindServer:
			server = s
		}
	}
	if client == nil || server == nil {
		t.Fatalf("want a client and a server span, got %d spans: %v", len(spans), spans)
	}
	const method = "grpc.channelz.v1.Channelz/GetServers"
	tests := []struct {
		name string
		ok   bool
	}{
		{"client span named after the method", client.Name == method},
		{"server span named after the method", server.Name == method},
		{"client span is a child of the request span", client.Parent.SpanID() == root.SpanContext().SpanID()},
		{"server span is a child of the client span", server.Parent.SpanID() == client.SpanContext.SpanID()},
		{"server parent is remote", server.Parent.IsRemote()},
		{"one trace end to end", server.SpanContext.TraceID() == root.SpanContext().TraceID() &&
			client.SpanContext.TraceID() == root.SpanContext().TraceID()},
		{"service name on the resource", strings.Contains(server.Resource.String(), "service.name=oneflow-test")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.ok {
				t.Errorf("client %+v\nserver %+v", client, server)
			}
		})
	}
}

// A plugin that records no spans itself (no-op provider) must still see the
// host's trace context, so it can pass it on to vendor HTTP calls.
func TestNoopServerHandlerStillPropagatesContext(t *testing.T) {
	tp, _ := testTracing(t)
	var mu sync.Mutex
	var seen trace.SpanContext
	capture := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		mu.Lock()
		seen = trace.SpanContextFromContext(ctx)
		mu.Unlock()
		return h(ctx, req)
	}
	conn := grpcPair(t,
		[]grpc.ServerOption{grpc.StatsHandler(GRPCServerStatsHandler(noop.NewTracerProvider())), grpc.UnaryInterceptor(capture)},
		GRPCDialOption(tp))
	ctx, root := tp.Tracer("test").Start(context.Background(), "gateway request")
	defer root.End()
	if _, err := channelzpb.NewChannelzClient(conn).GetServers(ctx, &channelzpb.GetServersRequest{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.TraceID() != root.SpanContext().TraceID() {
		t.Fatalf("handler saw trace %v, want %v", seen.TraceID(), root.SpanContext().TraceID())
	}
}

func TestSampleRatio(t *testing.T) {
	tests := []struct {
		name      string
		ratio     float64
		wantAll   bool
		wantNone  bool
		rootSpans int
	}{
		{"zero means everything", 0, true, false, 50},
		{"one means everything", 1, true, false, 50},
		{"above one means everything", 7, true, false, 50},
		{"tiny ratio samples (almost) nothing", 1e-12, false, true, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, shutdown, err := SetupTracing(context.Background(), TracingConfig{Enabled: true, SampleRatio: tt.ratio, Exporter: tracetest.NewInMemoryExporter()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = shutdown(context.Background()) }()
			sampled := 0
			for range tt.rootSpans {
				_, s := tp.Tracer("t").Start(context.Background(), "x")
				if s.SpanContext().IsSampled() {
					sampled++
				}
				s.End()
			}
			if tt.wantAll && sampled != tt.rootSpans {
				t.Errorf("sampled %d of %d", sampled, tt.rootSpans)
			}
			if tt.wantNone && sampled != 0 {
				t.Errorf("sampled %d of %d", sampled, tt.rootSpans)
			}
		})
	}
}

func TestSetGlobalInstallsProviderAndPropagator(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
	})
	tp, shutdown, err := SetupTracing(context.Background(), TracingConfig{Enabled: true, SetGlobal: true, Exporter: tracetest.NewInMemoryExporter()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	if otel.GetTracerProvider() != tp {
		t.Error("global tracer provider not installed")
	}
	fields := otel.GetTextMapPropagator().Fields()
	if !strings.Contains(strings.Join(fields, ","), "traceparent") {
		t.Errorf("global propagator fields %v lack traceparent", fields)
	}
}

func TestSetupTracingRejectsUnknownScheme(t *testing.T) {
	_, _, err := SetupTracing(context.Background(), TracingConfig{Enabled: true, Endpoint: "ftp://collector:4317"})
	if err == nil || !strings.Contains(err.Error(), "OTLP") {
		t.Fatalf("err = %v, want an OTLP exporter error", err)
	}
}

func TestPropagatorRoundTripsW3C(t *testing.T) {
	tp, _ := testTracing(t)
	ctx, span := tp.Tracer("t").Start(context.Background(), "x")
	defer span.End()
	carrier := propagation.MapCarrier{}
	Propagator().Inject(ctx, carrier)
	if !strings.HasPrefix(carrier.Get("traceparent"), "00-"+span.SpanContext().TraceID().String()) {
		t.Fatalf("traceparent = %q", carrier.Get("traceparent"))
	}
	got := trace.SpanContextFromContext(Propagator().Extract(context.Background(), carrier))
	if got.SpanID() != span.SpanContext().SpanID() {
		t.Fatalf("extracted span %v, want %v", got.SpanID(), span.SpanContext().SpanID())
	}
}

// fakeCollector is a minimal OTLP/gRPC trace receiver on loopback.
type fakeCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*collectortrace.ExportTraceServiceRequest
}

func (c *fakeCollector) Export(_ context.Context, r *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, r)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func TestOTLPExporterDeliversSpans(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &fakeCollector{}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	tests := []struct {
		name     string
		endpoint string
	}{
		{"bare host:port is plaintext", lis.Addr().String()},
		{"http URL is plaintext", "http://" + lis.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col.mu.Lock()
			col.reqs = nil
			col.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tp, shutdown, err := SetupTracing(ctx, TracingConfig{Enabled: true, Endpoint: tt.endpoint, ServiceName: "oneflow-otlp", ServiceVersion: "v9"})
			if err != nil {
				t.Fatal(err)
			}
			_, span := tp.Tracer("test").Start(ctx, "exported span")
			span.End()
			if err := shutdown(ctx); err != nil {
				t.Fatalf("shutdown (flush): %v", err)
			}
			col.mu.Lock()
			defer col.mu.Unlock()
			var names []string
			var resource string
			for _, r := range col.reqs {
				for _, rs := range r.GetResourceSpans() {
					resource = rs.GetResource().String()
					for _, ss := range rs.GetScopeSpans() {
						for _, s := range ss.GetSpans() {
							names = append(names, s.GetName())
						}
					}
				}
			}
			if len(names) != 1 || names[0] != "exported span" {
				t.Fatalf("collector got spans %v", names)
			}
			if !strings.Contains(resource, "oneflow-otlp") || !strings.Contains(resource, "v9") {
				t.Errorf("resource %s lacks service name/version", resource)
			}
		})
	}
}

func hasKind(spans tracetest.SpanStubs, kind trace.SpanKind) bool {
	for _, s := range spans {
		if s.SpanKind == kind {
			return true
		}
	}
	return false
}
