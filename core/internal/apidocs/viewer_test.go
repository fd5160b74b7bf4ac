package apidocs

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var (
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	srcAttr     = regexp.MustCompile(`(?i)\b(?:src|href)="([^"]+)"`)
	inlineEvent = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

func TestViewerPages(t *testing.T) {
	d := newDocs(t)
	tests := []struct {
		name    string
		handler http.Handler
		base    string
		scripts []string // the asset files the page must load, in order
	}{
		{"swagger-ui", d.SwaggerUI(), SwaggerUIPath, []string{"swagger-ui-bundle.js", "oneflow-init.js"}},
		{"redoc", d.ReDoc(), ReDocPath, []string{"redoc.standalone.js", "oneflow-init.js"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []string{tt.base, tt.base + "/", tt.base + "/index.html"} {
				rec := serve(tt.handler, http.MethodGet, p, nil)
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s = %d", p, rec.Code)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("GET %s Content-Type = %q", p, ct)
				}
				if csp := rec.Header().Get("Content-Security-Policy"); csp != ContentSecurityPolicy {
					t.Errorf("GET %s CSP = %q", p, csp)
				}
			}
			page := serve(tt.handler, http.MethodGet, tt.base, nil).Body.String()

			// Under script-src 'self' (from default-src) an inline script or
			// event handler would not run: the page must have neither.
			var scripts []string
			for _, m := range scriptTag.FindAllStringSubmatch(page, -1) {
				if strings.TrimSpace(m[2]) != "" {
					t.Errorf("inline script: %q", m[0])
				}
				src := srcAttr.FindStringSubmatch(m[1])
				if src == nil {
					t.Errorf("script without src: %q", m[0])
					continue
				}
				scripts = append(scripts, src[1])
			}
			if inlineEvent.MatchString(page) {
				t.Error("page has an inline event handler attribute")
			}
			if len(scripts) != len(tt.scripts) {
				t.Fatalf("scripts = %v, want %v", scripts, tt.scripts)
			}
			for i, want := range tt.scripts {
				if !strings.HasPrefix(scripts[i], tt.base+"/assets/"+want+"?v=") {
					t.Errorf("script %d = %q, want %s/assets/%s?v=...", i, scripts[i], tt.base, want)
				}
			}
			if !strings.Contains(page, `data-spec-url="`+SpecPath+`"`) {
				t.Error("page does not point at the spec")
			}

			// Everything the page links to is served, from 'self', with a
			// content type the browser will accept under nosniff, and may be
			// cached for good because the URL carries the content hash.
			for _, m := range srcAttr.FindAllStringSubmatch(page, -1) {
				u := m[1]
				if strings.HasPrefix(u, "data:") {
					continue
				}
				if !strings.HasPrefix(u, tt.base+"/assets/") {
					t.Errorf("page links outside its assets: %q", u)
					continue
				}
				rec := serve(tt.handler, http.MethodGet, u, nil)
				if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
					t.Errorf("GET %s = %d with %d bytes", u, rec.Code, rec.Body.Len())
				}
				want := "text/javascript; charset=utf-8"
				if strings.Contains(u, ".css?") {
					want = "text/css; charset=utf-8"
				}
				if ct := rec.Header().Get("Content-Type"); ct != want {
					t.Errorf("GET %s Content-Type = %q, want %q", u, ct, want)
				}
				if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
					t.Errorf("GET %s Cache-Control = %q, want immutable", u, cc)
				}
				if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("GET %s lacks nosniff", u)
				}
			}
		})
	}
}

func TestViewerAssets(t *testing.T) {
	d := newDocs(t)
	tests := []struct {
		name       string
		handler    http.Handler
		method     string
		target     string
		header     http.Header
		wantStatus int
		wantType   string
		wantBody   string // a substring; "" to skip
		wantCache  string
	}{
		{"swagger bundle without version", d.SwaggerUI(), "GET", "/docs/assets/swagger-ui-bundle.js", nil, 200, "text/javascript; charset=utf-8", "SwaggerUIBundle", "no-cache"},
		{"swagger style sheet", d.SwaggerUI(), "GET", "/docs/assets/swagger-ui.css", nil, 200, "text/css; charset=utf-8", ".swagger-ui", "no-cache"},
		{"swagger init script", d.SwaggerUI(), "GET", "/docs/assets/oneflow-init.js", nil, 200, "text/javascript; charset=utf-8", "validatorUrl: null", "no-cache"},
		{"swagger licence", d.SwaggerUI(), "GET", "/docs/assets/LICENSE", nil, 200, "text/plain; charset=utf-8", "Apache License", "no-cache"},
		{"swagger notice", d.SwaggerUI(), "GET", "/docs/assets/NOTICE", nil, 200, "text/plain; charset=utf-8", "swagger-ui", "no-cache"},
		{"stale version is not cached for good", d.SwaggerUI(), "GET", "/docs/assets/swagger-ui.css?v=old", nil, 200, "text/css; charset=utf-8", "", "no-cache"},
		{"redoc bundle", d.ReDoc(), "GET", "/redoc/assets/redoc.standalone.js", nil, 200, "text/javascript; charset=utf-8", "Redoc", "no-cache"},
		{"redoc init script", d.ReDoc(), "GET", "/redoc/assets/oneflow-init.js", nil, 200, "text/javascript; charset=utf-8", "Redoc.init", "no-cache"},
		{"redoc licence", d.ReDoc(), "GET", "/redoc/assets/LICENSE", nil, 200, "text/plain; charset=utf-8", "MIT License", "no-cache"},
		{"head has no body", d.ReDoc(), "HEAD", "/redoc/assets/LICENSE", nil, 200, "text/plain; charset=utf-8", "", "no-cache"},
		{"unknown asset", d.SwaggerUI(), "GET", "/docs/assets/nope.js", nil, 404, "application/json; charset=utf-8", `"type":"not_found_error"`, ""},
		{"other viewer's asset", d.SwaggerUI(), "GET", "/docs/assets/redoc.standalone.js", nil, 404, "application/json; charset=utf-8", "", ""},
		{"path traversal", d.SwaggerUI(), "GET", "/docs/assets/../openapi.yaml", nil, 404, "application/json; charset=utf-8", "", ""},
		{"encoded traversal", d.SwaggerUI(), "GET", "/docs/assets/..%2Fpages%2Fswagger-ui.html", nil, 404, "application/json; charset=utf-8", "", ""},
		{"subdirectory", d.SwaggerUI(), "GET", "/docs/assets/x/LICENSE", nil, 404, "application/json; charset=utf-8", "", ""},
		{"checksums are not served", d.SwaggerUI(), "GET", "/docs/assets/SHA256SUMS", nil, 404, "application/json; charset=utf-8", "", ""},
		{"outside the base", d.SwaggerUI(), "GET", "/docs/other", nil, 404, "application/json; charset=utf-8", "", ""},
		{"post is refused", d.SwaggerUI(), "POST", "/docs", nil, 405, "application/json; charset=utf-8", `"code":"method_not_allowed"`, ""},
		{"delete is refused", d.ReDoc(), "DELETE", "/redoc/assets/LICENSE", nil, 405, "application/json; charset=utf-8", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(tt.handler, tt.method, tt.target, tt.header)
			if rec.Code != tt.wantStatus {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.target, rec.Code, tt.wantStatus, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantType)
			}
			if tt.wantBody != "" && !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body lacks %q", tt.wantBody)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != tt.wantCache {
				t.Errorf("Cache-Control = %q, want %q", cc, tt.wantCache)
			}
			if tt.method == http.MethodHead && rec.Body.Len() != 0 {
				t.Errorf("HEAD wrote %d bytes", rec.Body.Len())
			}
			if tt.wantStatus >= 400 {
				var e struct {
					Error struct {
						Message string  `json:"message"`
						Type    string  `json:"type"`
						Param   *string `json:"param"`
						Code    *string `json:"code"`
					} `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" || e.Error.Code == nil {
					t.Errorf("error body %q is not OpenAI's shape (%v)", rec.Body.String(), err)
				}
				if rec.Header().Get("ETag") != "" {
					t.Error("an error carries an ETag")
				}
			}
			if tt.wantStatus == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestConditionalRequests(t *testing.T) {
	d := newDocs(t)
	for _, tc := range []struct {
		name    string
		handler http.Handler
		target  string
	}{
		{"page", d.SwaggerUI(), "/docs"},
		{"asset", d.ReDoc(), "/redoc/assets/redoc.standalone.js"},
		{"spec", d.SpecHandler(), SpecPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := serve(tc.handler, http.MethodGet, tc.target, nil)
			etag := first.Header().Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again := serve(tc.handler, http.MethodGet, tc.target, http.Header{"If-None-Match": {etag}})
			if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
				t.Errorf("If-None-Match = %d with %d bytes, want 304 and none", again.Code, again.Body.Len())
			}
			other := serve(tc.handler, http.MethodGet, tc.target, http.Header{"If-None-Match": {`"other"`}})
			if other.Code != http.StatusOK {
				t.Errorf("stale If-None-Match = %d, want 200", other.Code)
			}
		})
	}
}

func TestSpecHandler(t *testing.T) {
	d := newDocs(t)
	rec := serve(d.SpecHandler(), http.MethodGet, SpecPath, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d", SpecPath, rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if rec.Body.String() != string(d.Spec()) {
		t.Error("served body differs from Spec()")
	}
	if rec := serve(d.SpecHandler(), http.MethodPut, SpecPath, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT = %d, want 405", rec.Code)
	}
}

// TestInitScriptsNeedNoEval is a cheap guard for the CSP: the start-up
// scripts must not need 'unsafe-eval' or reach other origins.
func TestInitScriptsNeedNoEval(t *testing.T) {
	for _, name := range []string{"pages/swagger-ui-init.js", "pages/redoc-init.js"} {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, bad := range []string{"eval(", "new Function", "http://", "https://", "innerHTML"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
}
