package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/idempotency"
	"github.com/oneflow-ai/oneflow/core/internal/ratelimit"
)

// Governance is what limits and replays requests; every field is optional.
type Governance struct {
	// Limiter enforces Quota per API key, user and project.
	Limiter ratelimit.Limiter
	Quota   ratelimit.Quota
	// OnRejected is told the name of the limit that refused a request.
	OnRejected func(limit string)
	// Idempotency stores responses by Idempotency-Key.
	Idempotency        idempotency.Store
	IdempotencyOptions idempotency.Options
}

// limitKeys are the subjects a principal's requests count against.
func limitKeys(p *Principal) []string {
	keys := make([]string, 0, 3)
	if p.KeyID != "" {
		keys = append(keys, "key:"+p.KeyID)
	}
	if p.UserID != "" {
		keys = append(keys, "user:"+p.UserID)
	}
	if p.Project != "" {
		keys = append(keys, "project:"+p.Project)
	}
	return keys
}

// rateLimit applies the request limits (per minute, per hour) before a
// model route runs; the token limit is applied by the handler once the
// tokens are counted. The bootstrap admin key is exempt.
func (s *server) rateLimit(c *gin.Context) {
	g := s.o.Backend.Governance()
	p := principalOf(c)
	if g.Limiter == nil || p == nil || p.Bootstrap {
		c.Next()
		return
	}
	q := ratelimit.Quota{PerMinute: g.Quota.PerMinute, PerHour: g.Quota.PerHour}
	if !s.allow(c, p, q, 0) {
		return
	}
	c.Next()
}

// allow runs the checks of q for p with the given token cost and writes
// the X-RateLimit headers; on refusal it writes the 429 and returns false.
func (s *server) allow(c *gin.Context, p *Principal, q ratelimit.Quota, tokens int) bool {
	g := s.o.Backend.Governance()
	var checks []ratelimit.Check
	for _, k := range limitKeys(p) {
		checks = q.AppendChecks(checks, k, tokens)
	}
	if len(checks) == 0 {
		return true
	}
	res, err := g.Limiter.Allow(c.Request.Context(), checks...)
	if err != nil {
		if errors.Is(err, ratelimit.ErrUnavailable) {
			abortError(c, http.StatusServiceUnavailable, typeServer, "rate_limiter_unavailable", "rate limits cannot be checked right now; retry shortly", "")
			return false
		}
		abortError(c, http.StatusInternalServerError, typeServer, "rate_limiter_error", "rate limit check failed", "")
		return false
	}
	if res.Limit > 0 {
		h := c.Writer.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(res.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(res.Remaining, 0)))
		h.Set("X-RateLimit-Reset", strconv.Itoa(int((res.ResetAfter+time.Second-1)/time.Second)))
	}
	if res.Allowed {
		return true
	}
	if g.OnRejected != nil {
		g.OnRejected(res.LimitName)
	}
	if res.Oversize {
		abortError(c, http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded",
			"this request needs more than the whole "+res.LimitName+" limit allows; lower max_tokens or raise the limit", "")
		return false
	}
	c.Header("Retry-After", strconv.Itoa(int((res.RetryAfter+time.Second-1)/time.Second)))
	abortError(c, http.StatusTooManyRequests, typeRateLimit, "rate_limit_exceeded",
		"rate limit reached ("+res.LimitName+" limit of "+strconv.Itoa(res.Limit)+"); retry after "+strconv.Itoa(int((res.RetryAfter+time.Second-1)/time.Second))+" s", "")
	return false
}

// tokenLimit applies the tokens-per-minute limit with the request's
// estimated tokens; it returns false when it wrote a refusal.
func (s *server) tokenLimit(c *gin.Context, tokens int64) bool {
	g := s.o.Backend.Governance()
	p := principalOf(c)
	if g.Limiter == nil || p == nil || p.Bootstrap || g.Quota.TokensPerMinute <= 0 {
		return true
	}
	return s.allow(c, p, ratelimit.Quota{TokensPerMinute: g.Quota.TokensPerMinute}, int(min(tokens, 1<<31-1)))
}

// recorder captures a response so it can be stored for replay.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}

// replayHeaders are the response headers a replay repeats.
var replayHeaders = [...]string{"Content-Type", headerProvider, headerModel, headerCredits}

// errUnfinished marks a response that began but did not end well (a stream
// cut by an upstream failure or the client going away): it is not stored,
// so a retry with the same key runs again instead of replaying half an answer.
var errUnfinished = errors.New("response did not finish")

// keyUnfinished is the context flag markUnfinished sets.
const keyUnfinished = "response_unfinished"

// markUnfinished tells idempotent not to store this request's response.
func markUnfinished(c *gin.Context) { c.Set(keyUnfinished, true) }

// idempotent makes a POST with an Idempotency-Key run at most once per
// key and body: a repeat gets the stored response and is neither sent
// upstream nor charged again; the same key with another body is 422; a
// repeat while the first is running waits for it. A stream is stored once
// it has ended with [DONE] and replayed as one burst of the same events.
func (s *server) idempotent(c *gin.Context) {
	g := s.o.Backend.Governance()
	key := c.GetHeader("Idempotency-Key")
	if key == "" || g.Idempotency == nil || c.Request.Method != http.MethodPost {
		c.Next()
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			abortError(c, http.StatusRequestEntityTooLarge, typeInvalidRequest, "request_too_large", "request body exceeds the limit", "")
			return
		}
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_body", "cannot read the request body", "")
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	p := principalOf(c)
	scope := "anonymous"
	if p != nil {
		scope = p.scope()
	}
	fp := idempotency.NewFingerprint(c.Request.Method, c.FullPath(), body)
	resp, replayed, err := idempotency.Do(c.Request.Context(), g.Idempotency, scope, key, fp, g.IdempotencyOptions,
		func(context.Context) (idempotency.Response, error) {
			rec := &recorder{ResponseWriter: c.Writer}
			c.Writer = rec
			c.Next()
			c.Writer = rec.ResponseWriter
			if c.GetBool(keyUnfinished) {
				return idempotency.Response{}, errUnfinished
			}
			h := make(map[string]string, len(replayHeaders))
			for _, name := range replayHeaders {
				if v := rec.Header().Get(name); v != "" {
					h[name] = v
				}
			}
			return idempotency.Response{Status: rec.Status(), Header: h, Body: rec.body.Bytes()}, nil
		})
	switch {
	case errors.Is(err, idempotency.ErrConflict):
		abortError(c, http.StatusUnprocessableEntity, typeInvalidRequest, "idempotency_key_reused", "this Idempotency-Key was used with a different request body", "")
	case errors.Is(err, idempotency.ErrInProgress):
		abortError(c, http.StatusConflict, typeInvalidRequest, "idempotency_in_progress", "a request with this Idempotency-Key is still running; retry shortly", "")
	case errors.Is(err, idempotency.ErrInvalidKey):
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_idempotency_key", "Idempotency-Key must be 1–255 printable characters", "")
	case err != nil && !c.Writer.Written():
		abortError(c, http.StatusServiceUnavailable, typeServer, "idempotency_unavailable", "idempotency store unavailable; retry shortly", "")
	case replayed:
		for k, v := range resp.Header {
			c.Header(k, v)
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(resp.Status, resp.Header["Content-Type"], resp.Body)
		c.Abort()
	}
}
