package main

import (
	"cmp"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// The request and response shapes below follow Anthropic's OpenAPI
// description (CreateMessageParams, Message, MessageStreamEvent,
// CountMessageTokensParams, ErrorResponse), reduced to the fields OneFlow
// maps.

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string        `json:"model"`
	MaxTokens     int64         `json:"max_tokens"`
	Messages      []wireMessage `json:"messages"`
	System        string        `json:"system,omitempty"`
	Temperature   *float64      `json:"temperature,omitempty"`
	TopP          *float64      `json:"top_p,omitempty"`
	StopSequences []string      `json:"stop_sequences,omitempty"`
	Metadata      *metadata     `json:"metadata,omitempty"`
	Stream        bool          `json:"stream,omitempty"`
	Tools         []wireTool    `json:"tools,omitempty"`
	ToolChoice    *toolChoice   `json:"tool_choice,omitempty"`
}

// wireTool is Tool: a client function with its JSON Schema input.
type wireTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	Strict      bool            `json:"strict,omitempty"`
}

// toolChoice is ToolChoiceAuto, ToolChoiceAny, ToolChoiceTool or
// ToolChoiceNone.
type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// countTokensRequest is the body of POST /v1/messages/count_tokens. It takes
// no max_tokens and no sampling settings: they do not change the input.
type countTokensRequest struct {
	Model    string        `json:"model"`
	Messages []wireMessage `json:"messages"`
	System   string        `json:"system,omitempty"`
	Tools    []wireTool    `json:"tools,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

// wireMessage is one turn. Its content is sent as a plain string when it is
// a single text block, the short form Anthropic documents, else as blocks.
type wireMessage struct {
	Role   string
	Blocks []contentBlock
}

func (m wireMessage) MarshalJSON() ([]byte, error) {
	var content any = m.Blocks
	if len(m.Blocks) == 1 && m.Blocks[0].Type == "text" {
		content = m.Blocks[0].Text
	}
	return json.Marshal(struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	}{m.Role, content})
}

// contentBlock is a request block: text, image, tool_use (a call the
// assistant made, RequestToolUseBlock) or tool_result (its answer, in a
// user turn, RequestToolResultBlock).
type contentBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *imageSource    `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   *string         `json:"content,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// messageResponse is a complete Message.
type messageResponse struct {
	ID         string          `json:"id"`
	Model      string          `json:"model"`
	Content    []responseBlock `json:"content"`
	StopReason string          `json:"stop_reason"`
	Usage      wireUsage       `json:"usage"`
}

// responseBlock is a text or tool_use (ResponseToolUseBlock) block of an
// answer; other types are skipped.
type responseBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// wireUsage is Usage and MessageDeltaUsage. Pointers tell a field that is
// absent or null from a zero: a message_delta only overrides what it states.
type wireUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

// usage is the usage to bill for u.
func (u wireUsage) usage() provider.Usage {
	return billedUsage(val(u.InputTokens), val(u.CacheCreationInputTokens), val(u.CacheReadInputTokens), val(u.OutputTokens))
}

// billedUsage turns Anthropic's counts into the sdk's. Anthropic counts
// cache writes and reads apart from input_tokens ("Total input tokens in a
// request is the summation of input_tokens, cache_creation_input_tokens,
// and cache_read_input_tokens"), whereas provider.Usage.InputTokens is the
// whole prompt with the cache counts as parts of it.
//
// A cache write is priced at the model's cache_write_price, Anthropic's
// 5-minute rate; this plugin never asks for the 1-hour cache (its writes,
// usage.cache_creation.ephemeral_1h_input_tokens, cost more), so it does
// not split them out.
func billedUsage(input, cacheWrite, cacheRead, output int64) provider.Usage {
	// The schema's minimum is 0: a negative count from a server that
	// speaks Anthropic's API is not believed rather than taken off the
	// prompt.
	cacheWrite, cacheRead = max(cacheWrite, 0), max(cacheRead, 0)
	return provider.Usage{
		InputTokens:       input + cacheWrite + cacheRead,
		CachedInputTokens: cacheRead,
		CacheWriteTokens:  cacheWrite,
		OutputTokens:      output,
	}
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

type countTokensResponse struct {
	InputTokens *int64 `json:"input_tokens"`
}

// errorBody is ErrorResponse, sent with every non-2xx status and, inside a
// stream, as the data of an "error" event.
type errorBody struct {
	Type      string    `json:"type"`
	Error     wireError `json:"error"`
	RequestID string    `json:"request_id"`
}

type wireError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// streamEvent holds the fields of every MessageStreamEvent this plugin
// reads; which are set depends on Type.
type streamEvent struct {
	Type    string `json:"type"`
	Message *struct {
		ID    string    `json:"id"`
		Model string    `json:"model"`
		Usage wireUsage `json:"usage"`
	} `json:"message"`
	Index        int `json:"index"`
	ContentBlock *struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"content_block"`
	Delta *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *wireUsage `json:"usage"`
	Error *wireError `json:"error"`
}

// buildMessagesRequest translates a normalized request.
func buildMessagesRequest(req *provider.ChatRequest, defaultMax int64, stream bool) (*messagesRequest, error) {
	if req == nil || req.Model == "" {
		return nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: request has no model")
	}
	if req.MaxTokens < 0 {
		return nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: max_tokens must not be negative")
	}
	system, msgs, err := buildMessages(req.Messages)
	if err != nil {
		return nil, err
	}
	out := &messagesRequest{
		Model:         req.Model,
		MaxTokens:     req.MaxTokens,
		Messages:      msgs,
		System:        system,
		Temperature:   req.Temperature,
		TopP:          req.TopP,
		StopSequences: req.Stop,
		Stream:        stream,
	}
	if out.MaxTokens == 0 {
		out.MaxTokens = defaultMax
	}
	// metadata.user_id is Anthropic's opaque end-user id for abuse
	// detection (anthropic-openapi.json, Metadata), the job of OpenAI's
	// safety_identifier and of user, which it deprecates for that; the
	// newer field wins. OpenAI-only options (reasoning_effort, logit_bias,
	// metadata, ...) have no counterpart here and are left out.
	if id := cmp.Or(req.SafetyIdentifier, req.User); id != "" {
		out.Metadata = &metadata{UserID: id}
	}
	out.Tools = buildTools(req.Tools)
	switch req.ToolChoice {
	case provider.ToolChoiceAuto:
		out.ToolChoice = &toolChoice{Type: "auto"}
	case provider.ToolChoiceRequired:
		out.ToolChoice = &toolChoice{Type: "any"}
	case provider.ToolChoiceNone:
		out.ToolChoice = &toolChoice{Type: "none"}
	case provider.ToolChoiceFunction:
		out.ToolChoice = &toolChoice{Type: "tool", Name: req.ToolChoiceName}
	}
	if p := req.ParallelToolCalls; p != nil && !*p && len(out.Tools) > 0 {
		// Anthropic says it on the tool choice (not on "none"); auto is
		// what no choice means.
		if out.ToolChoice == nil {
			out.ToolChoice = &toolChoice{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
	return out, nil
}

func buildTools(in []provider.Tool) []wireTool {
	out := make([]wireTool, 0, len(in))
	for _, t := range in {
		schema := t.Parameters
		if len(schema) == 0 {
			// input_schema is required; a function without parameters
			// takes an empty object.
			schema = json.RawMessage(`{"type":"object"}`)
		}
		out = append(out, wireTool{Name: t.Name, Description: t.Description, InputSchema: schema, Strict: t.Strict})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// buildMessages splits system text from the turns and merges consecutive
// turns of one role, which Anthropic would reject or combine anyway.
func buildMessages(in []provider.Message) (string, []wireMessage, error) {
	var system []string
	var out []wireMessage
	for i, m := range in {
		switch m.Role {
		case provider.RoleSystem:
			// Anthropic has no system role: all system text goes into the
			// top-level system prompt, in order.
			for _, p := range m.Content {
				if p.Type != provider.PartText && p.Type != "" {
					return "", nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: message %d: system messages can hold only text", i)
				}
			}
			if t := m.Text(); t != "" {
				system = append(system, t)
			}
			continue
		case provider.RoleUser, provider.RoleAssistant:
		case provider.RoleTool:
			// A tool's answer is a tool_result block in a user turn.
			text := m.Text()
			out = appendTurn(out, "user", contentBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: &text})
			continue
		default:
			return "", nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: message %d: unknown role %q", i, m.Role)
		}
		blocks, err := buildBlocks(i, m.Content)
		if err != nil {
			return "", nil, err
		}
		for j, tc := range m.ToolCalls {
			input := json.RawMessage(strings.TrimSpace(tc.Arguments))
			if len(input) == 0 {
				input = json.RawMessage("{}")
			}
			if !json.Valid(input) || input[0] != '{' {
				return "", nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: message %d tool call %d: arguments must be a JSON object", i, j)
			}
			blocks = append(blocks, contentBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: input})
		}
		if len(blocks) == 0 {
			// Anthropic rejects empty text blocks and empty turns; an empty
			// message carries nothing, so it is dropped rather than sent.
			continue
		}
		out = appendTurn(out, string(m.Role), blocks...)
	}
	if len(out) == 0 {
		return "", nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: request has no user or assistant message")
	}
	return strings.Join(system, "\n\n"), out, nil
}

// appendTurn adds blocks as a turn of role, merged into the last turn when
// it has the same role: Anthropic wants user and assistant to alternate.
func appendTurn(out []wireMessage, role string, blocks ...contentBlock) []wireMessage {
	if n := len(out); n > 0 && out[n-1].Role == role {
		out[n-1].Blocks = append(out[n-1].Blocks, blocks...)
		return out
	}
	return append(out, wireMessage{Role: role, Blocks: blocks})
}

func buildBlocks(i int, parts []provider.ContentPart) ([]contentBlock, error) {
	blocks := make([]contentBlock, 0, len(parts))
	for j, p := range parts {
		switch p.Type {
		case provider.PartText, "":
			if p.Text != "" {
				blocks = append(blocks, contentBlock{Type: "text", Text: p.Text})
			}
		case provider.PartImage:
			src, err := imageSourceFor(p.ImageURL)
			if err != nil {
				return nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: message %d part %d: %s", i, j, err.Message)
			}
			blocks = append(blocks, contentBlock{Type: "image", Source: src})
		default:
			return nil, provider.Errorf(provider.KindInvalidRequest, "anthropic: message %d part %d: unsupported part type %q", i, j, p.Type)
		}
	}
	return blocks, nil
}

// imageSourceFor maps an image URL: a base64 data: URL is sent inline, an
// http(s) URL by reference. Errors never quote the URL: a data: URL can be
// megabytes long.
func imageSourceFor(raw string) (*imageSource, *provider.Error) {
	if rest, ok := cutPrefixFold(raw, "data:"); ok {
		meta, data, found := strings.Cut(rest, ",")
		if !found || data == "" {
			return nil, provider.Errorf(provider.KindInvalidRequest, "malformed data: URL")
		}
		mediaType, params, _ := strings.Cut(meta, ";")
		if !strings.EqualFold(params, "base64") && !strings.HasSuffix(strings.ToLower(params), ";base64") {
			return nil, provider.Errorf(provider.KindInvalidRequest, "data: URL images must be base64-encoded")
		}
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		switch mediaType {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
		default:
			return nil, provider.Errorf(provider.KindInvalidRequest, "image media type %q is not supported (want image/jpeg, image/png, image/gif or image/webp)", mediaType)
		}
		return &imageSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, provider.Errorf(provider.KindInvalidRequest, "image URL must be a data: URL or an absolute http(s) URL")
	}
	return &imageSource{Type: "url", URL: raw}, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// finishReason maps Anthropic's stop_reason to OpenAI's vocabulary.
func finishReason(stop string) provider.FinishReason {
	switch stop {
	case "":
		return ""
	case "end_turn", "stop_sequence", "pause_turn":
		return provider.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return provider.FinishLength
	case "tool_use":
		return provider.FinishToolCalls
	case "refusal":
		return provider.FinishContentFilter
	}
	// A reason added after this plugin was written still means the model
	// stopped.
	return provider.FinishStop
}

// kindForErrorType maps the error types Anthropic sends in a stream's error
// event (where there is no HTTP status to go by) to sdk kinds.
func kindForErrorType(t string) provider.Kind {
	switch t {
	case "invalid_request_error", "not_found_error", "request_too_large":
		return provider.KindInvalidRequest
	case "authentication_error", "permission_error", "billing_error":
		return provider.KindAuth
	case "rate_limit_error":
		return provider.KindRateLimited
	case "timeout_error":
		return provider.KindTimeout
	}
	// overloaded_error, api_error and anything unknown: the vendor failed.
	return provider.KindUnavailable
}
