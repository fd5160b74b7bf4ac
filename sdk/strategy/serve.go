package strategy

import (
	"os"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
)

// Serve runs s as a plugin process and returns when the host ends it:
//
//	func main() { strategy.Serve(&myStrategy{}) }
func Serve(s Strategy) {
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: os.Stderr, JSONFormat: true})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake.Config(),
		Plugins: plugin.PluginSet{
			handshake.StrategyPluginName: &GRPCPlugin{Impl: s, Logger: log},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		Logger:     log,
	})
}
