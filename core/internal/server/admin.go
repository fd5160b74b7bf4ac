package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/oneflow-ai/oneflow/core/internal/breaker"
	"github.com/oneflow-ai/oneflow/core/internal/plugins"
)

// accountError maps an Accounts error onto status and code.
func accountError(c *gin.Context, what string, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		abortError(c, http.StatusNotFound, typeNotFound, "not_found", what+": not found", "")
	case errors.Is(err, ErrConflict):
		abortError(c, http.StatusConflict, typeInvalidRequest, "conflict", what+": already exists", "")
	case errors.Is(err, ErrInvalid):
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", what+": "+err.Error(), "")
	case errors.Is(err, ErrUnauthorized):
		abortError(c, http.StatusUnauthorized, typeAuth, "invalid_credentials", what+": invalid or expired credentials", "")
	case errors.Is(err, ErrBudgetUnavailable):
		abortError(c, http.StatusServiceUnavailable, typeServer, "store_unavailable", what+": the store is unavailable; retry shortly", "")
	default:
		abortError(c, http.StatusInternalServerError, typeServer, "internal_error", what+" failed; request id "+requestIDOf(c), "")
	}
}

// projectJSON renders a project with its balance as an exact decimal.
func (s *server) projectJSON(p Project) gin.H {
	return gin.H{"id": p.ID, "name": p.Name, "balance_credits": s.formatCredits(p.BalanceMicroCredits),
		"unlimited": p.Unlimited, "created_at": p.CreatedAt}
}

func (s *server) createUser(c *gin.Context) {
	var req struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if !strings.Contains(req.Email, "@") {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "email must be an email address", "email")
		return
	}
	u, err := s.o.Accounts.CreateUser(c.Request.Context(), req.Email, req.Name)
	if err != nil {
		accountError(c, "create user", err)
		return
	}
	c.JSON(http.StatusCreated, u)
}

func (s *server) listUsers(c *gin.Context) {
	us, err := s.o.Accounts.ListUsers(c.Request.Context())
	if err != nil {
		accountError(c, "list users", err)
		return
	}
	if us == nil {
		us = []User{}
	}
	c.JSON(http.StatusOK, gin.H{"data": us})
}

func (s *server) createProject(c *gin.Context) {
	var req struct {
		Name string `json:"name"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "name is required", "name")
		return
	}
	p, err := s.o.Accounts.CreateProject(c.Request.Context(), req.Name)
	if err != nil {
		accountError(c, "create project", err)
		return
	}
	c.JSON(http.StatusCreated, s.projectJSON(p))
}

func (s *server) listProjects(c *gin.Context) {
	ps, err := s.o.Accounts.ListProjects(c.Request.Context())
	if err != nil {
		accountError(c, "list projects", err)
		return
	}
	out := make([]gin.H, len(ps))
	for i, p := range ps {
		out[i] = s.projectJSON(p)
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
}

func (s *server) getProject(c *gin.Context) {
	p, err := s.o.Accounts.GetProject(c.Request.Context(), c.Param("id"))
	if err != nil {
		accountError(c, "get project", err)
		return
	}
	c.JSON(http.StatusOK, s.projectJSON(p))
}

func (s *server) topUp(c *gin.Context) {
	var req struct {
		Credits string `json:"credits"`
	}
	if !bindJSON(c, &req) {
		return
	}
	mc, err := s.o.ParseCredits(req.Credits)
	if err != nil || mc <= 0 {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request",
			"credits must be a positive decimal string with at most 6 decimals, e.g. \"12.5\"", "credits")
		return
	}
	reqID := c.GetHeader("Idempotency-Key")
	if reqID == "" {
		reqID = requestIDOf(c)
	}
	bal, err := s.o.Accounts.TopUp(c.Request.Context(), c.Param("id"), mc, "topup:"+reqID)
	if err != nil {
		accountError(c, "top up", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "balance_credits": s.formatCredits(bal)})
}

func (s *server) addMember(c *gin.Context) {
	var req struct {
		UserID string `json:"user_id"`
		Role   string `json:"role"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if !validRole(req.Role) {
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "role must be admin, member or viewer", "role")
		return
	}
	if err := s.o.Accounts.AddMember(c.Request.Context(), c.Param("id"), req.UserID, req.Role); err != nil {
		accountError(c, "add member", err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"project_id": c.Param("id"), "user_id": req.UserID, "role": req.Role})
}

func validRole(r string) bool { return r == "admin" || r == "member" || r == "viewer" }

func createdKeyJSON(k CreatedKey) gin.H {
	out := gin.H{"id": k.ID, "key": k.Plaintext, "prefix": k.Prefix, "project_id": k.ProjectID,
		"name": k.Name, "role": k.Role, "created_at": k.CreatedAt}
	if k.ExpiresAt != nil {
		out["expires_at"] = k.ExpiresAt
	}
	if k.Replaces != "" {
		out["replaces"] = k.Replaces
		out["grace_until"] = k.OldGraceUntil
	}
	return out
}

func (s *server) createKey(c *gin.Context) {
	var req struct {
		ProjectID string     `json:"project_id"`
		UserID    string     `json:"user_id"`
		Name      string     `json:"name"`
		Role      string     `json:"role"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if req.Role == "" {
		req.Role = "member"
	}
	switch {
	case req.ProjectID == "":
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "project_id is required", "project_id")
		return
	case !validRole(req.Role):
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "role must be admin, member or viewer", "role")
		return
	case req.ExpiresAt != nil && !req.ExpiresAt.After(time.Now()):
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "expires_at must be in the future", "expires_at")
		return
	}
	k, err := s.o.Accounts.CreateKey(c.Request.Context(), KeyRequest{ProjectID: req.ProjectID, UserID: req.UserID, Name: req.Name, Role: req.Role, ExpiresAt: req.ExpiresAt})
	if err != nil {
		accountError(c, "create key", err)
		return
	}
	c.JSON(http.StatusCreated, createdKeyJSON(k))
}

func (s *server) listKeys(c *gin.Context) {
	ks, err := s.o.Accounts.ListKeys(c.Request.Context(), c.Query("project_id"))
	if err != nil {
		accountError(c, "list keys", err)
		return
	}
	if ks == nil {
		ks = []Key{}
	}
	c.JSON(http.StatusOK, gin.H{"data": ks})
}

func (s *server) rotateKey(c *gin.Context) {
	k, err := s.o.Accounts.RotateKey(c.Request.Context(), c.Param("id"))
	if err != nil {
		accountError(c, "rotate key", err)
		return
	}
	c.JSON(http.StatusCreated, createdKeyJSON(k))
}

func (s *server) revokeKey(c *gin.Context) {
	k, err := s.o.Accounts.RevokeKey(c.Request.Context(), c.Param("id"))
	if err != nil {
		accountError(c, "revoke key", err)
		return
	}
	c.JSON(http.StatusOK, k)
}

func (s *server) issueTokens(c *gin.Context) {
	var req struct {
		APIKey string `json:"api_key"`
	}
	if !bindJSON(c, &req) {
		return
	}
	if req.APIKey == "" {
		req.APIKey = apiKey(c.Request)
	}
	t, err := s.o.Accounts.IssueTokens(c.Request.Context(), req.APIKey)
	if err != nil {
		accountError(c, "issue token", err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (s *server) refreshTokens(c *gin.Context) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if !bindJSON(c, &req) {
		return
	}
	t, err := s.o.Accounts.RefreshTokens(c.Request.Context(), req.RefreshToken)
	if err != nil {
		accountError(c, "refresh token", err)
		return
	}
	c.JSON(http.StatusOK, t)
}

// usageFilter reads the analytics filters and scopes them by role: admins
// see everything they ask for, everyone else only their own project.
func (s *server) usageFilter(c *gin.Context) (UsageFilter, bool) {
	f := UsageFilter{UserID: c.Query("user_id"), Provider: c.Query("provider"), Model: c.Query("model"), GroupBy: c.DefaultQuery("group_by", "day")}
	switch f.GroupBy {
	case "day", "model", "provider":
	default:
		abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", "group_by must be day, model or provider", "group_by")
		return f, false
	}
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := c.Query(q.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				abortError(c, http.StatusBadRequest, typeInvalidRequest, "invalid_request", q.name+" must be an RFC 3339 time", q.name)
				return f, false
			}
			*q.dst = t
		}
	}
	p := principalOf(c)
	project := c.Query("project_id")
	switch {
	case p.Admin:
		if project != "" {
			f.ProjectIDs = []string{project}
		}
	case project != "" && project != p.Project:
		abortError(c, http.StatusForbidden, typePermission, "forbidden", "you can read the usage of your own project only", "project_id")
		return f, false
	default:
		f.ProjectIDs = []string{p.Project}
	}
	return f, true
}

func (s *server) usageRowJSON(r UsageRow) gin.H {
	return gin.H{"key": r.Key, "requests": r.Requests, "errors": r.Errors, "input_tokens": r.InputTokens,
		"cached_input_tokens": r.CachedInputTokens, "cache_write_tokens": r.CacheWriteTokens,
		"output_tokens": r.OutputTokens, "credits": s.formatCredits(r.MicroCredits)}
}

func (s *server) usage(c *gin.Context) {
	f, ok := s.usageFilter(c)
	if !ok {
		return
	}
	rows, err := s.o.Accounts.UsageSeries(c.Request.Context(), f)
	if err != nil {
		accountError(c, "usage", err)
		return
	}
	out := make([]gin.H, len(rows))
	for i, r := range rows {
		out[i] = s.usageRowJSON(r)
	}
	c.JSON(http.StatusOK, gin.H{"data": out, "group_by": f.GroupBy})
}

func (s *server) usageSummary(c *gin.Context) {
	f, ok := s.usageFilter(c)
	if !ok {
		return
	}
	sum, err := s.o.Accounts.UsageSummary(c.Request.Context(), f)
	if err != nil {
		accountError(c, "usage summary", err)
		return
	}
	rows := func(rs []UsageRow) []gin.H {
		out := make([]gin.H, len(rs))
		for i, r := range rs {
			out[i] = s.usageRowJSON(r)
		}
		return out
	}
	errRate := 0.0
	if sum.Requests > 0 {
		errRate = float64(sum.Errors) / float64(sum.Requests)
	}
	c.JSON(http.StatusOK, gin.H{
		"total_credits": s.formatCredits(sum.TotalMicroCredits), "requests": sum.Requests, "errors": sum.Errors,
		"error_rate": errRate, "by_provider": rows(sum.ByProvider), "by_model": rows(sum.ByModel), "top_projects": rows(sum.TopProjects),
	})
}

// providers lists each provider with its plugin state, its models and
// the breaker state of each model.
func (s *server) providers(c *gin.Context) {
	snap, release := s.o.Backend.Acquire()
	defer release()
	states := map[string]plugins.Status{}
	for _, st := range s.o.Backend.Plugins() {
		if st.Kind == plugins.KindProvider {
			states[st.Name] = st
		}
	}
	type breakerJSON struct {
		Model string `json:"model"`
		State string `json:"state"`
	}
	type providerJSON struct {
		Name     string        `json:"name"`
		Plugin   string        `json:"plugin"`
		State    string        `json:"state"`
		Models   []string      `json:"models"`
		Breakers []breakerJSON `json:"breakers"`
	}
	out := []providerJSON{}
	idx := map[string]int{}
	for _, e := range snap.Catalog.Entries() {
		i, ok := idx[e.Provider]
		if !ok {
			i = len(out)
			idx[e.Provider] = i
			st := states[e.Provider]
			out = append(out, providerJSON{Name: e.Provider, Plugin: st.Plugin, State: string(st.State), Models: []string{}, Breakers: []breakerJSON{}})
		}
		state := "closed"
		if snap.Breakers != nil {
			switch snap.Breakers.State(e.Provider, e.Model.ID) {
			case breaker.StateHalfOpen:
				state = "half-open"
			case breaker.StateOpen:
				state = "open"
			}
		}
		out[i].Models = append(out[i].Models, e.Model.ID)
		out[i].Breakers = append(out[i].Breakers, breakerJSON{Model: e.Model.ID, State: state})
	}
	c.JSON(http.StatusOK, gin.H{"providers": out})
}
