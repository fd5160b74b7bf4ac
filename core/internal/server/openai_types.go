package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// chatRequest is OpenAI's chat completion request, the fields OneFlow
// honours; unknown fields are ignored as OpenAI's own API does, except the
// ones in unsupported, which change what the answer must hold.
type chatRequest struct {
	Model               string        `json:"model"`
	Messages            []chatMessage `json:"messages"`
	Temperature         *float64      `json:"temperature,omitempty"`
	TopP                *float64      `json:"top_p,omitempty"`
	MaxTokens           *int64        `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int64        `json:"max_completion_tokens,omitempty"`
	Stop                stopList      `json:"stop,omitempty"`
	User                string        `json:"user,omitempty"`
	Stream              bool          `json:"stream,omitempty"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options,omitempty"`
	N                *int     `json:"n,omitempty"`
	Seed             *int64   `json:"seed,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`

	Tools             []chatTool      `json:"tools,omitempty"`
	ToolChoice        *toolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat    json.RawMessage `json:"response_format,omitempty"`

	// Options OpenAI-style vendors take as they are (see validateOptions).
	ReasoningEffort  string            `json:"reasoning_effort,omitempty"`
	Verbosity        string            `json:"verbosity,omitempty"`
	LogitBias        map[string]int64  `json:"logit_bias,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	Store            *bool             `json:"store,omitempty"`
	SafetyIdentifier string            `json:"safety_identifier,omitempty"`
	PromptCacheKey   string            `json:"prompt_cache_key,omitempty"`

	// Features OneFlow cannot carry. Dropping them would answer a
	// different question than the one asked (log probabilities or audio
	// left out), so a request using them is refused instead.
	Functions    json.RawMessage `json:"functions,omitempty"`
	FunctionCall json.RawMessage `json:"function_call,omitempty"`
	Logprobs     *bool           `json:"logprobs,omitempty"`
	TopLogprobs  json.RawMessage `json:"top_logprobs,omitempty"`
	Modalities   []string        `json:"modalities,omitempty"`
	Audio        json.RawMessage `json:"audio,omitempty"`

	// format is ResponseFormat as the plugin gets it (nil for text), set
	// by validate so the body is parsed once.
	format json.RawMessage
}

// unsupported names the first feature in r that OneFlow cannot carry, with
// why; "" when there is none. Values that ask for nothing (an empty
// functions list, function_call "none", logprobs false) pass.
func (r *chatRequest) unsupported() (param, why string) {
	set := func(raw json.RawMessage) bool {
		v := string(bytes.TrimSpace(raw))
		return v != "" && v != "null" && v != "[]"
	}
	switch {
	case set(r.Functions):
		return "functions", "the deprecated functions parameter is not supported; send tools instead"
	case set(r.FunctionCall) && string(bytes.TrimSpace(r.FunctionCall)) != `"none"`:
		return "function_call", "the deprecated function_call parameter is not supported; send tool_choice instead"
	case r.Logprobs != nil && *r.Logprobs, set(r.TopLogprobs):
		return "logprobs", "logprobs are not supported by OneFlow"
	case set(r.Audio) || slices.Contains(r.Modalities, "audio"):
		return "modalities", "audio output from chat completions is not supported by OneFlow; use /v1/audio/speech"
	}
	return "", ""
}

type chatMessage struct {
	Role       string         `json:"role"`
	Content    chatContent    `json:"content"`
	Name       string         `json:"name,omitempty"`
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

// chatTool is one entry of a request's tools; only functions exist.
type chatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	} `json:"function"`
}

// chatToolCall is a function call in an assistant message, in a request's
// history or in an answer.
type chatToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function chatFunctionCall `json:"function"`
}

type chatFunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// chatToolCallDelta is a streamed piece of the index-th tool call.
type chatToolCallDelta struct {
	Index    int    `json:"index"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// toolChoice is "auto", "none", "required" or
// {"type": "function", "function": {"name": ...}}.
type toolChoice struct {
	mode, name string
}

func (t *toolChoice) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &t.mode); err != nil {
			return err
		}
		switch t.mode {
		case provider.ToolChoiceAuto, provider.ToolChoiceNone, provider.ToolChoiceRequired:
			return nil
		}
		return fmt.Errorf("tool_choice %q is not one of auto, none, required", t.mode)
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &obj); err != nil || obj.Type != "function" || obj.Function.Name == "" {
		return errors.New(`tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}`)
	}
	t.mode, t.name = provider.ToolChoiceFunction, obj.Function.Name
	return nil
}

// chatContent is a string or an array of content parts.
type chatContent struct {
	Parts []provider.ContentPart
}

func (c *chatContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		c.Parts = []provider.ContentPart{{Type: provider.PartText, Text: s}}
		return nil
	}
	var parts []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL *struct {
			URL string `json:"url"`
		} `json:"image_url"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return errors.New("content must be a string or an array of content parts")
	}
	for i, p := range parts {
		switch p.Type {
		case "text":
			c.Parts = append(c.Parts, provider.ContentPart{Type: provider.PartText, Text: p.Text})
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return fmt.Errorf("content part %d: image_url.url is required", i)
			}
			c.Parts = append(c.Parts, provider.ContentPart{Type: provider.PartImage, ImageURL: p.ImageURL.URL})
		default:
			return fmt.Errorf("content part %d: unsupported type %q", i, p.Type)
		}
	}
	return nil
}

// stopList is a string or an array of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// responseFormat returns response_format for the plugin: nil for text (or
// none), else the object as sent, once its type is known.
func (r *chatRequest) responseFormat() (json.RawMessage, error) {
	raw := bytes.TrimSpace(r.ResponseFormat)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var rf struct {
		Type       string          `json:"type"`
		JSONSchema json.RawMessage `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &rf); err != nil {
		return nil, errors.New(`response_format must be an object such as {"type": "json_object"}`)
	}
	switch rf.Type {
	case "text":
		return nil, nil
	case "json_object":
	case "json_schema":
		if s := bytes.TrimSpace(rf.JSONSchema); len(s) == 0 || s[0] != '{' {
			return nil, errors.New(`response_format of type json_schema needs a json_schema object`)
		}
	default:
		return nil, fmt.Errorf("response_format.type %q is not one of text, json_object, json_schema", rf.Type)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, err
	}
	return compact.Bytes(), nil
}

// validToolName is OpenAI's rule for function names.
func validToolName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// validate checks what the gateway needs and returns the offending param.
func (r *chatRequest) validate() (string, error) {
	if r.Model == "" {
		return "model", errors.New("model is required (a model id or a routing alias such as \"auto\")")
	}
	if len(r.Messages) == 0 {
		return "messages", errors.New("messages must contain at least one message")
	}
	calls := map[string]bool{} // tool call ids made so far in the history
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return fmt.Sprintf("messages[%d].role", i), fmt.Errorf("messages[%d].role %q is not one of system, developer, user, assistant, tool", i, m.Role)
		}
		if m.Role == "tool" && m.ToolCallID == "" {
			return fmt.Sprintf("messages[%d].tool_call_id", i), fmt.Errorf("messages[%d] has role tool but no tool_call_id", i)
		}
		if m.Role == "tool" && !calls[m.ToolCallID] {
			// OpenAI refuses it too; Anthropic would get a result for no call.
			return fmt.Sprintf("messages[%d].tool_call_id", i), fmt.Errorf("messages[%d] answers tool call %q, which no earlier assistant message made", i, m.ToolCallID)
		}
		if len(m.ToolCalls) > 0 && m.Role != "assistant" {
			return fmt.Sprintf("messages[%d].tool_calls", i), fmt.Errorf("messages[%d]: only assistant messages carry tool_calls", i)
		}
		for j, tc := range m.ToolCalls {
			if tc.ID == "" || tc.Function.Name == "" {
				return fmt.Sprintf("messages[%d].tool_calls[%d]", i, j), fmt.Errorf("messages[%d].tool_calls[%d] needs an id and a function name", i, j)
			}
			calls[tc.ID] = true
		}
	}
	names := map[string]bool{}
	for i, t := range r.Tools {
		if t.Type != "function" {
			return fmt.Sprintf("tools[%d].type", i), fmt.Errorf("tools[%d].type %q is not supported; only function tools are", i, t.Type)
		}
		if !validToolName(t.Function.Name) {
			return fmt.Sprintf("tools[%d].function.name", i), fmt.Errorf("tools[%d].function.name must be 1-64 letters, digits, underscores or dashes", i)
		}
		if names[t.Function.Name] {
			return fmt.Sprintf("tools[%d].function.name", i), fmt.Errorf("tools[%d]: another tool is already named %q", i, t.Function.Name)
		}
		names[t.Function.Name] = true
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && p[0] != '{' && !bytes.Equal(p, []byte("null")) {
			return fmt.Sprintf("tools[%d].function.parameters", i), fmt.Errorf("tools[%d].function.parameters must be a JSON Schema object", i)
		}
	}
	var err error
	if r.format, err = r.responseFormat(); err != nil {
		return "response_format", err
	}
	if tc := r.ToolChoice; tc != nil {
		switch {
		case len(r.Tools) == 0 && tc.mode != provider.ToolChoiceNone && tc.mode != provider.ToolChoiceAuto:
			return "tool_choice", errors.New("tool_choice needs tools")
		case tc.mode == provider.ToolChoiceFunction && !slices.ContainsFunc(r.Tools, func(t chatTool) bool { return t.Function.Name == tc.name }):
			return "tool_choice", fmt.Errorf("tool_choice names %q, which is not among the tools", tc.name)
		}
	}
	if r.N != nil && *r.N != 1 {
		return "n", errors.New("only n=1 is supported")
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return "temperature", errors.New("temperature must be between 0 and 2")
	}
	if r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1) {
		return "top_p", errors.New("top_p must be between 0 and 1")
	}
	if r.MaxTokens != nil && *r.MaxTokens < 1 {
		return "max_tokens", errors.New("max_tokens must be at least 1")
	}
	if r.MaxCompletionTokens != nil && *r.MaxCompletionTokens < 1 {
		return "max_completion_tokens", errors.New("max_completion_tokens must be at least 1")
	}
	if len(r.Stop) > 4 {
		return "stop", errors.New("at most 4 stop sequences are allowed")
	}
	if r.PresencePenalty != nil && (*r.PresencePenalty < -2 || *r.PresencePenalty > 2) {
		return "presence_penalty", errors.New("presence_penalty must be between -2 and 2")
	}
	if r.FrequencyPenalty != nil && (*r.FrequencyPenalty < -2 || *r.FrequencyPenalty > 2) {
		return "frequency_penalty", errors.New("frequency_penalty must be between -2 and 2")
	}
	return r.validateOptions()
}

// Values and bounds from openai-openapi.yaml (ReasoningEffort, Verbosity,
// Metadata, CreateChatCompletionRequest.logit_bias, safety_identifier).
var (
	reasoningEfforts = []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}
	verbosities      = []string{"low", "medium", "high"}
)

const (
	// Lengths are in characters, as OpenAI counts them.
	maxMetadataPairs       = 16
	maxMetadataKey         = 64
	maxMetadataValue       = 512
	maxSafetyIdentifierLen = 64
)

// validateOptions checks the options passed to OpenAI-style vendors as
// they are, so a mistake is a 400 naming the field here rather than a
// vendor error after credits were held.
func (r *chatRequest) validateOptions() (string, error) {
	if r.ReasoningEffort != "" && !slices.Contains(reasoningEfforts, r.ReasoningEffort) {
		return "reasoning_effort", fmt.Errorf("reasoning_effort %q is not one of %s", r.ReasoningEffort, strings.Join(reasoningEfforts, ", "))
	}
	if r.Verbosity != "" && !slices.Contains(verbosities, r.Verbosity) {
		return "verbosity", fmt.Errorf("verbosity %q is not one of %s", r.Verbosity, strings.Join(verbosities, ", "))
	}
	for tok, bias := range r.LogitBias {
		if _, err := strconv.ParseUint(tok, 10, 32); err != nil {
			return "logit_bias", fmt.Errorf("logit_bias key %q is not a token id", tok)
		}
		if bias < -100 || bias > 100 {
			return "logit_bias", fmt.Errorf("logit_bias for token %s must be between -100 and 100", tok)
		}
	}
	if len(r.Metadata) > maxMetadataPairs {
		return "metadata", fmt.Errorf("metadata holds at most %d pairs", maxMetadataPairs)
	}
	for k, v := range r.Metadata {
		if utf8.RuneCountInString(k) > maxMetadataKey || utf8.RuneCountInString(v) > maxMetadataValue {
			return "metadata", fmt.Errorf("metadata keys are at most %d characters and values at most %d", maxMetadataKey, maxMetadataValue)
		}
	}
	if utf8.RuneCountInString(r.SafetyIdentifier) > maxSafetyIdentifierLen {
		return "safety_identifier", fmt.Errorf("safety_identifier is at most %d characters", maxSafetyIdentifierLen)
	}
	return "", nil
}

func (r *chatRequest) maxTokens() int64 {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		return *r.MaxTokens
	}
	return 0
}

func (r *chatRequest) toProvider() *provider.ChatRequest {
	msgs := make([]provider.Message, len(r.Messages))
	for i, m := range r.Messages {
		role := provider.Role(m.Role)
		if role == "developer" {
			role = provider.RoleSystem
		}
		msgs[i] = provider.Message{Role: role, Content: m.Content.Parts, Name: m.Name, ToolCallID: m.ToolCallID}
		for _, tc := range m.ToolCalls {
			msgs[i].ToolCalls = append(msgs[i].ToolCalls, provider.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	}
	var tools []provider.Tool
	for _, t := range r.Tools {
		p := t.Function.Parameters
		if bytes.Equal(bytes.TrimSpace(p), []byte("null")) {
			p = nil
		}
		tools = append(tools, provider.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: p,
			Strict: t.Function.Strict != nil && *t.Function.Strict})
	}
	var choice, choiceName string
	if r.ToolChoice != nil {
		choice, choiceName = r.ToolChoice.mode, r.ToolChoice.name
	}
	return &provider.ChatRequest{
		Model: r.Model, Messages: msgs, Temperature: r.Temperature, TopP: r.TopP,
		MaxTokens: r.maxTokens(), MaxCompletionTokens: r.MaxCompletionTokens != nil, Stop: r.Stop, User: r.User,
		Seed: r.Seed, PresencePenalty: r.PresencePenalty, FrequencyPenalty: r.FrequencyPenalty,
		Tools: tools, ToolChoice: choice, ToolChoiceName: choiceName,
		ResponseFormat: r.format, ParallelToolCalls: r.ParallelToolCalls,
		ReasoningEffort: r.ReasoningEffort, Verbosity: r.Verbosity, LogitBias: r.LogitBias, Metadata: r.Metadata,
		Store: r.Store, SafetyIdentifier: r.SafetyIdentifier, PromptCacheKey: r.PromptCacheKey,
	}
}

// chatCompletion is OpenAI's non-streaming response.
type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage,omitempty"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      *choiceMessage `json:"message,omitempty"`
	Delta        *choiceDelta   `json:"delta,omitempty"`
	FinishReason *string        `json:"finish_reason"`
	Logprobs     *struct{}      `json:"logprobs"`
}

type choiceMessage struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content"` // null when the answer only calls tools
	Refusal   *string        `json:"refusal,omitempty"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

// choiceDelta is what one stream chunk adds to the answer.
type choiceDelta struct {
	Role      string              `json:"role,omitempty"`
	Content   *string             `json:"content,omitempty"`
	ToolCalls []chatToolCallDelta `json:"tool_calls,omitempty"`
}

type chatUsage struct {
	PromptTokens        int64               `json:"prompt_tokens"`
	CompletionTokens    int64               `json:"completion_tokens"`
	TotalTokens         int64               `json:"total_tokens"`
	PromptTokensDetails promptTokensDetails `json:"prompt_tokens_details"`
	// Credits is OneFlow's addition: what the call cost, exact decimal.
	Credits string `json:"credits,omitempty"`
}

// promptTokensDetails is CompletionUsage.prompt_tokens_details, the part of
// prompt_tokens the vendor read from or wrote to its prompt cache, which
// clients use to see why a call cost what it did. OpenAI sends it on every
// answer, zeros included, and so does OneFlow, whichever vendor answered.
type promptTokensDetails struct {
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
}
