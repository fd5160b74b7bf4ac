package strategy

import (
	"os"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"google.golang.org/grpc"

	"github.com/oneflow-ai/oneflow/sdk/internal/gctune"
	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
	"github.com/oneflow-ai/oneflow/sdk/internal/rpcserver"
	"github.com/oneflow-ai/oneflow/sdk/internal/tracing"
)

// Serve runs s as a plugin process and returns when the host ends it:
//
//	func main() { strategy.Serve(&myStrategy{}) }
func Serve(s Strategy) {
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: os.Stderr, JSONFormat: true})
	gctune.Apply()
	tr, flush := tracing.Setup()
	defer flush()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake.Config(),
		Plugins: plugin.PluginSet{
			handshake.StrategyPluginName: &GRPCPlugin{Impl: s, Logger: log},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return rpcserver.New(opts, tr)
		},
		Logger: log,
	})
}
