package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// sseWriter writes OpenAI's chat.completion.chunk events.
type sseWriter struct {
	w   gin.ResponseWriter
	buf []byte
}

func (w *sseWriter) event(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.buf = append(w.buf[:0], "data: "...)
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, '\n', '\n')
	if _, err := w.w.Write(w.buf); err != nil {
		return err
	}
	w.w.Flush()
	return nil
}

func (w *sseWriter) done() {
	_, _ = w.w.Write([]byte("data: [DONE]\n\n"))
	w.w.Flush()
}

// streamChat relays a streamed answer in OpenAI's chunk format. Headers go
// out with the first chunk, once the answering model is known; the cost
// goes in the final usage chunk. If the stream ends without the vendor's
// usage (the client hung up, the upstream dropped), the tokens relayed so
// far are counted and billed: not $0, and not the whole estimate.
func (s *server) streamChat(k *call, preq *provider.ChatRequest, req *chatRequest, inTokens int64) {
	c := k.c
	wantUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	sw := &sseWriter{w: c.Writer}
	id := "chatcmpl-" + requestIDOf(c)
	created := k.start.Unix()
	var (
		usage    *provider.Usage
		relayed  strings.Builder
		finished bool // a finish_reason has gone out
	)
	res, err := k.snap.ChatStream(c.Request.Context(), k.plan, preq, func(t gateway.Target, ch *provider.ChatChunk) error {
		if relayed.Len() == 0 && usage == nil && !c.Writer.Written() {
			h := c.Writer.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Accel-Buffering", "no")
			h.Set(headerProvider, t.Provider)
			h.Set(headerModel, t.Model)
			c.Status(http.StatusOK)
		}
		if ch.Usage != nil {
			u := *ch.Usage
			usage = &u
		}
		if ch.FinishReason != "" {
			if finished {
				// Plugins repeat the finish reason on the usage chunk
				// so that it alone is complete; the client must see
				// one finish, or SDKs close the last tool call twice.
				ch.FinishReason = ""
			}
			finished = true
		}
		if ch.Delta == "" && ch.FinishReason == "" && ch.Role == "" && len(ch.ToolCalls) == 0 {
			return nil
		}
		relayed.WriteString(ch.Delta)
		delta := &choiceDelta{Role: string(ch.Role)}
		if ch.Delta != "" || (ch.Role != "" && len(ch.ToolCalls) == 0) {
			d := ch.Delta
			delta.Content = &d
		}
		for _, tc := range ch.ToolCalls {
			// Arguments count as output for a stream billed by its text.
			relayed.WriteString(tc.Name)
			relayed.WriteString(tc.Arguments)
			d := chatToolCallDelta{Index: tc.Index, ID: tc.ID}
			if tc.ID != "" {
				d.Type = "function"
			}
			d.Function.Name, d.Function.Arguments = tc.Name, tc.Arguments
			delta.ToolCalls = append(delta.ToolCalls, d)
		}
		choice := chatChoice{Index: 0, Delta: delta}
		if ch.FinishReason != "" {
			fr := string(ch.FinishReason)
			choice.FinishReason = &fr
		}
		return sw.event(chatCompletion{ID: id, Object: "chat.completion.chunk", Created: created, Model: t.Model, Choices: []chatChoice{choice}})
	})
	if err != nil && !res.Sent {
		k.failed(err, res.Attempts)
		return
	}
	u, estimated := Usage{}, false
	switch {
	case usage != nil:
		u = textUsage(*usage)
		estimated = usage.Estimated
	default:
		u = Usage{InputTokens: inTokens, OutputTokens: s.o.Backend.Tokens().Text(res.Target.Model, relayed.String())}
		estimated = true
	}
	status := http.StatusOK
	if err != nil {
		status = statusOf(err)
	}
	charged := k.end(res.Target, u, estimated, res.Attempts, status)
	if err != nil {
		// The stream already began, so the status line is gone: the error
		// travels in-band, as OpenAI reports mid-stream failures.
		markUnfinished(c)
		s.log.Warn("stream failed after first chunk", "request_id", requestIDOf(c), "provider", res.Target.Provider, "model", res.Target.Model, "err", err)
		if c.Request.Context().Err() != nil {
			return
		}
	}
	// The usage chunk comes before an error event too: a partial stream
	// was billed, and the client should see for what.
	if wantUsage {
		_ = sw.event(chatCompletion{ID: id, Object: "chat.completion.chunk", Created: created, Model: res.Target.Model, Choices: []chatChoice{},
			Usage: s.chatUsage(u, charged)})
	}
	if err != nil {
		cl := classify(err)
		_ = sw.event(apiError{Error: apiErrorBody{Message: "upstream stream failed: " + provider.KindOf(err).String(), Type: cl.typ, Code: &cl.code}})
	}
	sw.done()
}
