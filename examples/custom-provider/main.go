// Command oneflow-provider-echo is a complete, tiny OneFlow provider
// plugin: model "echo-1" answers with the last user message, word by word
// when streaming, and reports usage counted in words. Copy it to start a
// real provider; a real one calls its vendor where this one echoes.
package main

import (
	"context"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

func main() { provider.Serve(&echo{}) }

// echo implements provider.Provider plus the optional Chatter and
// ChatStreamer; Describe's capabilities follow from those methods.
type echo struct{}

func (*echo) Describe(context.Context) (*provider.Info, error) {
	return &provider.Info{
		Name:    "echo",
		Version: "0.1.0",
		Models:  []provider.Model{{ID: "echo-1", Modality: provider.ModalityText, ContextWindow: 4096}},
	}, nil
}

// Configure receives the provider block's settings. Echo needs none; a
// real provider keeps cfg.APIKey and cfg.BaseURL here.
func (*echo) Configure(context.Context, provider.Config) error { return nil }

func (e *echo) Chat(_ context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	text, usage, err := e.answer(req)
	if err != nil {
		return nil, err
	}
	return &provider.ChatResponse{Model: req.Model, Content: text, FinishReason: provider.FinishStop, Usage: usage}, nil
}

// ChatStream sends one chunk per word, then a last chunk with the usage,
// as the core requires. It stops as soon as the caller goes away.
func (e *echo) ChatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	text, usage, err := e.answer(req)
	if err != nil {
		return err
	}
	for _, word := range strings.SplitAfter(text, " ") {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := send(&provider.ChatChunk{Model: req.Model, Role: provider.RoleAssistant, Delta: word}); err != nil {
			return err
		}
	}
	return send(&provider.ChatChunk{Model: req.Model, FinishReason: provider.FinishStop, Usage: &usage})
}

// answer returns the last user message and the usage, in words.
func (*echo) answer(req *provider.ChatRequest) (string, provider.Usage, error) {
	var text string
	var in int
	for _, m := range req.Messages {
		in += len(strings.Fields(m.Text()))
		if m.Role == provider.RoleUser {
			text = m.Text()
		}
	}
	if strings.TrimSpace(text) == "" {
		return "", provider.Usage{}, provider.Errorf(provider.KindInvalidRequest, "no user message to echo")
	}
	return text, provider.Usage{InputTokens: int64(in), OutputTokens: int64(len(strings.Fields(text)))}, nil
}
