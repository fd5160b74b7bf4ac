package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// oneflowRequest is the body shared by /api/v1/estimate and /api/v1/request.
type oneflowRequest struct {
	Prompt       string        `json:"prompt,omitempty"`
	Messages     []chatMessage `json:"messages,omitempty"`
	Strategy     string        `json:"strategy,omitempty"`
	Modality     string        `json:"modality,omitempty"`
	Model        string        `json:"model,omitempty"`
	MaxTokens    int64         `json:"max_tokens,omitempty"`
	InputTokens  *int64        `json:"input_tokens,omitempty"`
	OutputTokens *int64        `json:"output_tokens,omitempty"`
}

func (r *oneflowRequest) messages() []provider.Message {
	if len(r.Messages) == 0 {
		if r.Prompt == "" {
			return nil
		}
		return []provider.Message{provider.TextMessage(provider.RoleUser, r.Prompt)}
	}
	cr := chatRequest{Messages: r.Messages}
	return cr.toProvider().Messages
}

// target is what routing should resolve: the model asked for, or the
// strategy's alias.
func (r *oneflowRequest) target() string {
	if r.Model != "" {
		return r.Model
	}
	if r.Strategy == "" {
		return "auto"
	}
	return "auto:" + r.Strategy
}

func (r *oneflowRequest) validate() (string, error) {
	switch r.Modality {
	case "", "text", "embedding", "image", "audio":
	default:
		return "modality", errors.New("modality must be one of text, embedding, image, audio")
	}
	if r.MaxTokens < 0 {
		return "max_tokens", errors.New("max_tokens must not be negative")
	}
	if r.InputTokens != nil && *r.InputTokens < 0 {
		return "input_tokens", errors.New("input_tokens must not be negative")
	}
	if r.OutputTokens != nil && *r.OutputTokens < 0 {
		return "output_tokens", errors.New("output_tokens must not be negative")
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return "messages", fmt.Errorf("messages[%d].role %q is not one of system, developer, user, assistant, tool", i, m.Role)
		}
	}
	return "", nil
}

type chainEntry struct {
	Model            string `json:"model"`
	Provider         string `json:"provider"`
	EstimatedCredits string `json:"estimated_credits"`
	EstimatedUSD     string `json:"estimated_usd"`
}

// estimate prices a request on the model a strategy would choose, and on
// each fallback, without calling any provider.
func (s *server) estimate(c *gin.Context) {
	var req oneflowRequest
	if !bindJSON(c, &req) {
		return
	}
	if param, err := req.validate(); err != nil {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", err.Error(), param)
		return
	}
	msgs := req.messages()
	tokens := s.o.Backend.Tokens()
	count := func(model string) int64 {
		if req.InputTokens != nil {
			return *req.InputTokens
		}
		return tokens.Messages(model, msgs)
	}
	out := req.MaxTokens
	if req.OutputTokens != nil {
		out = *req.OutputTokens
	}
	snap, release := s.o.Backend.Acquire()
	defer release()
	modality := req.Modality
	if modality == "" {
		// A model named without a modality is estimated as what it is;
		// routing aliases default to text.
		modality = "text"
		if _, alias := gateway.ParseAlias(req.Model); !alias {
			if e := snap.Catalog.Lookup(req.Model); len(e) > 0 {
				modality = e[0].Model.Modality
			}
		}
	}
	f := gateway.Features{Modality: modality, InputTokens: count(req.Model), OutputTokens: out, Hypothetical: true}
	plan, err := snap.Resolve(c.Request.Context(), req.target(), f)
	if err != nil {
		writeGatewayError(c, err)
		return
	}
	usageFor := func(t gateway.Target) Usage {
		switch modality {
		case "image":
			return Usage{Images: 1, ImageSize: "1024x1024"}
		case "audio":
			return Usage{Characters: int64(len([]rune(req.Prompt)))}
		}
		return Usage{InputTokens: count(t.Model), OutputTokens: out}
	}
	var chain []chainEntry
	var firstErr error
	for _, t := range plan.Targets {
		q, err := s.o.Backend.Quote(t, usageFor(t))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		chain = append(chain, chainEntry{Model: t.Model, Provider: t.Provider,
			EstimatedCredits: s.formatCredits(q.MicroCredits), EstimatedUSD: s.o.Backend.FormatUSD(q.MicroCredits)})
	}
	if len(chain) == 0 {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "model_unpriced", firstErr.Error(), "model")
		return
	}
	primary := chain[0]
	u := usageFor(plan.Targets[0])
	c.JSON(http.StatusOK, gin.H{
		"primary_model": primary.Model, "provider": primary.Provider,
		"estimated_credits": primary.EstimatedCredits, "estimated_usd": primary.EstimatedUSD,
		"fallback_chain": chain[1:], "reason": plan.Reason, "strategy": plan.Strategy,
		"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens,
	})
}

type attemptJSON struct {
	Model     string `json:"model"`
	Provider  string `json:"provider"`
	Outcome   string `json:"outcome"`
	LatencyMS int64  `json:"latency_ms"`
}

func attemptsJSON(as []gateway.Attempt) []attemptJSON {
	out := make([]attemptJSON, len(as))
	for i, a := range as {
		out[i] = attemptJSON{Model: a.Model, Provider: a.Provider, Outcome: a.Outcome, LatencyMS: a.LatencyMS}
	}
	return out
}

// request runs a text request routed by strategy (or on model) and
// reports the answer with every attempt and the exact charge.
func (s *server) request(c *gin.Context) {
	var req oneflowRequest
	if !bindJSON(c, &req) {
		return
	}
	if param, err := req.validate(); err != nil {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", err.Error(), param)
		return
	}
	if req.Modality != "" && req.Modality != "text" {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "unsupported_modality",
			"/api/v1/request answers text; use /v1/embeddings, /v1/images/generations or /v1/audio/speech for "+req.Modality, "modality")
		return
	}
	msgs := req.messages()
	if len(msgs) == 0 {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "prompt or messages is required", "prompt")
		return
	}
	snap, release := s.o.Backend.Acquire()
	defer release()
	tokens := s.o.Backend.Tokens()
	in := tokens.Messages(req.Model, msgs)
	out := s.outputBound(req.MaxTokens)
	f := gateway.Features{Modality: "text", InputTokens: in, OutputTokens: out}
	k, ok := s.begin(c, snap, req.target(), f, func(gateway.Target) Usage { return Usage{InputTokens: in, OutputTokens: out} })
	if !ok {
		return
	}
	res, err := snap.Chat(c.Request.Context(), k.plan, &provider.ChatRequest{Messages: msgs, MaxTokens: req.MaxTokens})
	if err != nil {
		k.end(gateway.Target{}, Usage{}, false, res.Attempts, statusOf(err))
		cl := classify(err)
		c.AbortWithStatusJSON(cl.status, gin.H{
			"error":    apiErrorBody{Message: cl.message, Type: cl.typ, Code: &cl.code},
			"attempts": attemptsJSON(res.Attempts),
		})
		return
	}
	r := res.Response
	u := textUsage(r.Usage)
	charged := k.end(res.Target, u, r.Usage.Estimated, res.Attempts, http.StatusOK)
	k.setHeaders(res.Target, charged, res.ProviderWait)
	c.JSON(http.StatusOK, gin.H{
		"id": requestIDOf(c), "output": r.Content, "finish_reason": r.FinishReason,
		"model_used": res.Target.Model, "provider": res.Target.Provider, "strategy": k.plan.Strategy, "reason": k.plan.Reason,
		"usage": gin.H{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens,
			"cached_input_tokens": u.CachedInputTokens, "cache_write_tokens": u.CacheWriteTokens},
		"credits_charged": s.formatCredits(charged), "usd_charged": s.o.Backend.FormatUSD(charged),
		"attempts": attemptsJSON(res.Attempts),
	})
}
