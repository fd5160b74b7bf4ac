package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// Tool use as anthropic-openapi.json describes it: Tool (input_schema),
// ToolChoiceAuto/Any/Tool/None, RequestToolUseBlock in the assistant turn,
// RequestToolResultBlock in a user turn, ResponseToolUseBlock in the
// answer, and content_block_start + input_json_delta when streamed.

func weatherRequest(choice string) *provider.ChatRequest {
	return &provider.ChatRequest{
		Model: "claude-3-5-sonnet-20241022",
		Messages: []provider.Message{
			user("Weather in Paris?"),
			{Role: provider.RoleAssistant, Content: []provider.ContentPart{{Type: provider.PartText, Text: "Checking."}},
				ToolCalls: []provider.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
			{Role: provider.RoleTool, ToolCallID: "toolu_1", Content: []provider.ContentPart{{Type: provider.PartText, Text: `{"temp_c":18}`}}},
			user("And Lyon?"),
		},
		Tools: []provider.Tool{
			{Name: "get_weather", Description: "Current weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`), Strict: true},
			{Name: "now"},
		},
		ToolChoice:     choice,
		ToolChoiceName: "get_weather",
	}
}

const weatherTurns = `"messages":[
	{"role":"user","content":"Weather in Paris?"},
	{"role":"assistant","content":[{"type":"text","text":"Checking."},
		{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
	{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"{\"temp_c\":18}"},
		{"type":"text","text":"And Lyon?"}]}],
	"tools":[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},
		{"name":"now","input_schema":{"type":"object"}}]`

func TestChatSendsTools(t *testing.T) {
	tests := []struct {
		choice string
		want   string // the tool_choice Anthropic must receive, "" for none sent
	}{
		{"", ""},
		{provider.ToolChoiceAuto, `,"tool_choice":{"type":"auto"}`},
		{provider.ToolChoiceRequired, `,"tool_choice":{"type":"any"}`},
		{provider.ToolChoiceNone, `,"tool_choice":{"type":"none"}`},
		{provider.ToolChoiceFunction, `,"tool_choice":{"type":"tool","name":"get_weather"}`},
	}
	for _, tc := range tests {
		t.Run("choice "+tc.choice, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				want := `{"model":"claude-3-5-sonnet-20241022","max_tokens":4096,` + weatherTurns + tc.want + `}`
				if got := decodeBody(t, r); !jsonEqual(t, got, want) {
					t.Errorf("request body %v, want %s", got, want)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022",
					"content":[{"type":"text","text":"Let me check."},
						{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Lyon"}}],
					"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":120,"output_tokens":30}}`))
			})
			got, err := newPlugin(t, srv.URL, nil).Chat(context.Background(), weatherRequest(tc.choice))
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			want := &provider.ChatResponse{ID: "msg_1", Model: "claude-3-5-sonnet-20241022", Content: "Let me check.",
				ToolCalls:    []provider.ToolCall{{ID: "toolu_2", Name: "get_weather", Arguments: `{"city":"Lyon"}`}},
				FinishReason: provider.FinishToolCalls, Usage: provider.Usage{InputTokens: 120, OutputTokens: 30}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Chat =\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

// parallel_tool_calls false is Anthropic's disable_parallel_tool_use, on
// the tool choice (auto when none was given; "none" takes no flag).
func TestChatSendsParallelToolCallsFalse(t *testing.T) {
	tests := []struct {
		choice, want string
	}{
		{"", `{"type":"auto","disable_parallel_tool_use":true}`},
		{provider.ToolChoiceRequired, `{"type":"any","disable_parallel_tool_use":true}`},
		{provider.ToolChoiceFunction, `{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}`},
		{provider.ToolChoiceNone, `{"type":"none"}`},
	}
	for _, tc := range tests {
		t.Run("choice "+tc.choice, func(t *testing.T) {
			no := false
			req := weatherRequest(tc.choice)
			req.ParallelToolCalls = &no
			body, err := buildMessagesRequest(req, 4096, false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(body.ToolChoice)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("tool_choice %s, want %s", got, tc.want)
			}
		})
	}
}

func TestChatStreamToolUse(t *testing.T) {
	sse := `event: message_start
data: {"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","content":[],"model":"claude-3-5-sonnet-20241022","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":120,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_3","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Ly"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"on\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}}

event: message_stop
data: {"type":"message_stop"}

`
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(sse))
	})
	var got []provider.ChatChunk
	if err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), weatherRequest(provider.ToolChoiceAuto), collect(&got)); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	c := func(ch provider.ChatChunk) provider.ChatChunk {
		ch.ID, ch.Model = "msg_2", "claude-3-5-sonnet-20241022"
		return ch
	}
	want := []provider.ChatChunk{
		c(provider.ChatChunk{Role: provider.RoleAssistant, Delta: "Checking."}),
		c(provider.ChatChunk{ToolCalls: []provider.ToolCallDelta{{Index: 0, ID: "toolu_3", Name: "get_weather"}}}),
		c(provider.ChatChunk{ToolCalls: []provider.ToolCallDelta{{Index: 0, Arguments: `{"city": "Ly`}}}),
		c(provider.ChatChunk{ToolCalls: []provider.ToolCallDelta{{Index: 0, Arguments: `on"}`}}}),
		c(provider.ChatChunk{FinishReason: provider.FinishToolCalls, Usage: &provider.Usage{InputTokens: 120, OutputTokens: 42}}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chunks\n got %s\nwant %s", fmtChunks(got), fmtChunks(want))
	}
}

func TestDescribeDeclaresTools(t *testing.T) {
	info, err := (&Plugin{}).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []provider.Capability{provider.CapChat, provider.CapChatStream, provider.CapCountTokens, provider.CapTools} {
		if !slices.Contains(info.Capabilities, want) {
			t.Errorf("Describe lacks %s: %v", want, info.Capabilities)
		}
	}
}

// A call without arguments streams no input (or one empty fragment): the
// relayed call still ends up with "{}", as an unstreamed one does.
func TestChatStreamToolUseWithoutArguments(t *testing.T) {
	sse := `event: message_start
data: {"type":"message_start","message":{"id":"msg_3","type":"message","role":"assistant","content":[],"model":"claude-3-5-sonnet-20241022","usage":{"input_tokens":50,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_4","name":"now","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":12}}

event: message_stop
data: {"type":"message_stop"}

`
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write([]byte(sse))
	})
	var got []provider.ChatChunk
	if err := newPlugin(t, srv.URL, nil).ChatStream(context.Background(), weatherRequest(""), collect(&got)); err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	var args string
	for _, ch := range got {
		for _, tc := range ch.ToolCalls {
			args += tc.Arguments
		}
	}
	if args != "{}" {
		t.Errorf("arguments %q, want {}: %s", args, fmtChunks(got))
	}
}
