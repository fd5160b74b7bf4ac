package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// sseWriter writes OpenAI's chat.completion.chunk events.
type sseWriter struct {
	w       gin.ResponseWriter
	id      string
	created int64
	buf     []byte
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

// streamChat relays a streamed answer in OpenAI's chunk format. Headers
// go out with the first chunk, once the answering model is known.
func (s *server) streamChat(c *gin.Context, snap *gateway.Snapshot, plan *gateway.Plan, preq *provider.ChatRequest, req *chatRequest, start time.Time) {
	wantUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	sw := &sseWriter{w: c.Writer, id: "chatcmpl-" + requestIDOf(c), created: time.Now().Unix()}
	var (
		usage     *provider.Usage
		started   bool
		firstWait time.Duration
	)
	res, err := snap.ChatStream(c.Request.Context(), plan, preq, func(t gateway.Target, ch *provider.ChatChunk) error {
		if !started {
			started = true
			firstWait = time.Since(start)
			h := c.Writer.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("Connection", "keep-alive")
			h.Set("X-Accel-Buffering", "no")
			h.Set(headerProvider, t.Provider)
			h.Set(headerModel, t.Model)
			c.Status(http.StatusOK)
		}
		if ch.Usage != nil {
			u := *ch.Usage
			usage = &u
		}
		if ch.Delta == "" && ch.FinishReason == "" && ch.Role == "" {
			return nil
		}
		delta := &choiceMessage{Role: string(ch.Role)}
		if ch.Delta != "" || ch.Role != "" {
			d := ch.Delta
			delta.Content = &d
		}
		choice := chatChoice{Index: 0, Delta: delta}
		if ch.FinishReason != "" {
			fr := string(ch.FinishReason)
			choice.FinishReason = &fr
		}
		return sw.event(chatCompletion{ID: sw.id, Object: "chat.completion.chunk", Created: sw.created, Model: t.Model, Choices: []chatChoice{choice}})
	})
	_ = firstWait
	if err != nil && !res.Sent {
		writeGatewayError(c, err)
		return
	}
	if err != nil {
		// The stream already began: the status line is gone, so the error
		// travels in-band the way OpenAI reports mid-stream failures.
		s.log.Warn("stream failed after first chunk", "request_id", requestIDOf(c), "provider", res.Target.Provider, "model", res.Target.Model, "err", err)
		if c.Request.Context().Err() == nil {
			_ = sw.event(apiError{Error: apiErrorBody{Message: "upstream stream failed: " + provider.KindOf(err).String(), Type: typeServer}})
			sw.done()
		}
		return
	}
	if wantUsage && usage != nil {
		u := chatUsage{PromptTokens: usage.InputTokens, CompletionTokens: usage.OutputTokens, TotalTokens: usage.InputTokens + usage.OutputTokens}
		if mc, ok := s.o.Backend.Price(res.Target, Usage{InputTokens: usage.InputTokens, OutputTokens: usage.OutputTokens}); ok {
			u.Credits = s.formatCredits(mc)
		}
		_ = sw.event(chatCompletion{ID: sw.id, Object: "chat.completion.chunk", Created: sw.created, Model: res.Target.Model, Choices: []chatChoice{}, Usage: &u})
	}
	sw.done()
}
