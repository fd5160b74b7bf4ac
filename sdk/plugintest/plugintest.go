package plugintest

import (
	"testing"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/oneflow-ai/oneflow/sdk/internal/handshake"
	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

// Provider serves p over an in-process gRPC connection and returns the
// client the core would use. The connection closes when the test ends.
func Provider(t testing.TB, p provider.Provider) provider.Client {
	t.Helper()
	raw := dispense(t, handshake.ProviderPluginName, plugin.PluginSet{
		handshake.ProviderPluginName: &provider.GRPCPlugin{Impl: p},
	})
	c, ok := raw.(provider.Client)
	if !ok {
		t.Fatalf("plugintest: dispensed %T, want provider.Client", raw)
	}
	return c
}

// Strategy serves s over an in-process gRPC connection and returns the
// client the core would use.
func Strategy(t testing.TB, s strategy.Strategy) strategy.Strategy {
	t.Helper()
	raw := dispense(t, handshake.StrategyPluginName, plugin.PluginSet{
		handshake.StrategyPluginName: &strategy.GRPCPlugin{Impl: s},
	})
	c, ok := raw.(strategy.Strategy)
	if !ok {
		t.Fatalf("plugintest: dispensed %T, want strategy.Strategy", raw)
	}
	return c
}

func dispense(t testing.TB, name string, ps plugin.PluginSet) any {
	t.Helper()
	client, server := plugin.TestPluginGRPCConn(t, false, ps)
	t.Cleanup(func() {
		// Stop the server first: client.Close asks the server to stop
		// itself over the controller service, and a second Stop racing
		// with that one is a data race inside go-plugin. Once the server is
		// gone that request fails fast and Close just closes the conn.
		server.Stop()
		_ = client.Close()
	})
	raw, err := client.Dispense(name)
	if err != nil {
		t.Fatalf("plugintest: dispense %s: %v", name, err)
	}
	return raw
}
