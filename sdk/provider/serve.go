package provider

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

// LoggerSetter is implemented by providers that want the sdk's logger. The
// logger writes JSON to stderr, which the host re-emits in its own log
// under the plugin's name. Never write to stdout: it carries the handshake.
type LoggerSetter interface {
	SetLogger(hclog.Logger)
}

// Serve runs p as a plugin process and returns when the host ends it. It is
// the whole of a plugin's main:
//
//	func main() { provider.Serve(&myProvider{}) }
func Serve(p Provider) {
	log := hclog.New(&hclog.LoggerOptions{
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
	gctune.Apply()
	tr, flush := tracing.Setup()
	defer flush()
	if ls, ok := p.(LoggerSetter); ok {
		ls.SetLogger(log)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake.Config(),
		Plugins: plugin.PluginSet{
			handshake.ProviderPluginName: &GRPCPlugin{Impl: p, Logger: log},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return rpcserver.New(opts, tr)
		},
		Logger: log,
	})
}
