package auth

import (
	"net/http"
	"strings"
	"testing"
)

func TestAllowedMatrix(t *testing.T) {
	all := []Permission{ModelsCall, UsageRead, ProjectsManage, KeysManage, UsersManage, PluginsRead, Reload}
	want := map[Role][]Permission{
		RoleAdmin:  all,
		RoleMember: {ModelsCall, UsageRead, PluginsRead},
		RoleViewer: {UsageRead},
		"":         nil,
		"root":     nil,
		"Admin":    nil,
	}
	for role, perms := range want {
		granted := map[Permission]bool{}
		for _, p := range perms {
			granted[p] = true
		}
		for _, p := range all {
			t.Run(string(role)+"/"+string(p), func(t *testing.T) {
				if got := Allowed(role, p); got != granted[p] {
					t.Fatalf("Allowed(%q, %q) = %v, want %v", role, p, got, granted[p])
				}
			})
		}
		if !Allowed(role, PermissionPublic) {
			t.Errorf("public permission refused to role %q", role)
		}
	}
}

// TestRoutesRBAC checks every route's permission and, through Allowed,
// which roles reach it. "public" means no credentials at all; otherwise
// the letters say which of admin, member and viewer are let in.
func TestRoutesRBAC(t *testing.T) {
	want := map[string]string{
		"GET /health":       "public",
		"GET /ready":        "public",
		"GET /metrics":      "public",
		"GET /openapi.json": "public",
		"GET /docs":         "public",
		"GET /redoc":        "public",

		"GET /v1/models":              "am",
		"GET /v1/models/*model":       "am",
		"POST /v1/chat/completions":   "am",
		"POST /v1/embeddings":         "am",
		"POST /v1/images/generations": "am",
		"POST /v1/audio/speech":       "am",
		"POST /api/v1/estimate":       "am",
		"POST /api/v1/request":        "am",

		"GET /api/v1/usage":         "amv",
		"GET /api/v1/usage/summary": "amv",
		"GET /api/v1/plugins":       "am",
		"GET /api/v1/providers":     "am",

		"POST /api/v1/auth/token":   "public",
		"POST /api/v1/auth/refresh": "public",

		"POST /api/v1/admin/reload":               "a",
		"GET /api/v1/admin/users":                 "a",
		"POST /api/v1/admin/users":                "a",
		"GET /api/v1/admin/projects":              "a",
		"POST /api/v1/admin/projects":             "a",
		"GET /api/v1/admin/projects/:id":          "a",
		"POST /api/v1/admin/projects/:id/credits": "a",
		"POST /api/v1/admin/projects/:id/members": "a",
		"GET /api/v1/admin/keys":                  "a",
		"POST /api/v1/admin/keys":                 "a",
		"POST /api/v1/admin/keys/:id/rotate":      "a",
		"POST /api/v1/admin/keys/:id/revoke":      "a",
	}
	wantPerm := map[string]Permission{
		"POST /api/v1/admin/reload":               Reload,
		"GET /api/v1/admin/users":                 UsersManage,
		"POST /api/v1/admin/users":                UsersManage,
		"GET /api/v1/admin/projects":              ProjectsManage,
		"POST /api/v1/admin/projects":             ProjectsManage,
		"GET /api/v1/admin/projects/:id":          ProjectsManage,
		"POST /api/v1/admin/projects/:id/credits": ProjectsManage,
		"POST /api/v1/admin/projects/:id/members": ProjectsManage,
		"GET /api/v1/admin/keys":                  KeysManage,
		"POST /api/v1/admin/keys":                 KeysManage,
		"POST /api/v1/admin/keys/:id/rotate":      KeysManage,
		"POST /api/v1/admin/keys/:id/revoke":      KeysManage,
		"GET /api/v1/plugins":                     PluginsRead,
		"GET /api/v1/providers":                   PluginsRead,
		"GET /api/v1/usage":                       UsageRead,
		"GET /api/v1/usage/summary":               UsageRead,
	}

	seen := map[string]bool{}
	table := NewRouteTable()
	for _, r := range Routes() {
		key := r.Method + " " + r.Path
		t.Run(key, func(t *testing.T) {
			if seen[key] {
				t.Fatal("duplicate route")
			}
			seen[key] = true
			exp, ok := want[key]
			if !ok {
				t.Fatal("route not in the expected table")
			}
			if r.Method != http.MethodGet && r.Method != http.MethodPost {
				t.Fatalf("method %q", r.Method)
			}
			if !strings.HasPrefix(r.Path, "/") || r.Summary == "" {
				t.Fatalf("path %q / summary %q", r.Path, r.Summary)
			}
			if p, ok := wantPerm[key]; ok && r.Permission != p {
				t.Fatalf("permission %q, want %q", r.Permission, p)
			}
			if exp == "public" {
				if !r.Public() {
					t.Fatalf("permission %q, want public", r.Permission)
				}
			} else {
				if r.Public() {
					t.Fatal("route is public, want protected")
				}
				got := ""
				for _, role := range []struct {
					r Role
					c string
				}{{RoleAdmin, "a"}, {RoleMember, "m"}, {RoleViewer, "v"}} {
					if Allowed(role.r, r.Permission) {
						got += role.c
					}
				}
				if got != exp {
					t.Fatalf("roles allowed %q, want %q", got, exp)
				}
			}
			if got, ok := table.Lookup(r.Method, r.Path); !ok || got != r {
				t.Fatalf("RouteTable.Lookup = %+v, %v", got, ok)
			}
		})
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("expected route %s missing from Routes()", key)
		}
	}
}

func TestRouteTableUnknown(t *testing.T) {
	table := NewRouteTable()
	for _, tt := range []struct{ method, path string }{
		{http.MethodDelete, "/api/v1/admin/keys"},
		{http.MethodGet, "/api/v1/admin/projects/123"}, // a concrete path, not a template
		{http.MethodGet, "/nope"},
		{"", ""},
	} {
		if r, ok := table.Lookup(tt.method, tt.path); ok {
			t.Errorf("Lookup(%q, %q) = %+v, want not found", tt.method, tt.path, r)
		}
	}
}

func TestRoutesReturnsACopy(t *testing.T) {
	rs := Routes()
	rs[0].Permission = Reload
	if Routes()[0].Permission == Reload {
		t.Fatal("modifying the result of Routes changed the table")
	}
}

func TestParseRole(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"admin", true}, {"member", true}, {"viewer", true}, {"", false}, {"ADMIN", false}, {"owner", false}, {"admin ", false}} {
		r, err := ParseRole(tt.in)
		if (err == nil) != tt.ok || (tt.ok && string(r) != tt.in) {
			t.Errorf("ParseRole(%q) = %q, %v", tt.in, r, err)
		}
	}
}

func TestPrincipalScope(t *testing.T) {
	tests := []struct {
		name string
		p    Principal
		proj string
		want bool
	}{
		{"admin any project", Principal{Role: RoleAdmin}, "p2", true},
		{"member own", Principal{Role: RoleMember, ProjectID: "p1"}, "p1", true},
		{"member other", Principal{Role: RoleMember, ProjectID: "p1"}, "p2", false},
		{"viewer own", Principal{Role: RoleViewer, ProjectID: "p1"}, "p1", true},
		{"viewer without project", Principal{Role: RoleViewer}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.CanAccessProject(tt.proj); got != tt.want {
				t.Fatalf("CanAccessProject = %v, want %v", got, tt.want)
			}
		})
	}
	if (Principal{Role: RoleViewer}).Can(ModelsCall) || !(Principal{Role: RoleMember}).Can(ModelsCall) {
		t.Fatal("Principal.Can disagrees with Allowed")
	}
}
