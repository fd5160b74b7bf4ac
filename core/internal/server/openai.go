package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// The response headers that say who answered and what it cost.
const (
	headerProvider = "X-OneFlow-Provider"
	headerModel    = "X-OneFlow-Model"
	headerCredits  = "X-OneFlow-Credits"
	headerOverhead = "X-OneFlow-Overhead-Ms"
)

func (s *server) models(c *gin.Context) {
	snap, release := s.o.Backend.Acquire()
	defer release()
	type model struct {
		ID       string `json:"id"`
		Object   string `json:"object"`
		Created  int64  `json:"created"`
		OwnedBy  string `json:"owned_by"`
		Modality string `json:"modality"`
	}
	var data []model
	for _, e := range snap.Catalog.Entries() {
		data = append(data, model{ID: e.Model.ID, Object: "model", Created: e.Model.Effective.Unix(), OwnedBy: e.Provider, Modality: e.Model.Modality})
	}
	for _, a := range []string{"auto", "auto:cost", "auto:latency", "auto:quality", "auto:balanced"} {
		data = append(data, model{ID: a, Object: "model", OwnedBy: "oneflow", Modality: "text"})
	}
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": data})
}

func bindJSON(c *gin.Context, v any) bool {
	dec := json.NewDecoder(c.Request.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			abortError(c, http.StatusRequestEntityTooLarge, typeInvalidRequest, "request_too_large", "request body exceeds the limit", "")
			return false
		}
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_json", "request body is not valid JSON: "+err.Error(), "")
		return false
	}
	return true
}

func (s *server) chatCompletions(c *gin.Context) {
	start := time.Now()
	var req chatRequest
	if !bindJSON(c, &req) {
		return
	}
	if param, err := req.validate(); err != nil {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", err.Error(), param)
		return
	}
	snap, release := s.o.Backend.Acquire()
	defer release()
	preq := req.toProvider()
	f := gateway.Features{Modality: "text", OutputTokens: req.maxTokens(), Streaming: req.Stream}
	if s.o.CountTokens != nil {
		f.InputTokens = s.o.CountTokens(req.Model, preq.Messages)
	}
	if req.Stream {
		f.Capabilities = []string{string(provider.CapChatStream)}
	}
	plan, err := snap.Resolve(c.Request.Context(), req.Model, f)
	if err != nil {
		writeGatewayError(c, err)
		return
	}
	if req.Stream {
		s.streamChat(c, snap, plan, preq, &req, start)
		return
	}
	res, err := snap.Chat(c.Request.Context(), plan, preq)
	s.setAttemptHeaders(c, res.Attempts)
	if err != nil {
		writeGatewayError(c, err)
		return
	}
	r := res.Response
	u := chatUsage{PromptTokens: r.Usage.InputTokens, CompletionTokens: r.Usage.OutputTokens, TotalTokens: r.Usage.InputTokens + r.Usage.OutputTokens}
	if mc, ok := s.o.Backend.Price(res.Target, Usage{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens}); ok {
		u.Credits = s.formatCredits(mc)
		c.Header(headerCredits, u.Credits)
	}
	c.Header(headerProvider, res.Target.Provider)
	c.Header(headerModel, res.Target.Model)
	c.Header(headerOverhead, overheadMS(time.Since(start)-res.ProviderWait))
	content := r.Content
	finish := string(r.FinishReason)
	if finish == "" {
		finish = string(provider.FinishStop)
	}
	id := r.ID
	if id == "" {
		id = "chatcmpl-" + requestIDOf(c)
	}
	c.JSON(http.StatusOK, chatCompletion{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: res.Target.Model,
		Choices: []chatChoice{{Index: 0, Message: &choiceMessage{Role: "assistant", Content: &content}, FinishReason: &finish}},
		Usage:   &u,
	})
}

func (s *server) formatCredits(mc int64) string {
	if s.o.FormatCredits != nil {
		return s.o.FormatCredits(mc)
	}
	return strconv.FormatInt(mc, 10)
}

// overheadMS formats the gateway's own time in milliseconds with
// microsecond resolution: the figure is usually well under 1 ms.
func overheadMS(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 3, 64)
}

// setAttemptHeaders lists failed attempts so a client can see fallbacks.
func (s *server) setAttemptHeaders(c *gin.Context, attempts []gateway.Attempt) {
	if len(attempts) > 0 {
		c.Header("X-OneFlow-Attempts", strconv.Itoa(len(attempts)))
	}
}
