package deploytest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestOpsMakefileTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	src := string(readFile(t, "make/ops.mk"))
	// Registry hosts belong in IMAGE=..., never in the file. (Go module
	// paths in `go install` lines are import paths, not registries.)
	if m := regexp.MustCompile(`(?i)(docker\.io|gcr\.io|ghcr\.io|quay\.io|pkg\.dev|azurecr\.io|amazonaws\.com|proxy\.golang\.org|registry[.-][a-z0-9.-]+)`).FindString(src); m != "" {
		t.Errorf("make/ops.mk names a registry host: %s", m)
	}
	tests := []struct {
		target string
		want   string
	}{
		{"docker-build", "docker build"},
		{"docker-up", "-f configs/docker-compose.yml up -d --build"},
		{"docker-down", "-f configs/docker-compose.yml down"},
		{"docker-logs", "-f configs/docker-compose.yml logs -f"},
		{"k8s-deploy", "kubectl apply -k configs/k8s"},
		{"k8s-delete", "kubectl delete -k configs/k8s"},
		{"k8s-status", "kubectl -n oneflow get"},
		{"db-migrate", "./bin/oneflow migrate"},
		{"db-rollback", "./bin/oneflow migrate -down"},
		{"db-shell", "psql"},
		{"security-check", "gosec"},
		{"audit", "govulncheck database unreachable from this machine"},
		{"health-check", "scripts/health_check.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			// -n prints the recipe without running it; -B ignores timestamps.
			cmd := exec.Command("make", "-n", "-B", "-f", "make/ops.mk", tt.target)
			cmd.Dir = repoRoot(t)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("make -n %s: %v\n%s", tt.target, err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("make -n %s does not run %q:\n%s", tt.target, tt.want, out)
			}
		})
	}
	t.Run("prod-check depends on lint, test and security-check", func(t *testing.T) {
		if !regexp.MustCompile(`(?m)^prod-check:\s*lint test security-check`).MatchString(src) {
			t.Error("prod-check prerequisites changed")
		}
	})
}

func TestDBShellPicksTheClient(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	tests := []struct {
		url  string
		want string
	}{
		{"postgres://u@127.0.0.1/x", `exec psql "$url"`},
		{"sqlite://data/oneflow.db", `exec sqlite3`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			cmd := exec.Command("make", "-n", "-f", "make/ops.mk", "db-shell")
			cmd.Dir = repoRoot(t)
			cmd.Env = append(cmd.Environ(), "ONEFLOW_DATABASE_URL="+tt.url)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("recipe lacks %q (err %v):\n%s", tt.want, err, out)
			}
		})
	}
}

func TestHealthCheckScript(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	script := repoRoot(t) + "/scripts/health_check.sh"
	server := func(health, ready int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/health":
				w.WriteHeader(health)
			case "/ready":
				w.WriteHeader(ready)
			default:
				w.WriteHeader(http.StatusNotFound)
			}
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// A loopback port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	tests := []struct {
		name string
		args []string
		want int
	}{
		{"alive and ready", []string{"-u", server(200, 200)}, 0},
		{"trailing slash", []string{"-u", server(200, 200) + "/"}, 0},
		{"alive, not ready", []string{"-u", server(200, 503)}, 2},
		{"not alive", []string{"-u", server(500, 200)}, 1},
		{"nothing listening", []string{"-u", closed, "-t", "2"}, 1},
		{"unknown flag", []string{"-x"}, 3},
		{"bad timeout", []string{"-t", "soon"}, 3},
		{"bad url", []string{"-u", "ftp://x"}, 3},
		{"help", []string{"-h"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", append([]string{script, "-q"}, tt.args...)...)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.want {
				t.Errorf("exit %d, want %d\n%s", code, tt.want, out)
			}
		})
	}
}
