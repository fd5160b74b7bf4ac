// Package handshake holds the go-plugin handshake shared by the provider and
// strategy packages, which cannot import each other or grpcplugin.
package handshake

import plugin "github.com/hashicorp/go-plugin"

// ProtocolVersion is the plugin protocol this sdk speaks. A plugin built for
// another version is refused by the host at launch.
const ProtocolVersion = 1

// The names under which the two plugin kinds are dispensed.
const (
	ProviderPluginName = "provider"
	StrategyPluginName = "strategy"
)

// Config returns the handshake. The cookie is not a security measure; it
// stops a user from running a plugin binary by hand by mistake.
func Config() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "ONEFLOW_PLUGIN_MAGIC_COOKIE",
		MagicCookieValue: "4f6e65466c6f772d706c7567696e2d7631",
	}
}

// WindowSize is the gRPC flow-control window of the host–plugin link, per
// stream and per connection, set on both ends. Fixing it turns off gRPC's
// bandwidth-delay-product estimation, which sends a PING with received data
// (an extra frame, write and wake-up per call) to size windows for network
// links; between two processes on one machine it buys nothing. It is larger
// than any message a plugin exchanges, so flow control never stalls a call.
const WindowSize = 16 << 20
