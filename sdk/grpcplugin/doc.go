// Package grpcplugin is the host side of the OneFlow plugin protocol: the
// handshake and the plugin set a host passes to go-plugin. Plugin authors
// do not need it; they call provider.Serve or strategy.Serve.
package grpcplugin
