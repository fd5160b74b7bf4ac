package main

import (
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/plugintest"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// TestConformance runs echo through the real gRPC path with the checks the
// core relies on: description, usage, stream order, cancellation.
func TestConformance(t *testing.T) {
	plugintest.CheckProvider(t, &echo{}, plugintest.ProviderCase{
		Request: &provider.ChatRequest{
			Model: "echo-1",
			Messages: []provider.Message{
				provider.TextMessage(provider.RoleSystem, "You are a parrot."),
				provider.TextMessage(provider.RoleUser, "hello  plugin world"),
			},
		},
		SameContent: true,
		SameUsage:   true,
	})
}

func TestNoUserMessage(t *testing.T) {
	c := plugintest.Provider(t, &echo{})
	_, err := c.Chat(t.Context(), &provider.ChatRequest{Model: "echo-1"})
	if provider.KindOf(err) != provider.KindInvalidRequest {
		t.Fatalf("err = %v, want an invalid request", err)
	}
}
