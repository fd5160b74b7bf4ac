package provider_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// shout is a tiny provider used by the examples: it answers a chat with the
// last message in upper case.
type shout struct{}

func (shout) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{
		Name:    "shout",
		Version: "0.1.0",
		Models:  []provider.Model{{ID: "shout-1", Modality: provider.ModalityText, ContextWindow: 4096}},
	}, nil
}

func (shout) Configure(context.Context, provider.Config) error { return nil }

func (shout) Chat(_ context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	if len(req.Messages) == 0 {
		return nil, provider.Errorf(provider.KindInvalidRequest, "no messages")
	}
	out := strings.ToUpper(req.Messages[len(req.Messages)-1].Text())
	return &provider.ChatResponse{Content: out, FinishReason: provider.FinishStop,
		Usage: provider.Usage{InputTokens: 1, OutputTokens: 1}}, nil
}

// A plugin's main is one line. Serve speaks the go-plugin handshake on
// stdout and blocks until the host ends the process, so this example is
// compiled but not run.
func ExampleServe() {
	provider.Serve(shout{})
}

// KindOf tells the core what to do with a failure: retry, fall back to
// another provider, or answer the client.
func ExampleKindOf() {
	err := fmt.Errorf("calling vendor: %w", &provider.Error{Kind: provider.KindRateLimited, Message: "slow down", Status: 429})
	fmt.Println(provider.KindOf(err), provider.KindOf(err).Retryable())

	var pe *provider.Error
	if errors.As(err, &pe) {
		fmt.Println(pe.Status)
	}

	fmt.Println(provider.KindOf(context.Canceled))
	fmt.Println(provider.KindOf(errors.New("something else")))
	// Output:
	// rate_limited true
	// 429
	// canceled
	// unknown
}

// Capabilities are derived from the optional interfaces a provider
// implements; Describe reports them to the core without the plugin
// listing them.
func ExampleCapabilities() {
	fmt.Println(provider.Capabilities(shout{}))
	// Output:
	// [chat]
}
