package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/oneflow-ai/oneflow/core/internal/fakeupstream"
)

// TestOpenAISDK drives the core with the official OpenAI Go SDK, unchanged
// but for its base URL: chat, streaming with usage, models, an error.
func TestOpenAISDK(t *testing.T) {
	_, url := newUpstream(t, fakeupstream.Faults{})
	c := startCore(t, configFor([]string{url}, fmt.Sprintf(`
provider "emb" {
  plugin   = "openai"
  api_key  = env("TEST_UPSTREAM_KEY")
  base_url = %q
  model "text-embedding-3-small" {
    aliases        = ["embed-small"]
    modality       = "embedding"
    input_price    = 0.02
    quality        = 70
    context_window = 8191
    tokenizer      = "cl100k_base"
  }
}
`, url)))
	c.waitReady()
	client := openai.NewClient(option.WithBaseURL(c.base+"/v1/"), option.WithAPIKey(testKey), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("chat", func(t *testing.T) {
		var raw *http.Response
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != "Hello from the fake upstream" {
			t.Fatalf("content %q", got)
		}
		if resp.Usage.CompletionTokens != 5 || resp.Usage.PromptTokens == 0 {
			t.Fatalf("usage %+v", resp.Usage)
		}
		if raw.Header.Get("X-OneFlow-Provider") != "up0" {
			t.Fatalf("provider header %q", raw.Header.Get("X-OneFlow-Provider"))
		}
	})

	t.Run("stream", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "auto:cost",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		acc := openai.ChatCompletionAccumulator{}
		var sawUsage bool
		for stream.Next() {
			ch := stream.Current()
			acc.AddChunk(ch)
			if ch.Usage.CompletionTokens > 0 {
				sawUsage = true
				if len(ch.Choices) != 0 {
					t.Errorf("usage chunk carries choices")
				}
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != "Hello from the fake upstream" {
			t.Fatalf("streamed content %q", got)
		}
		if !sawUsage || acc.Usage.CompletionTokens != 5 {
			t.Fatalf("usage chunk missing or wrong: %+v", acc.Usage)
		}
	})

	// The SDKs ask for base64 vectors unless told otherwise; both
	// encodings must carry the vendor's floats exactly.
	t.Run("embeddings", func(t *testing.T) {
		want := []float64{0.0023064255, -0.009327292, 5.5}
		for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
			resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
				Model:          "text-embedding-3-small",
				Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello", "x"}},
				EncodingFormat: format,
			})
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			if len(resp.Data) != 2 || resp.Usage.PromptTokens == 0 {
				t.Fatalf("%s: %+v", format, resp)
			}
			got := resp.Data[0].Embedding
			if len(got) != len(want) {
				t.Fatalf("%s: embedding %v, want %v", format, got, want)
			}
			for i := range want {
				// The vectors travel as float32, as the vendor's do.
				if float32(got[i]) != float32(want[i]) {
					t.Fatalf("%s: embedding %v, want %v", format, got, want)
				}
			}
		}
	})

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, m := range page.Data {
			ids[m.ID] = true
		}
		if !ids["gpt-4o-mini"] || !ids["auto:cost"] {
			t.Fatalf("models %v", ids)
		}
		// Only the strategies the config declares (cost, the default, and
		// quality) are offered, and every model offered answers.
		for _, undeclared := range []string{"auto:latency", "auto:balanced"} {
			if ids[undeclared] {
				t.Errorf("%s is listed but no strategy of that name is declared", undeclared)
			}
			var apiErr *openai.Error
			if _, err := client.Models.Get(ctx, undeclared); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
				t.Errorf("GET /v1/models/%s: %v, want 404", undeclared, err)
			}
		}
		for id := range ids {
			m, err := client.Models.Get(ctx, id)
			if err != nil || m.ID != id {
				t.Errorf("GET /v1/models/%s: %v, %+v", id, err, m)
			}
			if strings.HasPrefix(id, "text-embedding") {
				continue
			}
			if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model: id, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			}); err != nil {
				t.Errorf("%s is listed but a chat with it failed: %v", id, err)
			}
		}
	})

	t.Run("tools", func(t *testing.T) {
		weather := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        "get_weather",
			Description: openai.String("Current weather in a city"),
			Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		})
		params := openai.ChatCompletionNewParams{
			Model:      "gpt-4o-mini",
			Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
			Tools:      []openai.ChatCompletionToolUnionParam{weather},
			ToolChoice: openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"}),
		}
		resp, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		msg := resp.Choices[0].Message
		if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 ||
			msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || msg.ToolCalls[0].ID == "" {
			t.Fatalf("tool call answer %+v", resp.Choices[0])
		}

		// The call and its result go back as history, as an SDK user's
		// loop sends them.
		followUp := openai.ChatCompletionNewParams{
			Model: "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage("Weather in Paris?"), msg.ToParam(), openai.ToolMessage(`{"temp_c":18}`, msg.ToolCalls[0].ID),
			},
		}
		final, err := client.Chat.Completions.New(ctx, followUp)
		if err != nil {
			t.Fatal(err)
		}
		if final.Choices[0].Message.Content != "Hello from the fake upstream" {
			t.Fatalf("answer after the tool result %+v", final.Choices[0])
		}

		stream := client.Chat.Completions.NewStreaming(ctx, params)
		acc := openai.ChatCompletionAccumulator{}
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		calls := acc.Choices[0].Message.ToolCalls
		if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Paris"}` || acc.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("streamed tool call %+v", acc.Choices[0])
		}
	})

	t.Run("retrieve model", func(t *testing.T) {
		for _, id := range []string{"gpt-4o-mini", "up0/gpt-4o-mini", "auto:cost", "text-embedding-3-small", "embed-small", "emb/text-embedding-3-small"} {
			m, err := client.Models.Get(ctx, id)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if m.ID != id || m.Object != "model" || m.OwnedBy == "" {
				t.Fatalf("%s: %+v", id, m)
			}
		}
		_, err := client.Models.Get(ctx, "gpt-9")
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
			t.Fatalf("missing model: want 404 model_not_found, got %v", err)
		}
	})

	t.Run("error", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "no-such-model",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("want *openai.Error, got %T %v", err, err)
		}
		if apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Type != "invalid_request_error" || apiErr.Param != "model" {
			t.Fatalf("error %+v", apiErr)
		}
	})

	t.Run("bad key", func(t *testing.T) {
		bad := openai.NewClient(option.WithBaseURL(c.base+"/v1/"), option.WithAPIKey("wrong"), option.WithMaxRetries(0))
		_, err := bad.Models.List(ctx)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type != "authentication_error" {
			t.Fatalf("want 401 authentication_error, got %v", err)
		}
	})
}
