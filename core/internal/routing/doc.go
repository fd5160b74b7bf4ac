// Package routing holds the pure parts of model routing: live latency and
// error statistics per target, the built-in safe order used when a strategy
// plugin is down, and the memo of strategy answers per request class. It
// does no I/O; the gateway makes the plugin call.
package routing
