// Package tracing sets up OpenTelemetry inside a plugin process. The host
// turns it on through the environment it launches the plugin with
// (ONEFLOW_TRACING, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME), so a
// plugin author writes no tracing code: the gRPC server continues the
// host's trace and vendorhttp's client adds the vendor call as a child.
package tracing

import (
	"context"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
)

// Tracing is a plugin's tracing set-up.
type Tracing struct {
	// Enabled is whether the host turned tracing on (ONEFLOW_TRACING=true).
	Enabled bool
	// Provider is the tracer provider; a no-op one when tracing is off, so
	// code that starts spans needs no check.
	Provider trace.TracerProvider
}

// Setup returns the plugin's tracing and a flush function.
func Setup() (Tracing, func()) {
	off := Tracing{Provider: noop.NewTracerProvider()}
	if os.Getenv("ONEFLOW_TRACING") != "true" {
		return off, func() {}
	}
	var opts []otlptracegrpc.Option
	endpoint := os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	switch {
	case strings.HasPrefix(endpoint, "http://"), strings.HasPrefix(endpoint, "https://"):
		opts = append(opts, otlptracegrpc.WithEndpointURL(endpoint))
	case endpoint != "":
		opts = append(opts, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(context.Background(), opts...)
	if err != nil {
		return off, func() {}
	}
	name := os.Getenv("OTEL_SERVICE_NAME")
	if name == "" {
		name = "oneflow-plugin"
	}
	tp := sdktrace.NewTracerProvider(
		// The host kills a plugin at the end of a drain, so spans are
		// exported promptly rather than in large, late batches.
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(200*time.Millisecond)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))),
	)
	return Tracing{Enabled: true, Provider: tp}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = tp.Shutdown(ctx)
	}
}

// ServerOption continues the host's trace in every gRPC call.
func ServerOption(tp trace.TracerProvider) grpc.ServerOption {
	return grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(propagation.TraceContext{}),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
	))
}
