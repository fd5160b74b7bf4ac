package main

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// chatRequest is the subset of CreateChatCompletionRequest
// (openai-openapi.yaml) that OneFlow normalizes. Optional fields are
// omitted when unset so that compatible servers that reject unknown or
// null fields accept the body.
type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	Temperature *float64      `json:"temperature,omitempty"`
	TopP        *float64      `json:"top_p,omitempty"`
	MaxTokens   int64         `json:"max_tokens,omitempty"`
	// MaxCompletionTokens carries the bound when the caller named it so.
	MaxCompletionTokens int64           `json:"max_completion_tokens,omitempty"`
	Stop                []string        `json:"stop,omitempty"`
	User                string          `json:"user,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	Tools               []wireTool      `json:"tools,omitempty"`
	ToolChoice          any             `json:"tool_choice,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
	// ParallelToolCalls is sent only with tools: OpenAI refuses it alone.
	ParallelToolCalls *bool             `json:"parallel_tool_calls,omitempty"`
	ReasoningEffort   string            `json:"reasoning_effort,omitempty"`
	Verbosity         string            `json:"verbosity,omitempty"`
	LogitBias         map[string]int64  `json:"logit_bias,omitempty"`
	Metadata          map[string]string `json:"metadata,omitempty"`
	Store             *bool             `json:"store,omitempty"`
	SafetyIdentifier  string            `json:"safety_identifier,omitempty"`
	PromptCacheKey    string            `json:"prompt_cache_key,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role       string         `json:"role"`
	Content    messageContent `json:"content"`
	Name       string         `json:"name,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

// wireTool is ChatCompletionTool (openai-openapi.yaml): a function and its
// JSON Schema parameters.
type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      bool            `json:"strict,omitempty"`
	} `json:"function"`
}

// wireToolCall is ChatCompletionMessageToolCall.
type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// wireToolCallChunk is ChatCompletionMessageToolCallChunk, a streamed
// fragment of one call.
type wireToolCallChunk struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func toWireToolCalls(cs []provider.ToolCall) []wireToolCall {
	out := make([]wireToolCall, len(cs))
	for i, c := range cs {
		out[i] = wireToolCall{ID: c.ID, Type: "function"}
		out[i].Function.Name, out[i].Function.Arguments = c.Name, c.Arguments
	}
	return out
}

func fromWireToolCalls(cs []wireToolCall) []provider.ToolCall {
	if len(cs) == 0 {
		return nil
	}
	out := make([]provider.ToolCall, len(cs))
	for i, c := range cs {
		out[i] = provider.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments}
	}
	return out
}

// toolChoiceValue is ChatCompletionToolChoiceOption: a mode string, or the
// named function object.
func toolChoiceValue(req *provider.ChatRequest) any {
	switch req.ToolChoice {
	case "":
		return nil
	case provider.ToolChoiceFunction:
		return map[string]any{"type": "function", "function": map[string]string{"name": req.ToolChoiceName}}
	}
	return req.ToolChoice
}

// messageContent encodes as a plain string when the message is one text
// part, the form every compatible server accepts, and as an array of parts
// otherwise (vision input).
type messageContent struct {
	parts []provider.ContentPart
	null  bool // an assistant message that only calls tools
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

func (c messageContent) MarshalJSON() ([]byte, error) {
	switch {
	case c.null:
		return []byte("null"), nil
	case len(c.parts) == 0:
		return json.Marshal("")
	case len(c.parts) == 1 && c.parts[0].Type != provider.PartImage:
		return json.Marshal(c.parts[0].Text)
	}
	out := make([]contentPart, 0, len(c.parts))
	for _, p := range c.parts {
		if p.Type == provider.PartImage {
			out = append(out, contentPart{Type: "image_url", ImageURL: &imageURL{URL: p.ImageURL}})
			continue
		}
		out = append(out, contentPart{Type: "text", Text: p.Text})
	}
	return json.Marshal(out)
}

func newChatRequest(req *provider.ChatRequest, stream bool) *chatRequest {
	msgs := make([]chatMessage, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = chatMessage{Role: string(m.Role), Content: messageContent{parts: m.Content}, Name: m.Name, ToolCallID: m.ToolCallID}
		if len(m.ToolCalls) > 0 {
			msgs[i].ToolCalls = toWireToolCalls(m.ToolCalls)
			if len(m.Content) == 0 {
				// ChatCompletionRequestAssistantMessage: content may be
				// null when tool_calls is given.
				msgs[i].Content.null = true
			}
		}
	}
	cr := &chatRequest{
		Model:            req.Model,
		Messages:         msgs,
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		MaxTokens:        req.MaxTokens,
		Stop:             req.Stop,
		User:             req.User,
		Seed:             req.Seed,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
		ToolChoice:       toolChoiceValue(req),
		ResponseFormat:   req.ResponseFormat,
		ReasoningEffort:  req.ReasoningEffort,
		Verbosity:        req.Verbosity,
		LogitBias:        req.LogitBias,
		Metadata:         req.Metadata,
		Store:            req.Store,
		SafetyIdentifier: req.SafetyIdentifier,
		PromptCacheKey:   req.PromptCacheKey,
	}
	if req.MaxCompletionTokens {
		cr.MaxTokens, cr.MaxCompletionTokens = 0, req.MaxTokens
	}
	if len(req.Tools) > 0 {
		cr.ParallelToolCalls = req.ParallelToolCalls
	}
	for _, t := range req.Tools {
		wt := wireTool{Type: "function"}
		wt.Function.Name, wt.Function.Description, wt.Function.Parameters, wt.Function.Strict = t.Name, t.Description, t.Parameters, t.Strict
		cr.Tools = append(cr.Tools, wt)
	}
	if stream {
		cr.Stream = true
		// Always ask for the usage chunk: it is what the core bills from.
		cr.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	return cr
}

// chatResponse is the part of CreateChatCompletionResponse the plugin
// reads. Usage is a pointer because compatible servers may leave it out.
type chatResponse struct {
	vendorEnvelope
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content   *string        `json:"content"`
			ToolCalls []wireToolCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
}

// wireUsage is CompletionUsage.
type wireUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		// CachedTokens is the part of PromptTokens served from
		// OpenAI's prompt cache, which it bills at the cached-input
		// price. Its sibling cache_write_tokens is not read: OpenAI
		// publishes no separate cache-write price for its chat models,
		// so those tokens stay plain input, which reporting none does.
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// usage is the vendor's count. A compatible server that claims more
// cached tokens than prompt tokens (or fewer than none) has reported
// something OpenAI cannot, and its cache count is dropped rather than
// passed on as a split that does not add up.
func (u *wireUsage) usage() provider.Usage {
	out := provider.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil && d.CachedTokens > 0 && d.CachedTokens <= u.PromptTokens {
		out.CachedInputTokens = d.CachedTokens
	}
	return out
}

// Chat answers a chat completion in one piece.
func (p *Plugin) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	s, err := p.ready()
	if err != nil {
		return nil, err
	}
	resp, err := s.chat(ctx, req)
	return resp, s.scrub(err)
}

func (s *settings) chat(ctx context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	const what = "create chat completion"
	resp, err := s.post(ctx, what, "/chat/completions", newChatRequest(req, false), "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var cr chatResponse
	if err := decodeJSON(ctx, what, resp, &cr); err != nil {
		return nil, err
	}
	return cr.toProvider(req), nil
}

func (cr *chatResponse) toProvider(req *provider.ChatRequest) *provider.ChatResponse {
	out := &provider.ChatResponse{ID: cr.ID, Model: cr.Model}
	if out.Model == "" {
		out.Model = req.Model
	}
	if len(cr.Choices) > 0 {
		c := cr.Choices[0]
		if c.Message.Content != nil {
			out.Content = *c.Message.Content
		}
		out.ToolCalls = fromWireToolCalls(c.Message.ToolCalls)
		out.FinishReason = provider.FinishReason(c.FinishReason)
	}
	outChars := utf8.RuneCountInString(out.Content)
	for _, tc := range out.ToolCalls {
		outChars += utf8.RuneCountInString(tc.Name) + utf8.RuneCountInString(tc.Arguments)
	}
	out.Usage = chatUsage(cr.Usage, req, outChars)
	return out
}

// chatUsage returns the vendor's usage, or an estimate when it sent none.
// An all-zero usage for a non-empty exchange counts as none: some
// compatible servers send the object without filling it in.
func chatUsage(u *wireUsage, req *provider.ChatRequest, outChars int) provider.Usage {
	in := promptChars(req.Messages)
	if u != nil && (u.PromptTokens != 0 || u.CompletionTokens != 0 || (in == 0 && outChars == 0)) {
		return u.usage()
	}
	return provider.Usage{
		InputTokens:  estimateTokens(in),
		OutputTokens: estimateTokens(outChars),
		Estimated:    true,
	}
}

// ChatStream answers a chat completion as a stream of chunks, the last of
// which carries Usage. If the stream fails after it started (the vendor
// dropped the connection, the caller cancelled), the returned
// *provider.Error carries in Partial the usage consumed so far.
func (p *Plugin) ChatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	s, err := p.ready()
	if err != nil {
		return err
	}
	return s.scrub(s.chatStream(ctx, req, send))
}

func (s *settings) chatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	const what = "stream chat completion"
	resp, err := s.post(ctx, what, "/chat/completions", newChatRequest(req, true), "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	st := newStreamer(req, send)
	if isJSON(resp.Header) {
		// A server that ignores "stream": true answers in one piece;
		// relay it as a one-chunk stream rather than fail.
		var cr chatResponse
		if err := decodeJSON(ctx, what, resp, &cr); err != nil {
			return st.fail(err)
		}
		return st.whole(ctx, cr.toProvider(req))
	}
	return st.run(ctx, resp.Body)
}

func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/json"
}
