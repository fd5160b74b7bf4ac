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
