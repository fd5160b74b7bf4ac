package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/oneflow-ai/oneflow/core/internal/apidocs"
	"github.com/oneflow-ai/oneflow/core/internal/auth"
	"github.com/oneflow-ai/oneflow/core/internal/gateway"
	"github.com/oneflow-ai/oneflow/core/internal/plugins"
	"github.com/oneflow-ai/oneflow/sdk/provider"
)

// Backend is what the HTTP layer needs from the running application.
type Backend interface {
	// Acquire returns the current generation's gateway view and a release
	// function; the generation is not retired while it is held.
	Acquire() (*gateway.Snapshot, func())
	// Plugins lists the current generation's plugin instances.
	Plugins() []plugins.Status
	// Generation is the current config generation number.
	Generation() int64
	// Ready reports readiness with per-component detail.
	Ready() (bool, map[string]string)
	// Reload re-reads the config and swaps in a new generation.
	Reload(ctx context.Context) error
	// Quote prices usage on a target in micro-credits. It fails with an
	// error wrapping pricing.ErrUnpriced for a model without a price unless
	// unpriced models are allowed, in which case Quote.Unpriced is set.
	Quote(t gateway.Target, u Usage) (Quote, error)
	// QuoteMax is what a credit hold reserves for u on t: every input
	// token at the dearer of the model's input and cached-input rates,
	// since nobody knows before the call how much of the prompt the vendor
	// will serve from its cache (see pricing.Price.MaxInputPerMTok). Credit
	// holds and quota checks are sized with it.
	QuoteMax(t gateway.Target, u Usage) (Quote, error)
	// Reserve holds up to maxMicroCredits of the caller's balance for one
	// call; the Hold settles it with what the vendor reported.
	Reserve(ctx context.Context, p *Principal, requestID string, maxMicroCredits int64) (Hold, error)
	// CheckQuota refuses a call of up to maxMicroCredits on provider that
	// would take p's project past a quota (a *QuotaError).
	CheckQuota(ctx context.Context, p *Principal, provider string, maxMicroCredits int64) error
	// FormatUSD renders micro-credits as exact USD.
	FormatUSD(microCredits int64) string
	// Tokens counts tokens before a call.
	Tokens() TokenCounter
	// Governance is the current generation's limits and replay store.
	Governance() *Governance
}

// Quote is a priced usage.
type Quote struct {
	MicroCredits int64
	Unpriced     bool
	PriceVersion string
}

// Hold is a reservation of credits for one call.
type Hold interface {
	// Settle charges what the call used (releasing the rest) and records
	// the call; it returns the micro-credits charged.
	Settle(ctx context.Context, o Outcome) int64
}

// Outcome is what a finished call did, for billing and usage records.
type Outcome struct {
	Target   gateway.Target
	Strategy string
	Usage    Usage
	// Estimated is true when usage was counted by OneFlow because the
	// vendor did not report it (a stream cut short).
	Estimated bool
	// EstimatedInputTokens is what OneFlow counted before the call; set
	// against the vendor's count it shows drifting estimates.
	EstimatedInputTokens int64
	// MaxMicroCredits is what the hold reserved for the plan.
	MaxMicroCredits int64
	Attempts        []gateway.Attempt
	Status          int
	Latency         time.Duration
}

// TokenCounter counts tokens for a model before the call.
type TokenCounter interface {
	Messages(model string, msgs []provider.Message) int64
	Text(model string, text string) int64
}

// Usage is what a call consumed.
type Usage struct {
	InputTokens, OutputTokens, Characters, Images int64
	// CachedInputTokens and CacheWriteTokens are the parts of InputTokens
	// the vendor read from and wrote to its prompt cache.
	CachedInputTokens, CacheWriteTokens int64
	ImageSize, ImageQuality             string
	// CacheCountsDropped is set when the plugin reported cache counts that
	// were not parts of its input tokens; they were discarded, so the
	// whole input is billed at the input price.
	CacheCountsDropped bool
}

// textUsage is what a chat call consumed, as the plugin reported it. Cache
// counts that break the sdk's contract are discarded here, once, so that
// the bill, the usage record, the client's usage object and the metrics
// all show the same numbers.
func textUsage(u provider.Usage) Usage {
	out := Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
	if u.CacheCountsValid() {
		out.CachedInputTokens, out.CacheWriteTokens = u.CachedInputTokens, u.CacheWriteTokens
	} else {
		out.CacheCountsDropped = true
	}
	return out
}

// Principal is an authenticated caller.
type Principal struct {
	KeyID   string
	UserID  string
	Project string
	Role    string
	Admin   bool
	// Bootstrap is the admin key from the config: exempt from limits.
	Bootstrap bool
}

// scope partitions idempotency keys so callers never see each other's.
func (p *Principal) scope() string {
	switch {
	case p.KeyID != "":
		return "key:" + p.KeyID
	case p.UserID != "":
		return "user:" + p.UserID
	}
	return "project:" + p.Project
}

// Options configure the HTTP layer.
type Options struct {
	Backend   Backend
	Log       hclog.Logger
	BodyLimit int64
	// FormatCredits renders micro-credits as an exact decimal string.
	FormatCredits func(int64) string
	// Accounts authenticates callers and serves the admin and usage API.
	Accounts Accounts
	// ParseCredits reads an exact decimal amount of credits.
	ParseCredits func(string) (int64, error)
	// CORSOrigins are the browser origins allowed to call the API; "*"
	// allows any. Empty: no CORS headers at all.
	CORSOrigins []string
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// Tracer starts a span per request; nil disables tracing.
	Tracer trace.Tracer
	// ObserveHTTP records each request under its route template.
	ObserveHTTP func(method, route string, status int, d time.Duration)
	// Docs serves /openapi.json, /docs and /redoc; nil leaves them out.
	Docs *apidocs.Docs
	// DefaultMaxTokens bounds the output a credit hold assumes when a
	// request sets no max_tokens.
	DefaultMaxTokens int64
}

// New builds the HTTP handler.
func New(o Options) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.HandleMethodNotAllowed = true
	s := &server{o: o, log: o.Log, routes: auth.NewRouteTable()}
	e.Use(s.observe, s.recovery, s.requestID, s.trace, securityHeaders, s.cors, s.bodyLimit)
	e.NoRoute(func(c *gin.Context) {
		abortError(c, http.StatusNotFound, typeNotFound, "route_not_found", "no route "+c.Request.Method+" "+c.Request.URL.Path, "")
	})
	e.NoMethod(func(c *gin.Context) {
		abortError(c, http.StatusMethodNotAllowed, typeInvalidRequest, "method_not_allowed", "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path, "")
	})

	e.GET("/health", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/ready", s.ready)
	if o.Metrics != nil {
		e.GET("/metrics", gin.WrapH(o.Metrics))
	}
	if d := o.Docs; d != nil {
		e.GET(apidocs.SpecPath, gin.WrapH(d.SpecHandler()))
		for _, p := range []string{apidocs.SwaggerUIPath, apidocs.ReDocPath} {
			h := d.SwaggerUI()
			if p == apidocs.ReDocPath {
				h = d.ReDoc()
			}
			e.GET(p, gin.WrapH(h))
			e.GET(p+"/*file", gin.WrapH(h))
			e.HEAD(p, gin.WrapH(h))
			e.HEAD(p+"/*file", gin.WrapH(h))
		}
	}

	// Every authenticated route is in auth's route table, which says what
	// permission it needs; a route missing there is refused (authorize).
	handlers := map[string]gin.HandlerFunc{
		"GET /v1/models":                          s.models,
		"GET /v1/models/*model":                   s.model,
		"POST /v1/chat/completions":               s.chatCompletions,
		"POST /v1/embeddings":                     s.embeddings,
		"POST /v1/images/generations":             s.images,
		"POST /v1/audio/speech":                   s.speech,
		"POST /api/v1/estimate":                   s.estimate,
		"POST /api/v1/request":                    s.request,
		"GET /api/v1/usage":                       s.usage,
		"GET /api/v1/usage/summary":               s.usageSummary,
		"GET /api/v1/plugins":                     s.plugins,
		"GET /api/v1/providers":                   s.providers,
		"POST /api/v1/admin/reload":               s.reload,
		"GET /api/v1/admin/users":                 s.listUsers,
		"POST /api/v1/admin/users":                s.createUser,
		"GET /api/v1/admin/projects":              s.listProjects,
		"POST /api/v1/admin/projects":             s.createProject,
		"GET /api/v1/admin/projects/:id":          s.getProject,
		"POST /api/v1/admin/projects/:id/credits": s.topUp,
		"POST /api/v1/admin/projects/:id/members": s.addMember,
		"GET /api/v1/admin/keys":                  s.listKeys,
		"POST /api/v1/admin/keys":                 s.createKey,
		"POST /api/v1/admin/keys/:id/rotate":      s.rotateKey,
		"POST /api/v1/admin/keys/:id/revoke":      s.revokeKey,
	}
	public := map[string]gin.HandlerFunc{
		"POST /api/v1/auth/token":   s.issueTokens,
		"POST /api/v1/auth/refresh": s.refreshTokens,
	}
	for route, h := range public {
		method, path, _ := strings.Cut(route, " ")
		e.Handle(method, path, h)
	}
	for route, h := range handlers {
		method, path, _ := strings.Cut(route, " ")
		e.Handle(method, path, s.auth, s.authorize, s.rateLimit, s.idempotent, h)
	}
	return e
}

type server struct {
	o      Options
	log    hclog.Logger
	routes *auth.RouteTable
}

// observe records every request under its route template, never the raw
// path, so label cardinality stays bounded.
func (s *server) observe(c *gin.Context) {
	if s.o.ObserveHTTP == nil {
		c.Next()
		return
	}
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.o.ObserveHTTP(c.Request.Method, route, c.Writer.Status(), time.Since(start))
}

// trace starts the request's span, continuing a trace the client sent in
// a traceparent header; the request id is an attribute so logs and traces
// meet.
func (s *server) trace(c *gin.Context) {
	if s.o.Tracer == nil {
		c.Next()
		return
	}
	ctx := propagation.TraceContext{}.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	ctx, span := s.o.Tracer.Start(ctx, c.Request.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("http.route", route),
			attribute.String("oneflow.request_id", requestIDOf(c))))
	defer span.End()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	span.SetAttributes(attribute.Int("http.response.status_code", c.Writer.Status()))
	if c.Writer.Status() >= 500 {
		span.SetStatus(codes.Error, http.StatusText(c.Writer.Status()))
	}
}

const requestIDHeader = "X-Request-ID"

// requestID accepts a sane client-supplied X-Request-ID or makes one.
func (s *server) requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !validRequestID(id) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set("request_id", id)
	c.Set("start", time.Now())
	c.Header(requestIDHeader, id)
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if ch < 0x21 || ch > 0x7e {
			return false
		}
	}
	return true
}

func requestIDOf(c *gin.Context) string { return c.GetString("request_id") }

// startOf is when the request arrived, for the gateway's own time.
func startOf(c *gin.Context) time.Time {
	if t, ok := c.Get("start"); ok {
		if start, ok := t.(time.Time); ok {
			return start
		}
	}
	return time.Now()
}

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-XSS-Protection", "1; mode=block")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	h.Set("Content-Security-Policy", "default-src 'self'")
	c.Next()
}

// cors answers browsers from the configured origins: it echoes an allowed
// Origin, exposes OneFlow's response headers and ends preflights with 204.
func (s *server) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" || !s.originAllowed(origin) {
		c.Next()
		return
	}
	h := c.Writer.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "X-Request-ID, X-OneFlow-Provider, X-OneFlow-Model, X-OneFlow-Credits, X-OneFlow-Overhead-Ms, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Idempotent-Replayed")
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, Idempotency-Key, X-Request-ID")
		h.Set("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

func (s *server) originAllowed(origin string) bool {
	for _, o := range s.o.CORSOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// bodyLimit refuses bodies over the limit with 413 before a handler reads
// them; MaxBytesReader catches bodies that lie about their length.
func (s *server) bodyLimit(c *gin.Context) {
	if s.o.BodyLimit <= 0 {
		c.Next()
		return
	}
	if c.Request.ContentLength > s.o.BodyLimit {
		abortError(c, http.StatusRequestEntityTooLarge, typeInvalidRequest, "request_too_large", "request body exceeds the limit", "")
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.o.BodyLimit)
	c.Next()
}

func (s *server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("handler panicked", "request_id", requestIDOf(c), "route", c.FullPath())
			if !c.Writer.Written() {
				abortError(c, http.StatusInternalServerError, typeServer, "internal_error", "internal error; request id "+requestIDOf(c), "")
			}
		}
	}()
	c.Next()
}

// apiKey takes the key from X-API-Key or Authorization: Bearer.
func apiKey(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *server) auth(c *gin.Context) {
	key := apiKey(c.Request)
	if key == "" {
		abortError(c, http.StatusUnauthorized, typeAuth, "missing_api_key", "no API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'", "")
		return
	}
	p, err := s.o.Accounts.Authenticate(c.Request.Context(), key)
	if errors.Is(err, ErrBudgetUnavailable) {
		// A store outage is not the caller's bad key: say so, retryably.
		abortError(c, http.StatusServiceUnavailable, typeServer, "auth_unavailable", "credentials cannot be checked right now; retry shortly", "")
		return
	}
	if err != nil || p == nil {
		abortError(c, http.StatusUnauthorized, typeAuth, "invalid_api_key", "invalid API key", "")
		return
	}
	c.Set("principal", p)
	c.Next()
}

func principalOf(c *gin.Context) *Principal {
	p, _ := c.Get("principal")
	pr, _ := p.(*Principal)
	return pr
}

// authorize checks the principal's role against the permission the route
// table gives the route.
func (s *server) authorize(c *gin.Context) {
	p := principalOf(c)
	r, ok := s.routes.Lookup(c.Request.Method, c.FullPath())
	if !ok || p == nil || !auth.Allowed(auth.Role(p.Role), r.Permission) {
		role := "none"
		if p != nil {
			role = p.Role
		}
		abortError(c, http.StatusForbidden, typePermission, "forbidden", "the "+role+" role may not call "+c.Request.Method+" "+c.FullPath(), "")
		return
	}
	c.Next()
}

func (s *server) ready(c *gin.Context) {
	ok, detail := s.o.Backend.Ready()
	status := http.StatusOK
	state := "ready"
	if !ok {
		status, state = http.StatusServiceUnavailable, "not_ready"
	}
	c.JSON(status, gin.H{"status": state, "generation": s.o.Backend.Generation(), "components": detail})
}

func (s *server) plugins(c *gin.Context) {
	gen := s.o.Backend.Generation()
	type row struct {
		plugins.Status
		Generation int64 `json:"generation"`
	}
	sts := s.o.Backend.Plugins()
	out := make([]row, len(sts))
	for i, st := range sts {
		out[i] = row{Status: st, Generation: gen}
	}
	c.JSON(http.StatusOK, gin.H{"generation": gen, "plugins": out})
}

func (s *server) reload(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Minute)
	defer cancel()
	if err := s.o.Backend.Reload(ctx); err != nil {
		abortError(c, http.StatusUnprocessableEntity, typeInvalidRequest, "reload_failed", "reload refused; the previous config keeps serving: "+err.Error(), "")
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "reloaded", "generation": s.o.Backend.Generation()})
}
