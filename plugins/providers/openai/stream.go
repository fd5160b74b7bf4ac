package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/oneflow-ai/oneflow/sdk/provider"
	"github.com/oneflow-ai/oneflow/sdk/vendorhttp"
)

// streamChunk is one CreateChatCompletionStreamResponse (openai-openapi.yaml).
// With stream_options.include_usage the last chunk before [DONE] has an
// empty choices array and usage set; every other chunk has usage null.
type streamChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role      string              `json:"role"`
			Content   string              `json:"content"`
			ToolCalls []wireToolCallChunk `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// doneMarker ends an OpenAI stream.
const doneMarker = "[DONE]"

// streamer turns the vendor's SSE stream into provider chunks and keeps
// what is needed to report usage however the stream ends.
type streamer struct {
	send        func(*provider.ChatChunk) error
	promptChars int

	id, model string
	role      provider.Role
	sentFirst bool
	finish    provider.FinishReason
	// outChars counts the characters of the deltas relayed to the caller:
	// what an estimate bills when the vendor's count never arrives.
	outChars int
	// usage is the vendor's own count, once its usage chunk arrived.
	usage *provider.Usage
}

func newStreamer(req *provider.ChatRequest, send func(*provider.ChatChunk) error) *streamer {
	return &streamer{send: send, promptChars: promptChars(req.Messages), model: req.Model}
}

// consumed is the usage to bill now: the vendor's count when it arrived,
// else an estimate from the prompt and the relayed text.
func (st *streamer) consumed() provider.Usage {
	if st.usage != nil {
		return *st.usage
	}
	return provider.Usage{
		InputTokens:  estimateTokens(st.promptChars),
		OutputTokens: estimateTokens(st.outChars),
		Estimated:    true,
	}
}

// fail returns err as a *provider.Error carrying the usage consumed so far.
func (st *streamer) fail(err error) error {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		pe = &provider.Error{Kind: provider.KindOf(err), Message: err.Error()}
	}
	cp := *pe
	u := st.consumed()
	cp.Partial = &u
	return &cp
}

// emit relays one chunk, putting the role on the first one.
func (st *streamer) emit(ctx context.Context, ch *provider.ChatChunk) error {
	if !st.sentFirst {
		ch.Role = st.role
		if ch.Role == "" {
			ch.Role = provider.RoleAssistant
		}
	}
	if err := st.send(ch); err != nil {
		return st.fail(st.sendError(ctx, err))
	}
	st.sentFirst = true
	st.outChars += utf8.RuneCountInString(ch.Delta)
	for _, tc := range ch.ToolCalls {
		st.outChars += utf8.RuneCountInString(tc.Name) + utf8.RuneCountInString(tc.Arguments)
	}
	if ch.FinishReason != "" {
		st.finish = ch.FinishReason
	}
	return nil
}

// sendError classifies a failure to relay a chunk: the caller went away
// (its context ended) or the link to the core broke.
func (st *streamer) sendError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return vendorhttp.TransportError(ctx, "relay chat chunk", ctx.Err())
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return pe
	}
	return provider.Errorf(provider.KindCanceled, "relay chat chunk: %v", err)
}

// finishStream sends the one final chunk, which carries usage and repeats
// the finish reason so that a reader of the last chunk alone has both.
func (st *streamer) finishStream(ctx context.Context) error {
	u := st.consumed()
	ch := &provider.ChatChunk{ID: st.id, Model: st.model, FinishReason: st.finish, Usage: &u}
	if !st.sentFirst {
		ch.Role = provider.RoleAssistant
	}
	if err := st.send(ch); err != nil {
		return st.fail(st.sendError(ctx, err))
	}
	return nil
}

// run relays an SSE body until [DONE]. It returns nil after sending the
// final usage chunk, or a *provider.Error with Partial usage.
func (st *streamer) run(ctx context.Context, body io.Reader) error {
	const what = "read chat stream"
	r := vendorhttp.NewSSEReader(body)
	done := false
	for !done {
		// Bytes already buffered would still parse after a cancel; stop
		// relaying as soon as the caller is gone.
		if ctx.Err() != nil {
			return st.fail(vendorhttp.TransportError(ctx, what, ctx.Err()))
		}
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if st.usage != nil && ctx.Err() == nil {
				// Only [DONE] was lost; the answer is complete.
				break
			}
			return st.fail(vendorhttp.TransportError(ctx, what, err))
		}
		data := bytes.TrimSpace(ev.Data)
		switch {
		case len(data) == 0:
			continue
		case string(data) == doneMarker:
			done = true
			continue
		}
		if err := st.handle(ctx, data); err != nil {
			return err
		}
	}
	if !done && st.usage == nil && st.finish == "" {
		// A clean EOF with nothing that marks the end: the server (or a
		// proxy) closed the response early.
		return st.fail(provider.Errorf(provider.KindUnavailable, "%s: stream ended before the answer was complete", what))
	}
	return st.finishStream(ctx)
}

// handle processes one data payload.
func (st *streamer) handle(ctx context.Context, data []byte) error {
	var c streamChunk
	if err := json.Unmarshal(data, &c); err != nil {
		return st.fail(provider.Errorf(provider.KindUnavailable, "read chat stream: decode chunk: %v", err))
	}
	if hasValue(c.Error) {
		ae := parseErrorValue(c.Error)
		return st.fail(&provider.Error{Kind: ae.kind(), Message: "read chat stream: vendor error: " + ae.Message})
	}
	if c.ID != "" {
		st.id = c.ID
	}
	if c.Model != "" {
		st.model = c.Model
	}
	if c.Usage != nil {
		// Servers that report usage on every chunk send running totals,
		// so the last one wins.
		u := c.Usage.usage()
		st.usage = &u
	}
	for _, choice := range c.Choices {
		// OneFlow never asks for n > 1; ignore other choices rather than
		// interleave them.
		if choice.Index != 0 {
			continue
		}
		if choice.Delta.Role != "" && st.role == "" {
			st.role = provider.Role(choice.Delta.Role)
		}
		firstRole := !st.sentFirst && choice.Delta.Role != ""
		if choice.Delta.Content == "" && choice.FinishReason == "" && !firstRole && len(choice.Delta.ToolCalls) == 0 {
			// Keep-alives: nothing to relay.
			continue
		}
		ch := &provider.ChatChunk{
			ID:           st.id,
			Model:        st.model,
			Delta:        choice.Delta.Content,
			FinishReason: provider.FinishReason(choice.FinishReason),
		}
		for _, tc := range choice.Delta.ToolCalls {
			ch.ToolCalls = append(ch.ToolCalls, provider.ToolCallDelta{Index: tc.Index, ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		if err := st.emit(ctx, ch); err != nil {
			return err
		}
	}
	return nil
}

// whole relays a complete answer (from a server that did not stream) as
// one content chunk and the final usage chunk.
func (st *streamer) whole(ctx context.Context, r *provider.ChatResponse) error {
	st.id, st.model = r.ID, r.Model
	ch := &provider.ChatChunk{ID: r.ID, Model: r.Model, Delta: r.Content, FinishReason: r.FinishReason}
	for i, tc := range r.ToolCalls {
		ch.ToolCalls = append(ch.ToolCalls, provider.ToolCallDelta{Index: i, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	if err := st.emit(ctx, ch); err != nil {
		return err
	}
	u := r.Usage
	st.usage = &u
	return st.finishStream(ctx)
}
