package telemetry

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// grpcOptions are shared by both ends. Everything otelgrpc would otherwise
// take from the otel globals is passed explicitly: the tracer provider, the
// W3C propagator (the global default propagates nothing) and a no-op meter
// provider (gateway metrics are Prometheus, above). gRPC health checks,
// which the plugin supervisor sends every few seconds, are not traced.
func grpcOptions(tp trace.TracerProvider) []otelgrpc.Option {
	return []otelgrpc.Option{
		otelgrpc.WithTracerProvider(tp),
		otelgrpc.WithPropagators(Propagator()),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	}
}

// GRPCClientStatsHandler instruments the host's connections to plugins: each
// call gets a client span and carries its trace context in the request
// metadata (traceparent), so a plugin using [GRPCServerStatsHandler]
// continues the same trace.
func GRPCClientStatsHandler(tp trace.TracerProvider) stats.Handler {
	return otelgrpc.NewClientHandler(grpcOptions(tp)...)
}

// GRPCServerStatsHandler instruments a gRPC server (a plugin's): it reads
// the caller's trace context from the metadata and starts a server span as
// its child. With a no-op tp nothing is recorded, but the caller's span
// context still reaches the handler's ctx, so a plugin that traces nothing
// itself can pass it on to its vendor HTTP calls.
func GRPCServerStatsHandler(tp trace.TracerProvider) stats.Handler {
	return otelgrpc.NewServerHandler(grpcOptions(tp)...)
}

// GRPCDialOption is [GRPCClientStatsHandler] as a dial option, the form
// go-plugin's ClientConfig.GRPCDialOptions takes.
func GRPCDialOption(tp trace.TracerProvider) grpc.DialOption {
	return grpc.WithStatsHandler(GRPCClientStatsHandler(tp))
}
