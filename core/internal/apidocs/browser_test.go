package apidocs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBrowserRendersUnderCSP opens both viewer pages in headless Chromium
// and checks that they render and that the browser reports no
// Content-Security-Policy violation, apart from ReDoc's footer logo, which
// it loads from its vendor's site and which is meant to be blocked. It
// needs a browser, so it runs only when ONEFLOW_BROWSER_TESTS=1 (Debian:
// apt-get install chromium-headless-shell).
func TestBrowserRendersUnderCSP(t *testing.T) {
	if os.Getenv("ONEFLOW_BROWSER_TESTS") != "1" {
		t.Skip("set ONEFLOW_BROWSER_TESTS=1 to run the headless browser check")
	}
	browser := ""
	for _, name := range []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Fatal("ONEFLOW_BROWSER_TESTS=1 but no Chromium is on PATH")
	}
	d := newDocs(t)
	mux := http.NewServeMux()
	mux.Handle(SpecPath, d.SpecHandler())
	mux.Handle(SwaggerUIPath, d.SwaggerUI())
	mux.Handle(SwaggerUIPath+"/", d.SwaggerUI())
	mux.Handle(ReDocPath, d.ReDoc())
	mux.Handle(ReDocPath+"/", d.ReDoc())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name string
		path string
		want []string // text the rendered DOM must contain
	}{
		{"swagger-ui", SwaggerUIPath, []string{"/v1/chat/completions", "Authorize", "/api/v1/admin/keys/{id}/rotate"}},
		{"redoc", ReDocPath, []string{"Chat completion (OpenAI-compatible)", "X-OneFlow-Credits", "balance_credits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
				"--user-data-dir="+t.TempDir(), "--enable-logging=stderr", "--v=0",
				"--virtual-time-budget=10000", "--dump-dom", srv.URL+tt.path)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			dom, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v\n%s", browser, err, stderr.String())
			}
			for _, line := range strings.Split(stderr.String(), "\n") {
				if !strings.Contains(line, "Content Security Policy") {
					continue
				}
				if tt.name == "redoc" && strings.Contains(line, "logo-mini.svg") {
					continue
				}
				t.Errorf("CSP violation: %s", line)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(dom), w) {
					t.Errorf("rendered page lacks %q", w)
				}
			}
		})
	}
}
