package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

const (
	pathMessages    = "/v1/messages"
	pathCountTokens = "/v1/messages/count_tokens"

	// maxResponseBody bounds a complete (non-streamed) answer; the largest
	// Claude 3.x output is far smaller, so more means something is wrong.
	maxResponseBody = 16 << 20
	// drainLimit is how much of an unread body is discarded so that the
	// connection can be reused; past it, closing is cheaper.
	drainLimit = 4 << 10
)

// Chat answers a chat completion in one piece.
func (p *Plugin) Chat(ctx context.Context, req *provider.ChatRequest) (*provider.ChatResponse, error) {
	s, err := p.settings()
	if err != nil {
		return nil, err
	}
	const what = "anthropic messages"
	body, err := buildMessagesRequest(req, s.defaultMaxTokens, false)
	if err != nil {
		return nil, err
	}
	resp, err := s.post(ctx, pathMessages, body, "application/json", what)
	if err != nil {
		return nil, err
	}
	defer closeBody(resp)
	var m messageResponse
	if err := s.decode(ctx, resp, &m, what); err != nil {
		return nil, err
	}
	var (
		text  strings.Builder
		calls []provider.ToolCall
	)
	for _, b := range m.Content {
		// Text and tool calls are mapped; other block types (thinking)
		// have no place in a ChatResponse.
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args := string(b.Input)
			if args == "" || args == "null" {
				args = "{}"
			}
			calls = append(calls, provider.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	return &provider.ChatResponse{
		ID:           m.ID,
		Model:        m.Model,
		Content:      text.String(),
		ToolCalls:    calls,
		FinishReason: finishReason(m.StopReason),
		Usage:        m.Usage.usage(),
	}, nil
}

// CountTokens asks Anthropic's token counting endpoint how many input tokens
// req would use. It is exact for Anthropic's tokenizer, which the core's
// approximation is not.
func (p *Plugin) CountTokens(ctx context.Context, req *provider.ChatRequest) (int64, error) {
	s, err := p.settings()
	if err != nil {
		return 0, err
	}
	const what = "anthropic count_tokens"
	if req == nil || req.Model == "" {
		return 0, provider.Errorf(provider.KindInvalidRequest, "anthropic: request has no model")
	}
	system, msgs, err := buildMessages(req.Messages)
	if err != nil {
		return 0, err
	}
	resp, err := s.post(ctx, pathCountTokens, &countTokensRequest{Model: req.Model, Messages: msgs, System: system, Tools: buildTools(req.Tools)}, "application/json", what)
	if err != nil {
		return 0, err
	}
	defer closeBody(resp)
	var c countTokensResponse
	if err := s.decode(ctx, resp, &c, what); err != nil {
		return 0, err
	}
	if c.InputTokens == nil {
		return 0, provider.Errorf(provider.KindUnavailable, "%s: response has no input_tokens", what)
	}
	return *c.InputTokens, nil
}

// post sends payload as JSON to path and returns the response when its
// status is 2xx. Every other outcome is a *provider.Error without the key.
func (s *settings) post(ctx context.Context, path string, payload any, accept, what string) (*http.Response, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		// Only values JSON cannot hold (NaN temperature) get here.
		return nil, provider.Errorf(provider.KindInvalidRequest, "%s: encoding request: %v", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.baseURL+path, bytes.NewReader(b))
	if err != nil {
		return nil, provider.Errorf(provider.KindUnconfigured, "%s: building request: invalid base URL", what)
	}
	req.Header.Set("x-api-key", s.apiKey)
	req.Header.Set("anthropic-version", anthropicVersion)
	req.Header.Set("content-type", "application/json")
	req.Header.Set("accept", accept)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, s.transportError(ctx, what, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer closeBody(resp)
		return nil, s.statusError(resp, what)
	}
	return resp, nil
}

// statusError builds the error for a non-2xx answer, quoting Anthropic's
// error type, message and request id (which Anthropic support asks for).
func (s *settings) statusError(resp *http.Response, what string) *provider.Error {
	raw := vendorhttp.ReadErrorBody(resp)
	msg := fmt.Sprintf("%s: vendor answered HTTP %d", what, resp.StatusCode)
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && (eb.Error.Type != "" || eb.Error.Message != "") {
		msg = what + ": " + describeError(eb.Error)
		if eb.RequestID != "" {
			msg += " (request_id " + eb.RequestID + ")"
		}
	}
	return vendorhttp.StatusError(resp, s.redact(msg), s.now())
}

func describeError(e wireError) string {
	switch {
	case e.Type == "":
		return e.Message
	case e.Message == "":
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// transportError classifies a failed send or read; see
// vendorhttp.TransportError.
func (s *settings) transportError(ctx context.Context, what string, err error) *provider.Error {
	pe := vendorhttp.TransportError(ctx, what, err)
	pe.Message = s.redact(pe.Message)
	return pe
}

// decode reads a complete JSON answer into v.
func (s *settings) decode(ctx context.Context, resp *http.Response, v any, what string) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return s.transportError(ctx, "reading "+what+" response", err)
	}
	if len(b) > maxResponseBody {
		return provider.Errorf(provider.KindUnavailable, "%s: response larger than %d bytes", what, maxResponseBody)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return provider.Errorf(provider.KindUnavailable, "%s: decoding response: %s", what, s.redact(err.Error()))
	}
	return nil
}

// closeBody discards a little of what is left so the connection can be
// reused, then closes the body.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
}
