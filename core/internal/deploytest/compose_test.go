package deploytest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestComposeFile(t *testing.T) {
	doc := yamlDoc(t, "configs/docker-compose.yml")
	services := mapping(doc, "services")
	images := map[string]string{
		"postgres": "postgres:15",
		"redis":    "redis:7",
	}
	for _, s := range []string{"oneflow", "postgres", "redis", "prometheus", "grafana", "jaeger"} {
		if services[s] == nil {
			t.Errorf("service %s missing", s)
		}
	}
	for s, img := range images {
		if got := str(services, s, "image"); got != img {
			t.Errorf("%s image %q, want %q", s, got, img)
		}
	}
	t.Run("oneflow is built from the repository Dockerfile", func(t *testing.T) {
		ctx := str(services, "oneflow", "build", "context")
		df := str(services, "oneflow", "build", "dockerfile")
		p := filepath.Join(repoRoot(t), "configs", ctx, df)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("build context %q + dockerfile %q: %v", ctx, df, err)
		}
	})
	t.Run("oneflow environment", func(t *testing.T) {
		env := mapping(services, "oneflow", "environment")
		want := map[string]func(string) bool{
			"ONEFLOW_DATABASE_URL": func(v string) bool {
				return strings.HasPrefix(v, "postgres://") && strings.Contains(v, "@postgres:5432/")
			},
			"REDIS_URL":                   func(v string) bool { return v == "redis://redis:6379/0" },
			"ENABLE_TRACING":              func(v string) bool { return v == "true" },
			"OTEL_EXPORTER_OTLP_ENDPOINT": func(v string) bool { return v == "jaeger:4317" },
			"ONEFLOW_LISTEN":              func(v string) bool { return v == "0.0.0.0:8080" },
		}
		for k, ok := range want {
			v, _ := env[k].(string)
			if !ok(v) {
				t.Errorf("%s = %q", k, v)
			}
		}
		for k, v := range env {
			s, _ := v.(string)
			if strings.HasSuffix(k, "_API_KEY") && s != "${"+k+":-}" {
				t.Errorf("%s = %q: keys must come from the environment or .env, never the file", k, s)
			}
		}
	})
	t.Run("bind mounts exist", func(t *testing.T) {
		for name, svc := range services {
			for _, v := range list(svc, "volumes") {
				s, _ := v.(string)
				if !strings.HasPrefix(s, "./") {
					continue
				}
				src := strings.SplitN(s, ":", 2)[0]
				if _, err := os.Stat(filepath.Join(repoRoot(t), "configs", src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			}
		}
	})
	t.Run("ports only on loopback", func(t *testing.T) {
		for name, svc := range services {
			for _, p := range list(svc, "ports") {
				if s, _ := p.(string); !strings.HasPrefix(s, "127.0.0.1:") {
					t.Errorf("%s publishes %q on every interface", name, s)
				}
			}
		}
	})
	t.Run("prometheus scrapes the compose service", func(t *testing.T) {
		target := str(yamlDoc(t, "configs/prometheus.yml"), "scrape_configs", 0, "static_configs", 0, "targets", 0)
		if host := strings.Split(target, ":")[0]; services[host] == nil {
			t.Errorf("prometheus scrapes %s, not a compose service", target)
		}
	})
}

// docker compose validates the file for real when it is installed (it needs
// no daemon for `config`).
func TestComposeConfigWithDocker(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker not installed; the compose file was checked statically only")
	}
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Skip("the docker compose plugin is not installed; the compose file was checked statically only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "compose", "-f", "configs/docker-compose.yml", "config", "-q")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
}
