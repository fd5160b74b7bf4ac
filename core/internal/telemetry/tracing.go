package telemetry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracingConfig says whether and where to send traces.
type TracingConfig struct {
	// Enabled turns tracing on. Off, [SetupTracing] returns a no-op
	// provider and costs nothing per span.
	Enabled bool
	// Endpoint is the OTLP/gRPC collector: "host:port" (plaintext, as for
	// a collector or Jaeger inside the same compose network or cluster),
	// "http://host:port" (plaintext) or "https://host:port" (TLS with the
	// system roots). Empty means the exporter's default, which honours the
	// standard OTEL_EXPORTER_OTLP_* variables and otherwise localhost:4317.
	Endpoint string
	// ServiceName is the service.name resource attribute ("oneflow" when
	// empty).
	ServiceName string
	// ServiceVersion is the service.version resource attribute, if set.
	ServiceVersion string
	// SampleRatio is the fraction of new traces recorded. Values outside
	// (0, 1] mean 1: the zero value records everything, which is what an
	// operator who just turned tracing on expects. Traces started by a
	// caller follow the caller's sampling decision.
	SampleRatio float64
	// SetGlobal also installs the provider and the W3C propagator as the
	// otel package globals, for third-party instrumentation that only
	// reads globals. Off by default: OneFlow passes providers explicitly.
	SetGlobal bool
	// Exporter replaces the OTLP exporter when non-nil: for tests (an
	// in-memory exporter) or another backend.
	Exporter sdktrace.SpanExporter
}

// exportTimeout bounds one export batch so that a dead collector delays
// span delivery, never the gateway's shutdown beyond the caller's context.
const exportTimeout = 10 * time.Second

// SetupTracing builds the tracer provider described by cfg. shutdown flushes
// buffered spans and stops the exporter; call it once on exit with a
// deadline. The OTLP exporter connects lazily, so an unreachable collector
// is not an error here: spans are retried, then dropped.
func SetupTracing(ctx context.Context, cfg TracingConfig) (trace.TracerProvider, func(context.Context) error, error) {
	if !cfg.Enabled {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	exp := cfg.Exporter
	if exp == nil {
		var err error
		exp, err = newOTLPExporter(ctx, cfg.Endpoint)
		if err != nil {
			return nil, nil, err
		}
	}
	name := cfg.ServiceName
	if name == "" {
		name = "oneflow"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	ratio := cfg.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithExportTimeout(exportTimeout)),
		// Schemaless so the attributes never conflict with the schema URL
		// of whatever semconv version the SDK was built with.
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	if cfg.SetGlobal {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(Propagator())
	}
	shutdown := func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("shutting down the tracer provider: %w", err)
		}
		return nil
	}
	return tp, shutdown, nil
}

// newOTLPExporter creates the OTLP/gRPC exporter. The scheme decides
// transport security; a bare host:port is plaintext because that is how a
// collector on the same private network (compose, a pod's sidecar) is
// addressed, and OTEL_EXPORTER_OTLP_ENDPOINT=jaeger:4317 is the common form.
func newOTLPExporter(ctx context.Context, endpoint string) (sdktrace.SpanExporter, error) {
	var opts []otlptracegrpc.Option
	switch {
	case endpoint == "":
		// Leave it to the exporter's own defaults and OTEL_* variables.
	case strings.HasPrefix(endpoint, "http://"), strings.HasPrefix(endpoint, "https://"):
		opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
	case strings.Contains(endpoint, "://"):
		return nil, errors.New("creating the OTLP trace exporter: endpoint scheme must be http or https")
	default:
		opts = append(opts, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the OTLP trace exporter for %q: %w", endpoint, err)
	}
	return exp, nil
}

// Propagator is the W3C trace context plus baggage propagator used on every
// hop: inbound HTTP, the gRPC calls to plugins, and outbound vendor calls.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}
