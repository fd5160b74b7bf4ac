package main

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// The tool call shapes follow openai-openapi.yaml: ChatCompletionTool,
// ChatCompletionNamedToolChoice, ChatCompletionMessageToolCall (in the
// assistant message and the answer) and ChatCompletionMessageToolCallChunk
// (streamed, arguments in fragments).

func weatherRequest() *provider.ChatRequest {
	return &provider.ChatRequest{
		Model: "gpt-4o-mini",
		Messages: []provider.Message{
			{Role: provider.RoleUser, Content: []provider.ContentPart{{Type: provider.PartText, Text: "Weather in Paris?"}}},
			{Role: provider.RoleAssistant, ToolCalls: []provider.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: provider.RoleTool, ToolCallID: "call_1", Content: []provider.ContentPart{{Type: provider.PartText, Text: `{"temp_c":18}`}}},
		},
		Tools:             []provider.Tool{{Name: "get_weather", Description: "Current weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`), Strict: true}},
		ToolChoice:        provider.ToolChoiceFunction,
		ToolChoiceName:    "get_weather",
		ParallelToolCalls: ptr(false),
	}
}

const weatherRequestBody = `{"model":"gpt-4o-mini","messages":[
	{"role":"user","content":"Weather in Paris?"},
	{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
	{"role":"tool","content":"{\"temp_c\":18}","tool_call_id":"call_1"}],
	"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather",
		"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}}],
	"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false`

func TestChatTools(t *testing.T) {
	answer := `{"id":"chatcmpl-t1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
		"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
			{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lyon\"}"}}]},
			"logprobs":null,"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":80,"completion_tokens":17,"total_tokens":97}}`
	fv := newFakeVendor(t, replyJSON(http.StatusOK, []byte(answer), nil))
	got, err := newPlugin(t, fv).Chat(context.Background(), weatherRequest())
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	checkRequest(t, fv.only(t), "/v1/chat/completions", "application/json", weatherRequestBody+`}`)
	want := &provider.ChatResponse{
		ID: "chatcmpl-t1", Model: "gpt-4o-mini-2024-07-18", FinishReason: provider.FinishToolCalls,
		ToolCalls: []provider.ToolCall{{ID: "call_2", Name: "get_weather", Arguments: `{"city":"Lyon"}`}},
		Usage:     provider.Usage{InputTokens: 80, OutputTokens: 17},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Chat =\n %+v\nwant\n %+v", got, want)
	}
}

func TestChatStreamTools(t *testing.T) {
	sse := `data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_3","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Nice\"}"}}]},"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}

data: {"id":"chatcmpl-t2","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":80,"completion_tokens":15,"total_tokens":95}}

data: [DONE]

`
	fv := newFakeVendor(t, replySSE([]byte(sse)))
	var got []provider.ChatChunk
	if err := newPlugin(t, fv).ChatStream(context.Background(), weatherRequest(), collect(&got)); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	checkRequest(t, fv.only(t), "/v1/chat/completions", "text/event-stream", weatherRequestBody+`,"stream":true,"stream_options":{"include_usage":true}}`)
	base := provider.ChatChunk{ID: "chatcmpl-t2", Model: "gpt-4o-mini"}
	chunk := func(f func(*provider.ChatChunk)) provider.ChatChunk {
		c := base
		f(&c)
		return c
	}
	want := []provider.ChatChunk{
		chunk(func(c *provider.ChatChunk) {
			c.Role = provider.RoleAssistant
			c.ToolCalls = []provider.ToolCallDelta{{Index: 0, ID: "call_3", Name: "get_weather"}}
		}),
		chunk(func(c *provider.ChatChunk) { c.ToolCalls = []provider.ToolCallDelta{{Arguments: `{"city":`}} }),
		chunk(func(c *provider.ChatChunk) { c.ToolCalls = []provider.ToolCallDelta{{Arguments: `"Nice"}`}} }),
		chunk(func(c *provider.ChatChunk) { c.FinishReason = provider.FinishToolCalls }),
		chunk(func(c *provider.ChatChunk) {
			c.FinishReason = provider.FinishToolCalls
			c.Usage = &provider.Usage{InputTokens: 80, OutputTokens: 15}
		}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

func TestDescribeDeclaresTools(t *testing.T) {
	p := &Plugin{}
	info, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []provider.Capability{provider.CapChat, provider.CapChatStream, provider.CapTools, provider.CapResponseFormat, provider.CapEmbed} {
		found := false
		for _, got := range info.Capabilities {
			found = found || got == c
		}
		if !found {
			t.Errorf("Describe lacks %s: %v", c, info.Capabilities)
		}
	}
}

// response_format (ResponseFormatJsonObject, ResponseFormatJsonSchema in
// openai-openapi.yaml) goes to the vendor as the caller wrote it.
func TestChatResponseFormat(t *testing.T) {
	fv := newFakeVendor(t, replyJSON(http.StatusOK, fixture(t, "chat_completion.json"), nil))
	req := helloRequest()
	req.ResponseFormat = []byte(`{"type":"json_schema","json_schema":{"name":"greeting","schema":{"type":"object"},"strict":true}}`)
	if _, err := newPlugin(t, fv).Chat(context.Background(), req); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	checkRequest(t, fv.only(t), "/v1/chat/completions", "application/json", `{"model":"gpt-4o-mini","messages":[
		{"role":"system","content":"You are a helpful assistant."},
		{"role":"user","content":"Hello!"}],
		"response_format":{"type":"json_schema","json_schema":{"name":"greeting","schema":{"type":"object"},"strict":true}}}`)
}

// A bound the caller named max_completion_tokens goes out under that name:
// OpenAI's reasoning models refuse max_tokens (openai-openapi.yaml,
// CreateChatCompletionRequest.max_tokens: "not compatible with o-series").
func TestChatMaxCompletionTokens(t *testing.T) {
	fv := newFakeVendor(t, replyJSON(http.StatusOK, fixture(t, "chat_completion.json"), nil))
	req := helloRequest()
	req.MaxTokens, req.MaxCompletionTokens = 300, true
	if _, err := newPlugin(t, fv).Chat(context.Background(), req); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	checkRequest(t, fv.only(t), "/v1/chat/completions", "application/json", `{"model":"gpt-4o-mini","messages":[
		{"role":"system","content":"You are a helpful assistant."},
		{"role":"user","content":"Hello!"}],"max_completion_tokens":300}`)
}

// OpenAI's per-request options reach the vendor under their own names
// (openai-openapi.yaml, CreateChatCompletionRequest: reasoning_effort,
// verbosity, logit_bias, store; ModelResponseProperties: metadata,
// safety_identifier, prompt_cache_key), and stay out of the body when unset,
// which TestChatMaxCompletionTokens's exact body checks.
func TestChatPassesOpenAIOptions(t *testing.T) {
	fv := newFakeVendor(t, replyJSON(http.StatusOK, fixture(t, "chat_completion.json"), nil))
	req := helloRequest()
	req.ReasoningEffort, req.Verbosity = "low", "high"
	req.LogitBias = map[string]int64{"50256": -100, "1734": 5}
	req.Metadata = map[string]string{"team": "search"}
	req.Store = ptr(false)
	req.SafetyIdentifier, req.PromptCacheKey = "user-hash-1", "faq-v1"
	if _, err := newPlugin(t, fv).Chat(context.Background(), req); err != nil {
		t.Fatalf("Chat: %v", err)
	}
	checkRequest(t, fv.only(t), "/v1/chat/completions", "application/json", `{"model":"gpt-4o-mini","messages":[
		{"role":"system","content":"You are a helpful assistant."},
		{"role":"user","content":"Hello!"}],
		"reasoning_effort":"low","verbosity":"high","logit_bias":{"50256":-100,"1734":5},
		"metadata":{"team":"search"},"store":false,"safety_identifier":"user-hash-1","prompt_cache_key":"faq-v1"}`)
}
