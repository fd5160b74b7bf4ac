// Package rpcserver builds a plugin's gRPC server, the same way for every
// plugin kind.
package rpcserver

import (
	"runtime"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
	"github.com/oneflow-ai/oneflow/sdk/internal/tracing"
)

// New returns go-plugin's default server (opts carry its TLS settings) with
// three changes for the hot path:
//
//   - A pool of stream workers. By default gRPC starts a goroutine per call,
//     whose stack then grows by copying on every call (runtime.morestack was
//     about 7% of a provider plugin's CPU under load); pooled workers keep
//     their grown stacks.
//   - Fixed flow-control windows (see handshake.WindowSize), which turn off
//     gRPC's bandwidth-delay-product PINGs. The host sets the same.
//   - Tracing instrumentation only when the host turned tracing on: with it
//     off the host sends no trace context, so a stats handler would only
//     add work to every call.
func New(opts []grpc.ServerOption, t tracing.Tracing) *grpc.Server {
	opts = append(opts,
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		grpc.InitialWindowSize(handshake.WindowSize),
		grpc.InitialConnWindowSize(handshake.WindowSize),
	)
	if t.Enabled {
		opts = append(opts, tracing.ServerOption(t.Provider))
	}
	return plugin.DefaultGRPCServer(opts)
}
