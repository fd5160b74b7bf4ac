package deploytest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// findTool looks on PATH and in GOBIN/GOPATH/bin, where `go install` puts
// promtool.
func findTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dirs := []string{os.Getenv("GOBIN")}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.Join(string(trimNL(out)), "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
}

// promtool checks the Prometheus config and rules and runs the rule unit
// tests in configs/alerts_test.yml. Install it with
// `go install github.com/prometheus/prometheus/cmd/promtool@latest`.
func TestPromtool(t *testing.T) {
	promtool := findTool(t, "promtool")
	if promtool == "" {
		t.Skip("promtool not installed; the Prometheus files were checked by the Go tests only")
	}
	dir := filepath.Join(repoRoot(t), "configs")
	t.Run("check config", func(t *testing.T) { run(t, dir, promtool, "check", "config", "prometheus.yml") })
	t.Run("check rules", func(t *testing.T) { run(t, dir, promtool, "check", "rules", "alerts.yml") })
	t.Run("test rules", func(t *testing.T) { run(t, dir, promtool, "test", "rules", "alerts_test.yml") })
}

// kubectl renders the kustomization offline (no cluster needed).
func TestKustomizeRenders(t *testing.T) {
	kubectl := findTool(t, "kubectl")
	if kubectl == "" {
		t.Skip("kubectl not installed; the manifests were checked by the Go tests only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, "kustomize", "configs/k8s")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	kinds := map[string]bool{}
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			break
		}
		kinds[str(d, "kind")] = true
		if str(d, "kind") != "Namespace" && str(d, "metadata", "namespace") != "oneflow" {
			t.Errorf("%s %s rendered outside namespace oneflow", str(d, "kind"), str(d, "metadata", "name"))
		}
		if str(d, "kind") == "Deployment" {
			if img := str(d, "spec", "template", "spec", "containers", 0, "image"); img != "oneflow:latest" {
				t.Errorf("rendered image %q", img)
			}
		}
	}
	if len(kinds) != 8 {
		t.Errorf("rendered kinds %v, want 8", kinds)
	}
}
