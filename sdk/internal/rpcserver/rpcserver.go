// Package rpcserver builds a plugin's gRPC server, the same way for every
// plugin kind.
package rpcserver

import (
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
	"github.com/oneflow-ai/oneflow/sdk/internal/tracing"
)

// streamWorkers is how many calls in flight run on pooled goroutines. Idle
// workers cost a parked goroutine each, with the stack it grew.
const streamWorkers = 64

// New returns go-plugin's default server (opts carry its TLS settings) with
// three changes for the hot path:
//
//   - A pool of stream workers. By default gRPC starts a goroutine per call,
//     whose stack then grows by copying on every call (runtime.morestack was
//     about 7% of a provider plugin's CPU under load); pooled workers keep
//     their grown stacks. The pool is sized for calls in flight, not CPUs:
//     a handler waits on the vendor for most of its call, and a call that
//     finds every worker busy gets a fresh goroutine. Sized by GOMAXPROCS,
//     a plugin pinned to one CPU had one worker, so at 1000 req/s most
//     calls overflowed and morestack was back at ~7%.
//   - Fixed flow-control windows (see handshake.WindowSize), which turn off
//     gRPC's bandwidth-delay-product PINGs. The host sets the same.
//   - Tracing instrumentation only when the host turned tracing on: with it
//     off the host sends no trace context, so a stats handler would only
//     add work to every call.
func New(opts []grpc.ServerOption, t tracing.Tracing) *grpc.Server {
	opts = append(opts,
		grpc.NumStreamWorkers(streamWorkers),
		grpc.InitialWindowSize(handshake.WindowSize),
		grpc.InitialConnWindowSize(handshake.WindowSize),
	)
	if t.Enabled {
		opts = append(opts, tracing.ServerOption(t.Provider))
	}
	return plugin.DefaultGRPCServer(opts)
}
