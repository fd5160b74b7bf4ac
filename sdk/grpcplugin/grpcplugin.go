package grpcplugin

import (
	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// ProtocolVersion is the plugin protocol version this sdk speaks.
const ProtocolVersion = handshake.ProtocolVersion

// The names to Dispense a provider or a strategy by.
const (
	ProviderPluginName = handshake.ProviderPluginName
	StrategyPluginName = handshake.StrategyPluginName
)

// Handshake returns the handshake the host expects from every plugin.
// DialOptions are the gRPC options the host dials a plugin with; they match
// the plugin's server settings (see [WindowSize]).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(WindowSize),
		grpc.WithInitialConnWindowSize(WindowSize),
	}
}

// WindowSize is the flow-control window both ends of the link use.
const WindowSize = handshake.WindowSize

func Handshake() plugin.HandshakeConfig { return handshake.Config() }

// PluginSet returns the plugins a host can dispense. Dispensing
// ProviderPluginName yields a provider.Client; StrategyPluginName a
// strategy.Strategy.
func PluginSet() plugin.PluginSet {
	return plugin.PluginSet{
		ProviderPluginName: &provider.GRPCPlugin{},
		StrategyPluginName: &strategy.GRPCPlugin{},
	}
}
