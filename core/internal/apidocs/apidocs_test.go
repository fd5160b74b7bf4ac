package apidocs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func newDocs(t *testing.T) *Docs {
	t.Helper()
	d, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// loadSpec parses the served JSON on its own, so the tests check what a
// client gets rather than the package's in-memory document.
func loadSpec(t *testing.T, d *Docs) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(d.Spec())
	if err != nil {
		t.Fatalf("load served JSON: %v", err)
	}
	return doc
}

func TestSpecLoadsAndValidates(t *testing.T) {
	d := newDocs(t)
	js := d.Spec()
	if !json.Valid(js) {
		t.Fatal("Spec is not valid JSON")
	}
	doc := loadSpec(t, d)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("served document does not validate: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	if _, ok := doc.Extensions[headerSetsExtension]; ok {
		t.Errorf("served JSON still has the YAML-only key %s", headerSetsExtension)
	}
	for _, name := range []string{"ApiKeyHeader", "BearerAuth"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("security scheme %s is missing", name)
		}
	}
	if s := doc.Components.SecuritySchemes["ApiKeyHeader"]; s != nil && (s.Value.Type != "apiKey" || s.Value.In != "header" || s.Value.Name != "X-API-Key") {
		t.Errorf("ApiKeyHeader = %+v, want an apiKey in header X-API-Key", s.Value)
	}
	if s := doc.Components.SecuritySchemes["BearerAuth"]; s != nil && (s.Value.Type != "http" || s.Value.Scheme != "bearer") {
		t.Errorf("BearerAuth = %+v, want http bearer", s.Value)
	}
}

func TestSpecReturnsACopy(t *testing.T) {
	d := newDocs(t)
	a := d.Spec()
	a[0] = 'X'
	if b := d.Spec(); b[0] == 'X' {
		t.Fatal("changing Spec's result changed the document")
	}
}

// wantRoutes is the API as the project brief lists it, with each route's
// least role. A route added to the document must be added here, and the
// server must enforce the role written here.
var wantRoutes = map[string]string{
	"GET /health":                              RolePublic,
	"GET /ready":                               RolePublic,
	"GET /metrics":                             RolePublic,
	"GET /openapi.json":                        RolePublic,
	"GET /docs":                                RolePublic,
	"GET /docs/assets/{file}":                  RolePublic,
	"GET /redoc":                               RolePublic,
	"GET /redoc/assets/{file}":                 RolePublic,
	"GET /v1/models":                           RoleMember,
	"GET /v1/models/{model}":                   RoleMember,
	"POST /v1/chat/completions":                RoleMember,
	"POST /v1/embeddings":                      RoleMember,
	"POST /v1/images/generations":              RoleMember,
	"POST /v1/audio/speech":                    RoleMember,
	"POST /api/v1/estimate":                    RoleMember,
	"POST /api/v1/request":                     RoleMember,
	"GET /api/v1/usage":                        RoleViewer,
	"GET /api/v1/usage/summary":                RoleViewer,
	"GET /api/v1/plugins":                      RoleMember,
	"GET /api/v1/providers":                    RoleMember,
	"POST /api/v1/admin/reload":                RoleAdmin,
	"POST /api/v1/admin/users":                 RoleAdmin,
	"GET /api/v1/admin/users":                  RoleAdmin,
	"POST /api/v1/admin/projects":              RoleAdmin,
	"GET /api/v1/admin/projects":               RoleAdmin,
	"GET /api/v1/admin/projects/{id}":          RoleAdmin,
	"POST /api/v1/admin/projects/{id}/credits": RoleAdmin,
	"POST /api/v1/admin/projects/{id}/members": RoleAdmin,
	"POST /api/v1/admin/keys":                  RoleAdmin,
	"GET /api/v1/admin/keys":                   RoleAdmin,
	"POST /api/v1/admin/keys/{id}/rotate":      RoleAdmin,
	"POST /api/v1/admin/keys/{id}/revoke":      RoleAdmin,
	"POST /api/v1/auth/token":                  RolePublic,
	"POST /api/v1/auth/refresh":                RolePublic,
}

func TestEveryRouteHasItsRole(t *testing.T) {
	d := newDocs(t)
	doc := loadSpec(t, d)
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			route := method + " " + path
			seen[route] = true
			t.Run(route, func(t *testing.T) {
				role, _ := op.Extensions[roleExtension].(string)
				want, listed := wantRoutes[route]
				if !listed {
					t.Fatalf("documented but not in wantRoutes (role %q)", role)
				}
				if role != want {
					t.Errorf("%s = %q, want %q", roleExtension, role, want)
				}
				public := op.Security != nil && len(*op.Security) == 0
				if public != (role == RolePublic) {
					t.Errorf("role %q but operation security = %v", role, op.Security)
				}
				if op.OperationID == "" {
					t.Error("no operationId")
				}
				if len(op.Tags) == 0 {
					t.Error("no tag")
				}
			})
		}
	}
	for route := range wantRoutes {
		if !seen[route] {
			t.Errorf("%s is not documented", route)
		}
	}
	// The document-wide default must ask for credentials, so an operation
	// that forgets its security section is not public by accident.
	if len(doc.Security) != 2 {
		t.Errorf("document security = %v, want ApiKeyHeader or BearerAuth", doc.Security)
	}
}

func TestOperationsMatchesDocument(t *testing.T) {
	d := newDocs(t)
	ops := d.Operations()
	if len(ops) != len(wantRoutes) {
		t.Fatalf("Operations has %d entries, want %d", len(ops), len(wantRoutes))
	}
	for _, op := range ops {
		if want := wantRoutes[op.Method+" "+op.Path]; op.Role != want {
			t.Errorf("%s %s: role %q, want %q", op.Method, op.Path, op.Role, want)
		}
	}
	if !slices.IsSortedFunc(ops, func(a, b Operation) int {
		return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method)
	}) {
		t.Error("Operations is not sorted by path and method")
	}
}

func TestOperationsRejectsBadRoles(t *testing.T) {
	none := openapi3.SecurityRequirements{}
	some := openapi3.SecurityRequirements{{"ApiKeyHeader": {}}}
	tests := []struct {
		name     string
		role     any
		security *openapi3.SecurityRequirements
		wantErr  bool
	}{
		{name: "public without credentials", role: "public", security: &none},
		{name: "member with credentials", role: "member", security: &some},
		{name: "member inheriting the default", role: "member", security: nil},
		{name: "missing role", role: nil, security: &some, wantErr: true},
		{name: "unknown role", role: "owner", security: &some, wantErr: true},
		{name: "role of the wrong type", role: 3, security: &some, wantErr: true},
		{name: "public that asks for credentials", role: "public", security: &some, wantErr: true},
		{name: "admin without credentials", role: "admin", security: &none, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := &openapi3.Operation{Security: tt.security, Responses: openapi3.NewResponses()}
			if tt.role != nil {
				op.Extensions = map[string]any{roleExtension: tt.role}
			}
			doc := &openapi3.T{Paths: openapi3.NewPaths(openapi3.WithPath("/x", &openapi3.PathItem{Get: op}))}
			_, err := operations(doc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("operations: err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestPostRoutesTakeIdempotencyKey(t *testing.T) {
	doc := loadSpec(t, newDocs(t))
	for path, item := range doc.Paths.Map() {
		if item.Post == nil {
			continue
		}
		t.Run(path, func(t *testing.T) {
			p := item.Post.Parameters.GetByInAndName("header", "Idempotency-Key")
			// Token exchange is not a side effect worth replaying.
			want := !strings.HasPrefix(path, "/api/v1/auth/")
			if (p != nil) != want {
				t.Fatalf("Idempotency-Key parameter present = %v, want %v", p != nil, want)
			}
			if p != nil && p.Required {
				t.Error("Idempotency-Key must be optional")
			}
		})
	}
}

// TestErrorsUseOpenAIShape checks that every 4xx and 5xx JSON response is
// the shared Error schema, and that the chat route has the statuses the
// brief lists.
func TestErrorsUseOpenAIShape(t *testing.T) {
	doc := loadSpec(t, newDocs(t))
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				if path == "/ready" && code == "503" {
					continue // readiness detail, on purpose
				}
				mt := ref.Value.Content.Get("application/json")
				if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s %s: error response is not #/components/schemas/Error", method, path, code)
				}
			}
		}
	}
	chat := doc.Paths.Value("/v1/chat/completions").Post
	for _, code := range []string{"400", "401", "402", "403", "404", "413", "422", "429", "502", "503", "504"} {
		if chat.Responses.Value(code) == nil {
			t.Errorf("POST /v1/chat/completions lacks a %s response", code)
		}
	}
	if chat.Responses.Value("429").Value.Headers["Retry-After"] == nil {
		t.Error("429 does not declare Retry-After")
	}
	e := doc.Components.Schemas["Error"].Value.Properties["error"].Value
	if got := e.Required; !slices.Equal(got, []string{"message", "type", "param", "code"}) {
		t.Errorf("error.required = %v", got)
	}
}

// TestMoneyIsDecimalString walks every schema property whose name speaks
// of credits or USD and checks it is the Decimal string, never a number.
func TestMoneyIsDecimalString(t *testing.T) {
	doc := loadSpec(t, newDocs(t))
	found := 0
	var walk func(where string, s *openapi3.SchemaRef, depth int)
	walk = func(where string, s *openapi3.SchemaRef, depth int) {
		if s == nil || s.Value == nil || depth > 12 {
			return
		}
		v := s.Value
		for name, p := range v.Properties {
			if strings.Contains(name, "credits") || strings.HasSuffix(name, "_usd") {
				found++
				pv := p.Value
				if len(pv.AllOf) == 1 {
					pv = pv.AllOf[0].Value
				}
				if !pv.Type.Is("string") || pv.Pattern == "" {
					t.Errorf("%s.%s is not a decimal string", where, name)
				}
			}
			walk(where+"."+name, p, depth+1)
		}
		if v.Items != nil {
			walk(where+"[]", v.Items, depth+1)
		}
		for _, group := range [][]*openapi3.SchemaRef{v.AllOf, v.AnyOf, v.OneOf} {
			for _, sub := range group {
				walk(where, sub, depth+1)
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		walk(name, s, 0)
	}
	if found < 10 {
		t.Fatalf("found only %d money fields; the walk is broken", found)
	}
	if h := doc.Components.Headers["XOneFlowCredits"]; h == nil || !h.Value.Schema.Value.Type.Is("string") {
		t.Error("X-OneFlow-Credits header is not a string")
	}
}

// TestAssetsMatchChecksums guards the vendored files against accidental
// edits; assets/README.md says how to update them and the sums together.
func TestAssetsMatchChecksums(t *testing.T) {
	sums, err := files.ReadFile("assets/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad SHA256SUMS line %q", sc.Text())
		}
		n++
		t.Run(name, func(t *testing.T) {
			b, err := files.ReadFile("assets/" + name)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			if got := hex.EncodeToString(sum[:]); got != want {
				t.Errorf("sha256 = %s, want %s", got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("SHA256SUMS lists no files")
	}
	for _, dir := range []string{"assets/swagger-ui", "assets/redoc"} {
		entries, err := files.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !bytes.Contains(sums, []byte("  "+strings.TrimPrefix(dir, "assets/")+"/"+e.Name()+"\n")) {
				t.Errorf("%s/%s is embedded but not in SHA256SUMS", dir, e.Name())
			}
		}
	}
}
