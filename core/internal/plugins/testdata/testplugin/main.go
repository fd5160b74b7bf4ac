// Command testplugin is a provider plugin for the host's tests. Its
// behaviour is chosen by environment variables the test sets in the
// plugin block: TESTPLUGIN_PROTOCOL serves another handshake version,
// TESTPLUGIN_CRASH_ON_CHAT exits the process inside Chat, and
// TESTPLUGIN_CACHED_INPUT_TOKENS reports that many prompt-cache reads with
// its one input token, as a plugin breaking the sdk's usage contract would.
package main

import (
	"context"
	"os"
	"strconv"

	plugin "github.com/hashicorp/go-plugin"

	"github.com/oneflow-ai/oneflow/sdk/grpcplugin"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

type echo struct{ key string }

func (e *echo) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{Name: "testplugin", Version: "0.0.1", Models: []provider.Model{{ID: "echo", Modality: provider.ModalityText}}}, nil
}

func (e *echo) Configure(_ context.Context, cfg provider.Config) error {
	e.key = cfg.APIKey
	return nil
}

func (e *echo) Chat(_ context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	if os.Getenv("TESTPLUGIN_CRASH_ON_CHAT") != "" {
		os.Exit(3)
	}
	text := req.Messages[len(req.Messages)-1].Text()
	cached, _ := strconv.ParseInt(os.Getenv("TESTPLUGIN_CACHED_INPUT_TOKENS"), 10, 64)
	return &provider.ChatResponse{Model: req.Model, Content: text + " (pid " + strconv.Itoa(os.Getpid()) + ")", FinishReason: provider.FinishStop,
		Usage: provider.Usage{InputTokens: 1, CachedInputTokens: cached, OutputTokens: 1}}, nil
}

func main() {
	p := &echo{}
	if v := os.Getenv("TESTPLUGIN_PROTOCOL"); v != "" {
		n, _ := strconv.Atoi(v)
		hs := grpcplugin.Handshake()
		hs.ProtocolVersion = uint(n)
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: hs,
			Plugins:         plugin.PluginSet{grpcplugin.ProviderPluginName: &provider.GRPCPlugin{Impl: p}},
			GRPCServer:      plugin.DefaultGRPCServer,
		})
		return
	}
	provider.Serve(p)
}
