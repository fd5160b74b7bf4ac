package grpcplugin_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"

	"github.com/oneflow-ai/oneflow/sdk/grpcplugin"
	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/strategy"
)

func TestHandshakeIsStable(t *testing.T) {
	// Changing any of these breaks every plugin already built: bump
	// ProtocolVersion on purpose, never by accident.
	h := grpcplugin.Handshake()
	if h.ProtocolVersion != 1 || grpcplugin.ProtocolVersion != 1 {
		t.Errorf("protocol version = %d/%d, want 1", h.ProtocolVersion, grpcplugin.ProtocolVersion)
	}
	if h.MagicCookieKey != "ONEFLOW_PLUGIN_MAGIC_COOKIE" || h.MagicCookieValue == "" {
		t.Errorf("cookie = %q=%q", h.MagicCookieKey, h.MagicCookieValue)
	}
}

func TestPluginSet(t *testing.T) {
	ps := grpcplugin.PluginSet()
	tests := []struct {
		name string
		want any
	}{
		{grpcplugin.ProviderPluginName, &provider.GRPCPlugin{}},
		{grpcplugin.StrategyPluginName, &strategy.GRPCPlugin{}},
	}
	if len(ps) != len(tests) {
		t.Errorf("plugin set has %d entries, want %d", len(ps), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := ps[tt.name]
			if !ok {
				t.Fatalf("no %q plugin", tt.name)
			}
			if _, ok := p.(plugin.GRPCPlugin); !ok {
				t.Errorf("%T is not a plugin.GRPCPlugin", p)
			}
		})
	}
}

// buildExamples compiles the example plugins into a temporary directory:
// the only honest test of Serve is a real plugin process.
func buildExamples(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and launches plugin binaries")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/oneflow-ai/oneflow/examples/custom-provider",
		"github.com/oneflow-ai/oneflow/examples/custom-strategy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// launch starts a plugin binary the way the host does: not Managed, gRPC
// only, with the sdk's handshake and plugin set.
func launch(t *testing.T, path string, hs plugin.HandshakeConfig) (plugin.ClientProtocol, error) {
	t.Helper()
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  hs,
		Plugins:          grpcplugin.PluginSet(),
		Cmd:              exec.Command(path),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		StartTimeout:     20 * time.Second,
	})
	t.Cleanup(c.Kill)
	return c.Client()
}

func TestServeOverRealProcess(t *testing.T) {
	dir := buildExamples(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("provider", func(t *testing.T) {
		rpc, err := launch(t, filepath.Join(dir, "custom-provider"), grpcplugin.Handshake())
		if err != nil {
			t.Fatalf("launch: %v", err)
		}
		raw, err := rpc.Dispense(grpcplugin.ProviderPluginName)
		if err != nil {
			t.Fatalf("dispense: %v", err)
		}
		p, ok := raw.(provider.Client)
		if !ok {
			t.Fatalf("dispensed %T", raw)
		}
		info, err := p.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != "echo" || len(info.Models) != 1 || info.Models[0].ID != "echo-1" {
			t.Errorf("info = %+v", info)
		}
		req := &provider.ChatRequest{Model: "echo-1", Messages: []provider.Message{provider.TextMessage(provider.RoleUser, "over a real pipe")}}
		var deltas strings.Builder
		var last *provider.ChatChunk
		err = p.ChatStream(ctx, req, func(ch *provider.ChatChunk) error {
			deltas.WriteString(ch.Delta)
			last = ch
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if deltas.String() != "over a real pipe" || last == nil || last.Usage == nil || last.Usage.OutputTokens != 4 {
			t.Errorf("stream = %q, last chunk %+v", deltas.String(), last)
		}
		if _, err := p.Embed(ctx, &provider.EmbedRequest{}); provider.KindOf(err) != provider.KindUnsupported {
			t.Errorf("Embed err = %v, want unsupported", err)
		}
	})

	t.Run("strategy", func(t *testing.T) {
		rpc, err := launch(t, filepath.Join(dir, "custom-strategy"), grpcplugin.Handshake())
		if err != nil {
			t.Fatalf("launch: %v", err)
		}
		raw, err := rpc.Dispense(grpcplugin.StrategyPluginName)
		if err != nil {
			t.Fatalf("dispense: %v", err)
		}
		s, ok := raw.(strategy.Strategy)
		if !ok {
			t.Fatalf("dispensed %T", raw)
		}
		d, err := s.Route(ctx, &strategy.Request{
			Features:   strategy.Features{Params: map[string]string{"prefer": "b"}},
			Candidates: []strategy.Candidate{{Provider: "a", Model: "m"}, {Provider: "b", Model: "m"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Choices) != 2 || d.Choices[0].Provider != "b" {
			t.Errorf("decision = %+v", d)
		}
	})

	t.Run("other protocol version refused", func(t *testing.T) {
		hs := grpcplugin.Handshake()
		hs.ProtocolVersion++
		if _, err := launch(t, filepath.Join(dir, "custom-provider"), hs); err == nil {
			t.Fatal("a plugin built for protocol 1 was accepted by a host speaking protocol 2")
		}
	})

	t.Run("run by hand without the cookie", func(t *testing.T) {
		out, err := exec.Command(filepath.Join(dir, "custom-provider")).CombinedOutput()
		if err == nil {
			t.Fatalf("plugin ran without the host: %s", out)
		}
		if !strings.Contains(string(out), "plugin") {
			t.Errorf("output %q does not explain that this is a plugin", out)
		}
	})
}
