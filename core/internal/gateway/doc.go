// Package gateway executes model calls for one config generation: it
// resolves a requested model or routing alias into an ordered plan of
// targets (asking a strategy plugin when the alias says so), then calls
// the provider plugins in order, moving to the next target only on a
// retryable failure and only while nothing has reached the client.
package gateway
