package auth

import (
	"fmt"
	"net/http"
)

// Role is what a principal may do; roles are fixed, permissions are derived
// from them by Allowed.
type Role string

// The three roles.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// ParseRole turns a stored or claimed role name into a Role, refusing
// anything else so a typo in the database never grants access.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleMember, RoleViewer:
		return r, nil
	default:
		return "", fmt.Errorf("auth: parsing role %q: %w", s, ErrUnknownRole)
	}
}

// Permission names one capability a route requires.
type Permission string

// Permissions. PermissionPublic (the empty string) marks a route that needs
// no credentials at all.
const (
	PermissionPublic Permission = ""
	ModelsCall       Permission = "models:call"
	UsageRead        Permission = "usage:read"
	ProjectsManage   Permission = "projects:manage"
	KeysManage       Permission = "keys:manage"
	UsersManage      Permission = "users:manage"
	PluginsRead      Permission = "plugins:read"
	Reload           Permission = "reload"
)

// Allowed reports whether role grants p. Admin has every permission; member
// may call models, read usage and list plugins; viewer may only read usage.
// Unknown roles get nothing, public routes are allowed for everyone.
//
// Allowed answers "may this role use this kind of route", not "may it see
// this row": members and viewers read usage of their own projects only, and
// the handler enforces that with Principal.CanAccessProject.
func Allowed(role Role, p Permission) bool {
	if p == PermissionPublic {
		return true
	}
	switch role {
	case RoleAdmin:
		return true
	case RoleMember:
		return p == ModelsCall || p == UsageRead || p == PluginsRead
	case RoleViewer:
		return p == UsageRead
	default:
		return false
	}
}

// Route is one HTTP route of the gateway and the permission it requires.
// The server registers its handlers from this table and the OpenAPI
// document is generated from it, so the two cannot disagree.
type Route struct {
	Method string
	// Path is a gin path template, e.g. /api/v1/admin/projects/:id.
	Path       string
	Permission Permission
	// Summary is a one-line description for the OpenAPI document.
	Summary string
}

// Public reports whether the route needs no credentials.
func (r Route) Public() bool { return r.Permission == PermissionPublic }

// Routes returns every route of the gateway. It builds a new slice each time
// so callers may modify it; build a RouteTable once for per-request lookups.
func Routes() []Route {
	const (
		get  = http.MethodGet
		post = http.MethodPost
	)
	return []Route{
		{get, "/health", PermissionPublic, "Liveness probe"},
		{get, "/ready", PermissionPublic, "Readiness probe"},
		{get, "/metrics", PermissionPublic, "Prometheus metrics"},
		{get, "/openapi.json", PermissionPublic, "OpenAPI document"},
		{get, "/docs", PermissionPublic, "API documentation (Swagger UI)"},
		{get, "/redoc", PermissionPublic, "API documentation (ReDoc)"},

		{get, "/v1/models", ModelsCall, "List models (OpenAI compatible)"},
		{get, "/v1/models/*model", ModelsCall, "Retrieve a model (OpenAI compatible)"},
		{post, "/v1/chat/completions", ModelsCall, "Chat completion (OpenAI compatible)"},
		{post, "/v1/embeddings", ModelsCall, "Embeddings (OpenAI compatible)"},
		{post, "/v1/images/generations", ModelsCall, "Image generation (OpenAI compatible)"},
		{post, "/v1/audio/speech", ModelsCall, "Text to speech (OpenAI compatible)"},

		{post, "/api/v1/estimate", ModelsCall, "Estimate the cost of a request"},
		{post, "/api/v1/request", ModelsCall, "Run a request through the router"},
		{get, "/api/v1/usage", UsageRead, "List usage records"},
		{get, "/api/v1/usage/summary", UsageRead, "Summarise usage"},
		{get, "/api/v1/plugins", PluginsRead, "List loaded plugins"},
		{get, "/api/v1/providers", PluginsRead, "List providers and models"},

		{post, "/api/v1/auth/token", PermissionPublic, "Exchange an API key for an access and a refresh token"},
		{post, "/api/v1/auth/refresh", PermissionPublic, "Rotate a refresh token for new tokens"},

		{post, "/api/v1/admin/reload", Reload, "Reload configuration and plugins"},
		{get, "/api/v1/admin/users", UsersManage, "List users"},
		{post, "/api/v1/admin/users", UsersManage, "Create a user"},
		{get, "/api/v1/admin/projects", ProjectsManage, "List projects"},
		{post, "/api/v1/admin/projects", ProjectsManage, "Create a project"},
		{get, "/api/v1/admin/projects/:id", ProjectsManage, "Get a project"},
		{post, "/api/v1/admin/projects/:id/credits", ProjectsManage, "Add credits to a project"},
		{post, "/api/v1/admin/projects/:id/members", ProjectsManage, "Add a member to a project"},
		{get, "/api/v1/admin/keys", KeysManage, "List API keys"},
		{post, "/api/v1/admin/keys", KeysManage, "Create an API key"},
		{post, "/api/v1/admin/keys/:id/rotate", KeysManage, "Rotate an API key"},
		{post, "/api/v1/admin/keys/:id/revoke", KeysManage, "Revoke an API key"},
	}
}

// RouteTable looks routes up by method and path template (gin's
// Context.FullPath), for the authorization middleware.
type RouteTable struct {
	byKey map[string]Route
}

// NewRouteTable indexes Routes().
func NewRouteTable() *RouteTable {
	rs := Routes()
	t := &RouteTable{byKey: make(map[string]Route, len(rs))}
	for _, r := range rs {
		t.byKey[r.Method+" "+r.Path] = r
	}
	return t
}

// Lookup returns the route registered for method and path template. A
// missing route must be treated as forbidden, never as public.
func (t *RouteTable) Lookup(method, pathTemplate string) (Route, bool) {
	r, ok := t.byKey[method+" "+pathTemplate]
	return r, ok
}
