// Package plugintest runs a plugin implementation through the real gRPC
// path in-process, so plugin authors can test what the core will see:
// conversions, error kinds crossing the boundary, stream order and
// cancellation. It also has conformance checks for providers and strategies.
package plugintest
