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

// ChatStream answers a chat completion as chunks: one per text delta, then
// one final chunk with the vendor's usage and finish reason. When the
// stream fails or ctx ends first, the returned *provider.Error carries the
// usage consumed so far in Partial.
func (p *Plugin) ChatStream(ctx context.Context, req *provider.ChatRequest, send func(*provider.ChatChunk) error) error {
	s, err := p.settings()
	if err != nil {
		return err
	}
	const what = "anthropic messages stream"
	body, err := buildMessagesRequest(req, s.defaultMaxTokens, true)
	if err != nil {
		return err
	}
	resp, err := s.post(ctx, pathMessages, body, "text/event-stream", what)
	if err != nil {
		return err
	}
	// Closed without draining: on an early return the rest of the stream is
	// unwanted, and closing it is what tells Anthropic to stop generating.
	// Over HTTP/2, which api.anthropic.com speaks, that resets only this
	// stream and the connection stays pooled.
	defer resp.Body.Close()
	return relayStream(ctx, resp.Body, send, what, s.redact)
}

// relay is the state of one stream being relayed.
type relay struct {
	ctx    context.Context
	send   func(*provider.ChatChunk) error
	what   string
	redact func(string) string

	id, model string
	started   bool // message_start seen
	// The usage Anthropic reported so far. Each message_delta restates
	// cumulative counts, so the latest value of each field wins.
	input, cacheCreation, cacheRead, output int64
	// text counts the characters of text received, the basis of the
	// estimate when the stream ends before Anthropic's final count.
	text   int64
	finish provider.FinishReason
	// stopped is true once a message_delta has given the stop reason:
	// the answer and its usage are then complete.
	stopped bool
	sent    bool // a chunk has been sent
	// tools maps a tool_use block's index in the message to its index
	// among the answer's tool calls.
	tools map[int]int
	// withArgs marks the tool calls (by answer index) whose input has
	// sent a fragment.
	withArgs map[int]bool
}

// relayStream reads Anthropic's server-sent events from body and relays
// them to send. It returns nil after the final chunk has been sent.
func relayStream(ctx context.Context, body io.Reader, send func(*provider.ChatChunk) error, what string, redact func(string) string) error {
	r := &relay{ctx: ctx, send: send, what: what, redact: redact}
	events := vendorhttp.NewSSEReader(body)
	for {
		// Checked first because events may still be buffered after ctx
		// ended; relaying them would outlive the caller.
		if err := ctx.Err(); err != nil {
			return r.fail(vendorhttp.TransportError(ctx, what, err))
		}
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			if r.stopped {
				// message_stop was lost, but message_delta already gave
				// the stop reason and final usage: the answer is whole.
				return r.complete()
			}
			return r.fail(provider.Errorf(provider.KindUnavailable, "%s: stream ended before message_stop", what))
		}
		if err != nil {
			return r.fail(vendorhttp.TransportError(ctx, what, err))
		}
		done, err := r.handle(ev)
		if err != nil || done {
			return err
		}
	}
}

// handle processes one event; done is true once the stream is complete.
func (r *relay) handle(ev vendorhttp.Event) (done bool, err error) {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return false, nil
	}
	var se streamEvent
	if err := json.Unmarshal(data, &se); err != nil {
		return false, r.fail(provider.Errorf(provider.KindUnavailable, "%s: malformed %q event: %s", r.what, ev.Name, r.redact(err.Error())))
	}
	typ := se.Type
	if typ == "" {
		typ = ev.Name
	}
	switch typ {
	case "message_start":
		if se.Message != nil {
			r.started = true
			r.id, r.model = se.Message.ID, se.Message.Model
			r.addUsage(se.Message.Usage)
		}
	case "content_block_start":
		// A tool_use block opens a call: its id and name go out at once,
		// its input follows as input_json_delta fragments.
		if b := se.ContentBlock; b != nil && b.Type == "tool_use" {
			if r.tools == nil {
				r.tools, r.withArgs = make(map[int]int), make(map[int]bool)
			}
			idx := len(r.tools)
			r.tools[se.Index] = idx
			r.text += int64(utf8.RuneCountInString(b.Name))
			return false, r.emit(&provider.ChatChunk{ToolCalls: []provider.ToolCallDelta{{Index: idx, ID: b.ID, Name: b.Name}}})
		}
	case "content_block_delta":
		// Text and tool input are relayed; thinking deltas have no place
		// in a ChatChunk.
		switch {
		case se.Delta == nil:
		case se.Delta.Type == "text_delta" && se.Delta.Text != "":
			r.text += int64(utf8.RuneCountInString(se.Delta.Text))
			return false, r.emit(&provider.ChatChunk{Delta: se.Delta.Text})
		case se.Delta.Type == "input_json_delta" && se.Delta.PartialJSON != "":
			idx, ok := r.tools[se.Index]
			if !ok {
				return false, nil
			}
			r.withArgs[idx] = true
			r.text += int64(utf8.RuneCountInString(se.Delta.PartialJSON))
			return false, r.emit(&provider.ChatChunk{ToolCalls: []provider.ToolCallDelta{{Index: idx, Arguments: se.Delta.PartialJSON}}})
		}
	case "content_block_stop":
		// A call without arguments streams no input fragment (or only
		// an empty one); OpenAI's clients expect "{}", as Chat gives.
		if idx, ok := r.tools[se.Index]; ok && !r.withArgs[idx] {
			r.withArgs[idx] = true
			return false, r.emit(&provider.ChatChunk{ToolCalls: []provider.ToolCallDelta{{Index: idx, Arguments: "{}"}}})
		}
	case "message_delta":
		if se.Delta != nil && se.Delta.StopReason != "" {
			r.finish = finishReason(se.Delta.StopReason)
			r.stopped = true
		}
		if se.Usage != nil {
			r.addUsage(*se.Usage)
		}
	case "message_stop":
		return true, r.complete()
	case "error":
		e := wireError{}
		if se.Error != nil {
			e = *se.Error
		}
		return false, r.fail(&provider.Error{
			Kind:    kindForErrorType(e.Type),
			Message: r.what + ": error event: " + r.redact(describeError(e)),
		})
	}
	// ping, content_block_start, content_block_stop and event types added
	// after this plugin was written carry nothing to relay.
	return false, nil
}

// addUsage takes the counts an event states and keeps the others.
func (r *relay) addUsage(u wireUsage) {
	if u.InputTokens != nil {
		r.input = *u.InputTokens
	}
	if u.CacheCreationInputTokens != nil {
		r.cacheCreation = *u.CacheCreationInputTokens
	}
	if u.CacheReadInputTokens != nil {
		r.cacheRead = *u.CacheReadInputTokens
	}
	if u.OutputTokens != nil {
		r.output = *u.OutputTokens
	}
}

// usage is the usage Anthropic reported so far.
func (r *relay) usage() provider.Usage {
	return billedUsage(r.input, r.cacheCreation, r.cacheRead, r.output)
}

// emit sends one chunk, stamping the message's id and model and, on the
// first chunk, the role.
func (r *relay) emit(c *provider.ChatChunk) error {
	c.ID, c.Model = r.id, r.model
	if !r.sent {
		c.Role = provider.RoleAssistant
		r.sent = true
	}
	if err := r.send(c); err != nil {
		if r.ctx.Err() != nil {
			return r.fail(vendorhttp.TransportError(r.ctx, r.what, r.ctx.Err()))
		}
		// The caller can no longer take chunks: it went away.
		return r.fail(provider.Errorf(provider.KindCanceled, "%s: relaying chunk: %s", r.what, r.redact(err.Error())))
	}
	return nil
}

// complete sends the final chunk with the usage Anthropic reported.
func (r *relay) complete() error {
	u := r.usage()
	return r.emit(&provider.ChatChunk{FinishReason: r.finish, Usage: &u})
}

// fail attaches the usage consumed so far to e, unless nothing was.
func (r *relay) fail(e *provider.Error) *provider.Error {
	if e.Partial == nil && (r.started || r.text > 0) {
		e.Partial = r.partial()
	}
	return e
}

// partial is the usage of a stream cut short. Until message_delta gives
// the final count, Anthropic's output count lags the text it sent, so when
// ceil(characters/4) of the text received is larger, that estimate is
// billed instead and marked Estimated.
func (r *relay) partial() *provider.Usage {
	u := r.usage()
	if r.stopped {
		return &u
	}
	if est := (r.text + 3) / 4; est > u.OutputTokens {
		u.OutputTokens = est
		u.Estimated = true
	}
	return &u
}
