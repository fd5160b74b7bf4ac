// Package telemetry sets up what the gateway tells its operators: Prometheus
// metrics, OpenTelemetry traces and hclog logs with secrets redacted.
//
// Nothing here touches a process-wide default: metrics register on the
// prometheus.Registerer passed to [NewMetrics], [SetupTracing] returns its
// TracerProvider instead of installing it (unless asked to), and loggers
// write to the io.Writer they are given. The composition root wires them.
//
// # Metrics
//
// [Metrics] owns every gateway series and offers one method per
// observation. Label values are bounded: the HTTP route is the router's
// template ("/v1/chat/completions", never a raw path with ids in it), the
// HTTP method is folded onto the standard set, provider and model come from
// the configuration, and no user, key or project id becomes a label except
// through [Metrics.SetProjectBalances], which keeps at most
// [MaxProjectBalanceSeries] series. Credits are exported as float64
// credits for dashboards; metrics are not money, and the ledger, not
// Prometheus, is the record of what was charged.
//
// # Tracing
//
// [SetupTracing] returns a no-op provider when tracing is off and an OTLP
// gRPC exporter behind a batch span processor when it is on. The W3C trace
// context propagator ([Propagator]) carries context across HTTP and across
// the plugin boundary; [GRPCClientStatsHandler] instruments the host's
// connections to plugins and [GRPCServerStatsHandler] is what a plugin's
// gRPC server needs to continue the trace.
//
// # Logging
//
// [NewLogger] builds the hclog logger; [Redactor] wraps its writer and
// replaces configured secrets and secret-shaped strings (OpenAI style keys,
// bearer tokens, OneFlow keys) with "[REDACTED]" before a byte is written.
package telemetry
